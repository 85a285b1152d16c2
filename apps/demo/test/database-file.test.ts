import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import t from 'tap';
import { openDatabase } from '../src/db/database.js';

t.test('a new SQLite database file and its -wal and -shm files are readable by their owner only', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'demo-db-mode-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // A permissive umask, as many hosts have: the files must not follow it.
  const umask = process.umask(0o022);
  t.teardown(() => void process.umask(umask));
  const path = join(dir, 'demo.sqlite');
  const db = await openDatabase(`sqlite:${path}`);
  t.teardown(() => db.destroy());
  await sql`CREATE TABLE t (x INTEGER)`.execute(db);
  await sql`INSERT INTO t VALUES (1)`.execute(db);
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    t.equal((statSync(file).mode & 0o777).toString(8), '600', `${file.slice(dir.length + 1)} is 0600`);
  }
});

t.test('an existing SQLite file keeps its mode and its data', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'demo-db-mode-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'demo.sqlite');
  const first = await openDatabase(`sqlite:${path}`);
  await sql`CREATE TABLE t (x INTEGER)`.execute(first);
  await sql`INSERT INTO t VALUES (7)`.execute(first);
  await first.destroy();
  chmodSync(path, 0o640);
  const again = await openDatabase(`sqlite:${path}`);
  t.teardown(() => again.destroy());
  const rows = await sql<{ x: number }>`SELECT x FROM t`.execute(again);
  t.same(rows.rows, [{ x: 7 }], 'the data is still there');
  t.equal((statSync(path).mode & 0o777).toString(8), '640', 'the mode its owner chose');
});
