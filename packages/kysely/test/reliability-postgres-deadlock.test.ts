import pg from 'pg';
import { StorageFixtures } from '@portcullis/core/testing';
import { createDatabase, createKyselyStorage, migrate } from '@portcullis/kysely';
import { createPostgresTestDatabase, POSTGRES_SERVER, postgresTest } from './helpers/databases.js';

// PostgreSQL aborts one transaction of a deadlock (SQLSTATE 40P01) and rolls it back whole: the
// store runs it again from the start, as it does for an InnoDB deadlock victim.

await postgresTest('PostgreSQL: a rotation picked as deadlock victim is run again', async (t) => {
  const database = await createPostgresTestDatabase();
  const db = await createDatabase(database.url);
  const blocker = new pg.Client({ ...POSTGRES_SERVER, database: database.name });
  await blocker.connect();
  t.teardown(async () => {
    await blocker.end();
    await db.destroy();
    await database.drop();
  });
  await migrate(db);
  const storage = createKyselyStorage(db);
  const fx = new StorageFixtures();

  const old = fx.tokenPair();
  await storage.saveTokens(old.access, old.refresh);
  const next = fx.tokenPair({ familyId: old.refresh.familyId });

  // The blocker holds the new access token's digest, uncommitted.
  await blocker.query('BEGIN');
  const held = fx.accessToken({ digest: next.access.digest });
  await blocker.query(
    'INSERT INTO portcullis_access_tokens (id, digest, client_id, user_id, scope, audience, family_id, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
    [held.id, held.digest, held.clientId, held.userId, '[]', '[]', held.familyId, 1, 2],
  );

  // The rotation consumes the old refresh token (a row lock), then waits on the held digest.
  const rotation = storage.rotateRefreshToken(old.refresh.id, new Date(), next.access, next.refresh);
  const waiting = async (): Promise<number> => {
    const { rows } = await blocker.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
      [database.name],
    );
    return Number(rows[0]?.n);
  };
  for (let i = 0; i < 100 && (await waiting()) === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(await waiting(), 1, 'the rotation waits on the held digest');

  // Now the blocker wants the row the rotation holds: a deadlock. The rotation waited first, so
  // its deadlock check runs first and aborts it; the blocker then gets the row.
  await blocker.query('UPDATE portcullis_refresh_tokens SET revoked_at = NULL WHERE id = $1', [old.refresh.id]);
  t.pass('the blocker got the row lock: PostgreSQL rolled the rotation back');
  await blocker.query('ROLLBACK');

  t.equal(await rotation, true, 'the second attempt rotated');
  t.ok(((await storage.findRefreshToken(old.refresh.digest))?.consumedAt ?? null) !== null, 'the old refresh token is consumed');
  t.strictSame(await storage.findAccessToken(next.access.digest), next.access, "the new access token is the rotation's");
});
