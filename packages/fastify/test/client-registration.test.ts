// Dynamic client registration over HTTP (RFC 7591, RFC 7592) on a SQLite file and on MariaDB:
// a registered client completes the code flow; each refusal is RFC-shaped and writes nothing.
import type { Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { buildReliabilityApp, countRows, createPkce, mintCode, onEachDatabase, REDIRECT_URI, RELIABILITY_ISSUER, type TestDatabase } from './reliability-helpers.js';

const METADATA = {
  client_name: 'Registered app',
  redirect_uris: [REDIRECT_URI],
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  scope: 'read',
};

function expectError(t: Test, response: LightMyRequestResponse, status: number, error: string): void {
  t.equal(response.statusCode, status, `${error} ${status}`);
  t.match(response.headers['content-type'], /^application\/json/);
  t.equal(response.headers['cache-control'], 'no-store');
  const body = response.json() as Record<string, unknown>;
  t.strictSame(Object.keys(body).sort(), ['error', 'error_description'], 'an RFC-shaped body, not Fastify\'s');
  t.equal(body.error, error);
}

async function buildApp(database: TestDatabase, registration: Record<string, unknown> = {}, clock?: () => Date) {
  return buildReliabilityApp(database.storage, {
    registration: { enabled: true, ...registration },
    ...(clock === undefined ? {} : { clock }),
  });
}

onEachDatabase('dynamic client registration', async (t, database) => {
  await t.test('a registered client gets tokens and reaches a protected route; metadata advertises the endpoint', async (t) => {
    const app = await buildApp(database);
    t.teardown(() => app.close());
    const metadata = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
    t.equal(metadata.json().registration_endpoint, `${RELIABILITY_ISSUER}/oauth/register`);

    const registered = await app.inject({ method: 'POST', url: '/oauth/register', payload: METADATA });
    t.equal(registered.statusCode, 201);
    t.equal(registered.headers['cache-control'], 'no-store');
    const body = registered.json() as Record<string, string>;
    t.equal(body.registration_client_uri, `${RELIABILITY_ISSUER}/oauth/register/${body.client_id}`);
    t.notOk('client_secret' in body, 'a public client gets no secret');
    const [row] = await database.db.selectFrom('portcullis_clients').selectAll().execute();
    t.equal(row?.origin, 'dynamic');
    t.not(row?.registration_token_digest, body.registration_access_token, 'the token is not stored');
    t.ok(row?.unused_expires_at !== null, 'pending until it obtains a token');

    const pkce = createPkce();
    const code = await mintCode(app, body.client_id!, pkce.challenge);
    const token = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, client_id: body.client_id!, code_verifier: pkce.verifier }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    t.equal(token.statusCode, 200);
    const me = await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token.json().access_token}` } });
    t.strictSame(me.json(), { user: 'alice', client: body.client_id });
    const [used] = await database.db.selectFrom('portcullis_clients').select(['unused_expires_at', 'last_used_at']).execute();
    t.equal(used?.unused_expires_at, null, 'kept from now on');
    t.ok(used?.last_used_at !== null);
  });

  await t.test('refusals: RFC 7591 errors, RFC-shaped bodies, nothing stored', async (t) => {
    const app = await buildApp(database);
    t.teardown(() => app.close());
    const before = await countRows(database.db);
    const cases: [unknown, string][] = [
      [{ ...METADATA, redirect_uris: ['https://client.example/cb#frag'] }, 'invalid_redirect_uri'],
      [{ ...METADATA, redirect_uris: ['javascript:alert(1)'] }, 'invalid_redirect_uri'],
      [{ ...METADATA, grant_types: ['refresh_token'] }, 'invalid_client_metadata'],
      [{ ...METADATA, grant_types: ['implicit'], response_types: ['token'] }, 'invalid_client_metadata'],
      [{ ...METADATA, redirect_uris: 'https://client.example/cb' }, 'invalid_client_metadata'],
      [[METADATA], 'invalid_client_metadata'],
    ];
    for (const [payload, error] of cases) {
      expectError(t, await app.inject({ method: 'POST', url: '/oauth/register', payload: payload as object }), 400, error);
    }
    expectError(
      t,
      await app.inject({ method: 'POST', url: '/oauth/register', payload: 'client_name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      400,
      'invalid_request',
    );
    expectError(t, await app.inject({ method: 'POST', url: '/oauth/register', payload: '{"client_name":', headers: { 'content-type': 'application/json' } }), 400, 'invalid_request');
    const wrongMethod = await app.inject({ method: 'GET', url: '/oauth/register' });
    expectError(t, wrongMethod, 405, 'invalid_request');
    t.equal(wrongMethod.headers.allow, 'POST');
    t.strictSame(await countRows(database.db), before, 'nothing written');
  });

  await t.test('RFC 7592: another client\'s registration access token is 401 invalid_token and changes nothing', async (t) => {
    const app = await buildApp(database);
    t.teardown(() => app.close());
    const a = (await app.inject({ method: 'POST', url: '/oauth/register', payload: METADATA })).json() as Record<string, string>;
    const b = (await app.inject({ method: 'POST', url: '/oauth/register', payload: METADATA })).json() as Record<string, string>;
    const before = await database.db.selectFrom('portcullis_clients').selectAll().orderBy('id').execute();
    const url = `/oauth/register/${a.client_id}`;
    for (const method of ['GET', 'PUT', 'DELETE'] as const) {
      const response = await app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${b.registration_access_token}` },
        ...(method === 'PUT' ? { payload: { ...METADATA, client_id: a.client_id, client_name: 'Taken over' } } : {}),
      });
      expectError(t, response, 401, 'invalid_token');
      t.match(response.headers['www-authenticate'], /^Bearer realm="[^"]*", error="invalid_token"/);
    }
    t.strictSame(await database.db.selectFrom('portcullis_clients').selectAll().orderBy('id').execute(), before, 'nothing changed');

    const read = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${a.registration_access_token}` } });
    t.equal(read.statusCode, 200);
    t.equal(read.json().client_id, a.client_id);
    const deleted = await app.inject({ method: 'DELETE', url, headers: { authorization: `Bearer ${a.registration_access_token}` } });
    t.equal(deleted.statusCode, 204);
    t.equal(await database.storage.findClient(a.client_id!), null);
  });

  await t.test('an unused registration expires and the purge removes it; the count of unused ones is bounded', async (t) => {
    let now = new Date();
    const app = await buildApp(database, { unusedClientTtl: 60, maxUnusedClients: 1 }, () => now);
    t.teardown(() => app.close());
    await database.db.deleteFrom('portcullis_clients').execute();
    const first = await app.inject({ method: 'POST', url: '/oauth/register', payload: METADATA });
    t.equal(first.statusCode, 201);
    const refused = await app.inject({ method: 'POST', url: '/oauth/register', payload: METADATA });
    expectError(t, refused, 429, 'temporarily_unavailable');
    t.equal((await countRows(database.db)).portcullis_clients, 1, 'the second was not stored');

    now = new Date(now.getTime() + 61_000);
    const purged = await app.oauth.purgeExpired();
    t.equal(purged.clients, 1);
    t.equal((await countRows(database.db)).portcullis_clients, 0, 'the expired registration is gone');
    t.equal((await app.inject({ method: 'POST', url: '/oauth/register', payload: METADATA })).statusCode, 201, 'room again');
  });

  await t.test('with an initial access token configured, registration needs it', async (t) => {
    const initialAccessToken = 'initial-access-token-'.padEnd(48, 'z');
    const app = await buildApp(database, { initialAccessToken });
    t.teardown(() => app.close());
    const before = await countRows(database.db);
    const missing = await app.inject({ method: 'POST', url: '/oauth/register', payload: METADATA });
    expectError(t, missing, 401, 'invalid_token');
    t.equal(missing.headers['www-authenticate'], `Bearer realm="${RELIABILITY_ISSUER}"`);
    expectError(t, await app.inject({ method: 'POST', url: '/oauth/register', payload: METADATA, headers: { authorization: 'Bearer nope' } }), 401, 'invalid_token');
    t.strictSame(await countRows(database.db), before);
    const ok = await app.inject({ method: 'POST', url: '/oauth/register', payload: METADATA, headers: { authorization: `Bearer ${initialAccessToken}` } });
    t.equal(ok.statusCode, 201);
  });
});

onEachDatabase('registration off', async (t, database) => {
  const app = await buildReliabilityApp(database.storage);
  t.teardown(() => app.close());
  const response = await app.inject({ method: 'POST', url: '/oauth/register', payload: METADATA });
  t.equal(response.statusCode, 404, 'no route');
  const metadata = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
  t.notOk('registration_endpoint' in metadata.json());
});
