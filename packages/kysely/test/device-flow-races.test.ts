// The device flow's single-use rules on real databases: two polls racing after approval get
// tokens once, and two polls racing while pending are told to slow down once.
import t, { type Test } from 'tap';
import type { Kysely } from 'kysely';
import { createAuthorizationServer, DEVICE_CODE_GRANT_TYPE, type OAuthRequest, type OAuthResponse } from '@portcullis/core';
import { createDatabase, createKyselyStorage, migrate, type Database } from '@portcullis/kysely';
import { mysqlTest, openMigratedMysql, openMigratedPostgres, openTempSqliteFile, postgresTest } from './helpers/databases.js';

const ISSUER = 'https://auth.example.com';

function form(path: string, body: Record<string, string>): OAuthRequest {
  return { method: 'POST', url: new URL(path, ISSUER), headers: {}, body, secure: true };
}

const errorOf = (response: OAuthResponse): unknown => (response.body as { error?: string }).error ?? response.status;

async function raceDeviceFlow(t: Test, db: Kysely<Database>): Promise<void> {
  const server = createAuthorizationServer({ storage: createKyselyStorage(db, { clientCache: false }), issuer: ISSUER });
  const { client } = await server.registerClient({ name: 'TV', type: 'public', grantTypes: [DEVICE_CODE_GRANT_TYPE] });
  const started = await server.handleDeviceAuthorizationRequest(form('/oauth/device_authorization', { client_id: client.id, scope: 'read' }));
  t.equal(started.status, 200);
  const { device_code: deviceCode, user_code: userCode } = started.body as { device_code: string; user_code: string };
  const poll = () => server.handleTokenRequest(form('/oauth/token', { client_id: client.id, grant_type: DEVICE_CODE_GRANT_TYPE, device_code: deviceCode }));

  const pending = await Promise.all([poll(), poll(), poll()]);
  t.strictSame(pending.map(errorOf).sort(), ['authorization_pending', 'slow_down', 'slow_down'], 'of concurrent first polls one is recorded, the others slowed down');

  const found = await server.findDeviceAuthorization(userCode);
  if (found.kind !== 'consent') return void t.fail('the user code finds nothing');
  t.match(await server.completeDeviceAuthorization(found.request, { userId: 'user-1', approved: true }), { kind: 'decided', approved: true });

  const polls = await Promise.all([poll(), poll()]);
  t.strictSame(polls.map((response) => response.status).sort(), [200, 400], 'one poll gets tokens');
  t.strictSame(polls.map(errorOf).filter((value) => value !== 200), ['invalid_grant'], 'the other invalid_grant');
  const tokens = await db.selectFrom('portcullis_access_tokens').select(['client_id', 'user_id']).execute();
  t.strictSame(tokens, [{ client_id: client.id, user_id: 'user-1' }], 'one access token in the database');
  const [row] = await db.selectFrom('portcullis_device_codes').select(['status', 'consumed_at']).execute();
  t.equal(row?.status, 'approved');
  t.not(row?.consumed_at, null, 'the device code is consumed');
  t.equal(errorOf(await poll()), 'invalid_grant', 'a later poll too');
}

t.test('SQLite file', async (t) => {
  const file = await openTempSqliteFile();
  const db = await createDatabase(file.url);
  t.teardown(async () => {
    await db.destroy();
    await file.remove();
  });
  await migrate(db);
  await raceDeviceFlow(t, db);
});

await mysqlTest('MariaDB', async (t) => {
  const { db } = await openMigratedMysql(t, { database: { connectionLimit: 6 } });
  await raceDeviceFlow(t, db);
});

await postgresTest('PostgreSQL', async (t) => {
  const { db } = await openMigratedPostgres(t, { connectionLimit: 6 });
  await raceDeviceFlow(t, db);
});
