import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { sql } from 'kysely';
import { createDatabase } from '@portcullis/kysely';

const waitFor = async (check: () => boolean, timeoutMs = 5000): Promise<boolean> => {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return check();
};

t.test('a SQLite file is checkpointed by the worker, never by the request connection', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'portcullis-ckpt-')), 'db.sqlite');
  const db = await createDatabase(`sqlite:${path}`);
  t.teardown(() => db.destroy());
  const autocheckpoint = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db);
  t.equal(autocheckpoint.rows[0]?.wal_autocheckpoint, 0, 'the connection serving requests does not checkpoint');

  await sql`create table filler (id integer primary key, payload text)`.execute(db);
  const before = statSync(path).size;
  for (let batch = 0; batch < 20; batch += 1) {
    await db.transaction().execute(async (trx) => {
      for (let row = 0; row < 100; row += 1) await sql`insert into filler (payload) values (${'x'.repeat(500)})`.execute(trx);
    });
  }
  // About 1 MB went to the log only; the worker copies it into the database file.
  t.ok(await waitFor(() => statSync(path).size > before + 500_000), 'the database file grew without a checkpoint on this thread');

  const reader = new Database(path, { readonly: true });
  t.teardown(() => reader.close());
  t.equal((reader.prepare('select count(*) as n from filler').get() as { n: number }).n, 2000, 'another connection reads every row');
});

t.test('backgroundCheckpoints: false leaves checkpoints to SQLite', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'portcullis-ckpt-')), 'db.sqlite');
  const db = await createDatabase(`sqlite:${path}`, { backgroundCheckpoints: false });
  t.teardown(() => db.destroy());
  const autocheckpoint = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db);
  t.equal(autocheckpoint.rows[0]?.wal_autocheckpoint, 1000);
});

t.test('destroying the database stops the worker: the process is left with no checkpoint thread', async (t) => {
  const path = join(mkdtempSync(join(tmpdir(), 'portcullis-ckpt-')), 'db.sqlite');
  const db = await createDatabase(`sqlite:${path}`);
  await sql`create table filler (id integer primary key)`.execute(db);
  await db.destroy();
  // The last connection to close checkpoints and removes the log.
  t.ok(await waitFor(() => {
    try {
      statSync(`${path}-wal`);
      return false;
    } catch {
      return true;
    }
  }), 'the -wal file is gone once both connections closed');
});
