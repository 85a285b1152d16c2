import { sql } from 'kysely';
import { StorageFixtures } from '@portcullis/core/testing';
import { createDatabase, createKyselyStorage } from '@portcullis/kysely';
import { openMigratedPostgres, postgresTest } from './helpers/databases.js';

// Under SERIALIZABLE (or REPEATABLE READ) isolation PostgreSQL refuses to update a row another
// transaction changed since this one's snapshot (SQLSTATE 40001) and rolls the transaction back:
// the store runs it again, and the new attempt sees the row as it now is.

await postgresTest('PostgreSQL at SERIALIZABLE: concurrent rotations have one winner, no storage error', async (t) => {
  const { database, db } = await openMigratedPostgres(t, { connectionLimit: 20 });
  await sql.raw(`ALTER DATABASE "${database.name}" SET default_transaction_isolation = 'serializable'`).execute(db);
  // Connections opened before the ALTER keep their isolation: start from a fresh pool.
  await db.destroy();
  const serializable = await createDatabase(database.url, { connectionLimit: 20 });
  t.teardown(() => serializable.destroy());
  const { rows } = await sql<{ transaction_isolation: string }>`show transaction_isolation`.execute(serializable);
  t.equal(rows[0]?.transaction_isolation, 'serializable');

  const storage = createKyselyStorage(serializable);
  const fx = new StorageFixtures();
  for (let round = 0; round < 5; round += 1) {
    const old = fx.tokenPair();
    await storage.saveTokens(old.access, old.refresh);
    const contenders = Array.from({ length: 20 }, () => fx.tokenPair({ familyId: old.refresh.familyId }));
    const results = await Promise.allSettled(
      contenders.map((next) => storage.rotateRefreshToken(old.refresh.id, new Date(), next.access, next.refresh)),
    );
    const failures = results.filter((result) => result.status === 'rejected');
    t.strictSame(failures, [], `round ${round}: no rotation failed`);
    t.equal(results.filter((result) => result.status === 'fulfilled' && result.value === true).length, 1, `round ${round}: exactly one rotated`);
  }
});
