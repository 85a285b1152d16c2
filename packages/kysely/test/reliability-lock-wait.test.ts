// A slow database: another connection holds a row lock. With `lockWaitTimeout` the store gives
// up after the bound with a StorageError (503 upstream) instead of waiting InnoDB's 50 seconds.
import t from 'tap';
import { sql } from 'kysely';
import { createConnection } from 'mysql2/promise';
import { StorageError } from '@portcullis/core';
import { StorageFixtures } from '@portcullis/core/testing';
import { createDatabase, createKyselyStorage, DatabaseUrlError, migrate } from '@portcullis/kysely';
import { createMysqlTestDatabase, MYSQL_SERVER, mysqlTest } from './helpers/databases.js';

t.test('lockWaitTimeout is checked like the other numeric options', async (t) => {
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    await t.rejects(createDatabase('mysql://u:p@127.0.0.1:1/db', { lockWaitTimeout: bad }), DatabaseUrlError, String(bad));
  }
  await t.rejects(createDatabase('mysql://u:p@127.0.0.1:1/db?lockWaitTimeout=abc'), DatabaseUrlError);
});

await mysqlTest('MariaDB lock wait bound', async (t) => {
  const database = await createMysqlTestDatabase('portcullis_rel');
  const db = await createDatabase(database.url, { lockWaitTimeout: 1, connectionLimit: 4 });
  const fromUrl = await createDatabase(`${database.url}?lockWaitTimeout=2`);
  const locker = await createConnection({ ...MYSQL_SERVER, database: database.name });
  t.teardown(async () => {
    await locker.end().catch(() => {});
    await db.destroy();
    await fromUrl.destroy();
    await database.drop();
  });
  await migrate(db);

  await t.test('every pool connection carries the bound', async (t) => {
    const rows = await Promise.all(
      Array.from({ length: 4 }, () => sql<{ wait: number }>`SELECT @@SESSION.innodb_lock_wait_timeout AS wait`.execute(db)),
    );
    for (const result of rows) t.equal(Number(result.rows[0]?.wait), 1);
    const url = await sql<{ wait: number }>`SELECT @@SESSION.innodb_lock_wait_timeout AS wait`.execute(fromUrl);
    t.equal(Number(url.rows[0]?.wait), 2, 'the URL form works too');
  });

  await t.test('a rotation blocked by a held row lock fails fast with StorageError, then works', async (t) => {
    const storage = createKyselyStorage(db);
    const fx = new StorageFixtures();
    await storage.createClient(fx.client({ id: 'client-a' }));
    const { access, refresh } = fx.tokenPair();
    await storage.saveTokens(access, refresh);
    await locker.query('START TRANSACTION');
    await locker.query('SELECT id FROM portcullis_refresh_tokens WHERE id = ? FOR UPDATE', [refresh.id]);
    const next = fx.tokenPair({ familyId: refresh.familyId });
    const started = Date.now();
    const attempts = await Promise.allSettled(
      Array.from({ length: 4 }, () => storage.rotateRefreshToken(refresh.id, new Date(), next.access, next.refresh)),
    );
    const elapsed = Date.now() - started;
    for (const attempt of attempts) {
      t.equal(attempt.status, 'rejected');
      if (attempt.status === 'rejected') {
        t.ok(attempt.reason instanceof StorageError, 'a StorageError');
        t.match((attempt.reason as Error).message, /lock wait timeout/);
        t.notMatch((attempt.reason as Error).message, /portcullis_|SELECT|UPDATE/, 'no SQL in the message');
      }
    }
    t.ok(elapsed < 6000, `bounded: ${elapsed} ms for four waits on four connections`);
    await locker.query('ROLLBACK');
    const stored = await storage.findRefreshToken(refresh.digest);
    t.equal(stored?.consumedAt, null, 'the timed-out rotations left the token as it was');
    t.equal(await storage.findAccessToken(next.access.digest), null, 'and saved nothing');
    t.equal(await storage.rotateRefreshToken(refresh.id, new Date(), next.access, next.refresh), true, 'works once the lock is gone');
  });
});
