// Several servers on one database rotate and make their first keys at the same moment: they must
// end with one current key per algorithm, agree on it, and verify each other's tokens.
import { randomBytes } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import type { Kysely } from 'kysely';
import t, { type Test } from 'tap';
import { createAuthorizationServer } from '@portcullis/core';
import { createDatabase, createKyselyStorage, migrate } from '@portcullis/kysely';
import type { Database } from '@portcullis/kysely';
import { mysqlTest, openMigratedMysql, openMigratedPostgres, openTempSqliteFile, postgresTest } from './helpers/databases.js';

const SERVERS = 4;
const START = Date.UTC(2031, 0, 1);

async function raceServers(t: Test, db: Kysely<Database>): Promise<void> {
  const secretKey = randomBytes(32);
  const clock = { now: START };
  const servers = Array.from({ length: SERVERS }, () =>
    createAuthorizationServer({
      // No client cache: each server is its own process as far as storage goes.
      storage: createKyselyStorage(db, { clientCache: false }),
      issuer: 'https://auth.example.com',
      secretKey,
      clock: () => new Date(clock.now),
      signingKeys: { algorithms: ['ES256', 'EdDSA'], rotationLeadTime: 60, refreshInterval: 5 },
    }),
  );
  const rings = servers.map((server) => server.signingKeys!);
  const unretired = async () => {
    const keys = await createKyselyStorage(db).listSigningKeys();
    return keys.filter((key) => key.retiresAt === null);
  };

  // Every server needs a key at once, and none exists yet.
  const first = await Promise.all(
    rings.flatMap((ring) => [ring.sign({ sub: 'alice' }, { typ: 'JWT' }), ring.sign({ sub: 'alice' }, { typ: 'JWT', alg: 'EdDSA' })]),
  );
  const open = await unretired();
  t.strictSame(open.map((key) => key.alg).sort(), ['ES256', 'EdDSA'], 'one unretired key per algorithm after racing first use');
  for (const token of first) {
    for (const ring of rings) t.equal((await jwtVerify(token, ring.getKey, { currentDate: new Date(clock.now) })).payload.sub, 'alice');
  }

  // Every server rotates at once.
  clock.now += 10_000;
  await Promise.all(rings.map((ring) => ring.rotate()));
  const afterRotation = await unretired();
  t.strictSame(afterRotation.map((key) => key.alg).sort(), ['ES256', 'EdDSA'], 'one unretired key per algorithm after racing rotations');
  const successor = afterRotation.find((key) => key.alg === 'ES256')!;
  t.equal(successor.activatesAt.getTime(), START + 70_000, 'the successor activates after the lead time');
  const beforeActivation = await Promise.all(rings.map(async (ring) => decodeProtectedHeader(await ring.sign({}, { typ: 'JWT' })).kid));
  t.equal(new Set(beforeActivation).size, 1, 'before it activates, every server signs with one and the same key');
  t.not(beforeActivation[0], successor.kid, 'which is not the successor');

  clock.now += 60_000;
  const kids = await Promise.all(rings.map(async (ring) => decodeProtectedHeader(await ring.sign({}, { typ: 'JWT' })).kid));
  t.strictSame(kids, Array(SERVERS).fill(successor.kid), 'then every server signs with the successor');
  const jwks = await rings[0]!.publicJwks();
  const stored = await createKyselyStorage(db).listSigningKeys();
  t.equal(jwks.keys.length, stored.length, 'every key made in the races is still published, none expired yet');
  for (const token of first) t.ok(await jwtVerify(token, rings[SERVERS - 1]!.getKey, { currentDate: new Date(clock.now) }), 'first tokens still verify');
}

postgresTest('signing key races on PostgreSQL', async (t) => {
  const { db } = await openMigratedPostgres(t, { connectionLimit: 10 });
  await raceServers(t, db);
});

mysqlTest('signing key races on MariaDB', async (t) => {
  const { db } = await openMigratedMysql(t, { database: { connectionLimit: 10 } });
  await raceServers(t, db);
});

t.test('signing key races on a SQLite file', async (t) => {
  const file = await openTempSqliteFile();
  const db = await createDatabase(file.url);
  t.teardown(async () => {
    await db.destroy();
    await file.remove();
  });
  await migrate(db);
  await raceServers(t, db);
});
