// RFC 7592 section 2.2 over real HTTP, on SQLite, MariaDB and PostgreSQL: an update issues a new
// registration access token (by default) and, when configured, a new client secret; the old ones
// stop working at once, the new ones are shown once and only their digests are stored.
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';
import { digestSecret } from '@portcullis/core';
import { basicAuthHeader, buildReliabilityApp, onEachDatabase, REDIRECT_URI, type TestDatabase } from './reliability-helpers.js';

const METADATA = {
  client_name: 'Rotating app',
  redirect_uris: [REDIRECT_URI],
  token_endpoint_auth_method: 'client_secret_basic',
  grant_types: ['authorization_code', 'client_credentials'],
  response_types: ['code'],
  scope: 'read',
};

async function listen(t: Test, database: TestDatabase, registration: Record<string, unknown>): Promise<string> {
  const app = await buildReliabilityApp(database.storage, { registration: { enabled: true, ...registration } });
  t.teardown(() => app.close());
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

function clientCredentials(base: string, clientId: string, secret: string): Promise<Response> {
  return fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuthHeader(clientId, secret) },
    body: 'grant_type=client_credentials&scope=read',
  });
}

function manage(base: string, clientId: string, token: string, method: 'GET' | 'PUT' | 'DELETE', body?: unknown): Promise<Response> {
  return fetch(`${base}/oauth/register/${encodeURIComponent(clientId)}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function storedRow(database: TestDatabase, clientId: string) {
  return database.db.selectFrom('portcullis_clients').select(['secret_digest', 'registration_token_digest', 'name']).where('id', '=', clientId).executeTakeFirstOrThrow();
}

onEachDatabase(
  'registration rotation',
  async (t, database) => {
    await t.test('by default a PUT rotates the registration access token and keeps the secret', async (t) => {
      const base = await listen(t, database, {});
      const registered = await fetch(`${base}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(METADATA) });
      t.equal(registered.status, 201);
      const a = (await json(registered)) as Record<string, string>;
      const clientId = a.client_id!;

      const updated = await manage(base, clientId, a.registration_access_token!, 'PUT', { ...METADATA, client_id: clientId, client_name: 'Renamed' });
      t.equal(updated.status, 200);
      t.equal(updated.headers.get('cache-control'), 'no-store');
      const body = (await json(updated)) as Record<string, string>;
      t.equal(body.client_name, 'Renamed');
      t.match(body.registration_access_token, /^pcg_[A-Za-z0-9_-]{43}$/);
      t.not(body.registration_access_token, a.registration_access_token);
      t.notOk('client_secret' in body, 'the secret is not rotated by default');

      const row = await storedRow(database, clientId);
      t.equal(row.name, 'Renamed');
      t.equal(row.registration_token_digest, digestSecret(body.registration_access_token!), 'the new token as a digest only');
      t.equal(row.secret_digest, digestSecret(a.client_secret!), 'the secret is unchanged');

      const old = await manage(base, clientId, a.registration_access_token!, 'GET');
      t.equal(old.status, 401);
      t.match(old.headers.get('www-authenticate'), /error="invalid_token"/);
      t.equal((await json(old)).error, 'invalid_token', 'the old token stops working at once');
      const read = await manage(base, clientId, body.registration_access_token!, 'GET');
      t.equal(read.status, 200);
      t.notOk('registration_access_token' in (await json(read)), 'a read does not show the token again');
      t.equal((await clientCredentials(base, clientId, a.client_secret!)).status, 200, 'the secret still works');
    });

    await t.test('rotateClientSecret: the old secret stops working, the new one works; rotateRegistrationAccessToken off keeps the token', async (t) => {
      const base = await listen(t, database, { rotateClientSecret: true, rotateRegistrationAccessToken: false });
      const registered = await fetch(`${base}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(METADATA) });
      const a = (await json(registered)) as Record<string, string>;
      const clientId = a.client_id!;
      t.equal((await clientCredentials(base, clientId, a.client_secret!)).status, 200);

      const before = await storedRow(database, clientId);
      const refused = await manage(base, clientId, a.registration_access_token!, 'PUT', { ...METADATA, client_id: clientId, client_secret: 'pcs_chosen-by-the-client' });
      t.equal(refused.status, 400);
      t.equal((await json(refused)).error, 'invalid_request', 'a client cannot choose its secret');
      t.strictSame(await storedRow(database, clientId), before, 'the refused update changed nothing');

      const updated = await manage(base, clientId, a.registration_access_token!, 'PUT', { ...METADATA, client_id: clientId });
      t.equal(updated.status, 200);
      const body = (await json(updated)) as Record<string, unknown>;
      t.match(body.client_secret, /^pcs_/);
      t.not(body.client_secret, a.client_secret);
      t.equal(body.client_secret_expires_at, 0);
      t.notOk('registration_access_token' in body, 'the token is kept, so not returned');
      const row = await storedRow(database, clientId);
      t.equal(row.secret_digest, digestSecret(body.client_secret as string), 'the new secret as a digest only');
      t.equal(row.registration_token_digest, digestSecret(a.registration_access_token!));

      const old = await clientCredentials(base, clientId, a.client_secret!);
      t.equal(old.status, 401);
      t.equal((await json(old)).error, 'invalid_client', 'the old secret stops working at once');
      const fresh = await clientCredentials(base, clientId, body.client_secret as string);
      t.equal(fresh.status, 200, 'the new secret works');
      t.match((await json(fresh)).access_token, /^pca_/);
      t.equal((await manage(base, clientId, a.registration_access_token!, 'GET')).status, 200, 'the kept token still works');
    });

    await t.test('two PUTs at once with one token: one rotates it, the other is invalid_token', async (t) => {
      const base = await listen(t, database, {});
      const registered = await fetch(`${base}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(METADATA) });
      const a = (await json(registered)) as Record<string, string>;
      const clientId = a.client_id!;
      const answers = await Promise.all(
        ['First', 'Second'].map((name) => manage(base, clientId, a.registration_access_token!, 'PUT', { ...METADATA, client_id: clientId, client_name: name })),
      );
      t.strictSame(answers.map((answer) => answer.status).sort(), [200, 401]);
      const refused = answers.find((answer) => answer.status === 401)!;
      t.match(refused.headers.get('www-authenticate'), /error="invalid_token"/);
      t.equal((await json(refused)).error, 'invalid_token');
      const winner = (await json(answers.find((answer) => answer.status === 200)!)) as Record<string, string>;
      const row = await storedRow(database, clientId);
      t.equal(row.name, winner.client_name, "the stored name is the winner's");
      t.equal(row.registration_token_digest, digestSecret(winner.registration_access_token!), 'only the winner\'s new token is stored');
      t.equal((await manage(base, clientId, winner.registration_access_token!, 'GET')).status, 200, 'and it works');
    });
  },
  { postgres: true },
);
