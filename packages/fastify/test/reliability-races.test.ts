// Races over real HTTP: the plugin listens on 127.0.0.1 and many fetches hit it at once, on a
// SQLite file and on a private MariaDB database. Single use must hold under concurrency, and a
// replay must take the whole grant down (RFC 6749 section 4.1.2, RFC 9700 section 4.14.2).
import type { Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { formatAuthorizationHeader, signRequest } from '@portcullis/core';
import type { Database } from '@portcullis/kysely';
import {
  basicAuthHeader,
  buildReliabilityApp,
  checkErrorBody,
  createPkce,
  mintCode,
  onEachDatabase,
  REDIRECT_URI,
  RELIABILITY_ISSUER,
  type TestDatabase,
} from './reliability-helpers.js';

interface Answer {
  status: number;
  contentType: string | null;
  cacheControl: string | null;
  body: Record<string, unknown>;
}

async function post(origin: string, path: string, authorization: string, values: Record<string, string>): Promise<Answer> {
  const response = await fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
    body: new URLSearchParams(values).toString(),
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    cacheControl: response.headers.get('cache-control'),
    body: (await response.json()) as Record<string, unknown>,
  };
}

async function callProtected(origin: string, token: string): Promise<{ status: number; challenge: string | null }> {
  const response = await fetch(`${origin}/api/me`, { headers: { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return { status: response.status, challenge: response.headers.get('www-authenticate') };
}

/** Live access tokens (not revoked) and refresh tokens (neither revoked nor consumed), from the database itself. */
async function liveTokens(db: Kysely<Database>, clientId: string): Promise<{ access: number; refresh: number }> {
  const access = await db.selectFrom('portcullis_access_tokens').select('id').where('client_id', '=', clientId).where('revoked_at', 'is', null).execute();
  const refresh = await db.selectFrom('portcullis_refresh_tokens').select('id').where('client_id', '=', clientId).where('revoked_at', 'is', null).where('consumed_at', 'is', null).execute();
  return { access: access.length, refresh: refresh.length };
}

const SECRET_KEY = '5e'.repeat(32);

async function runRaces(t: Test, database: TestDatabase): Promise<void> {
  const app: FastifyInstance = await buildReliabilityApp(database.storage, { oauth1: true, secretKey: SECRET_KEY });
  t.teardown(() => app.close());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('not listening');
  const origin = `http://127.0.0.1:${address.port}`;
  const { db } = database;

  await t.test('fifty concurrent redemptions of one code: one 200, 49 invalid_grant, then the grant is revoked', async (t) => {
    const { client, clientSecret } = await app.oauth.registerClient({
      name: 'Racer',
      redirectUris: [REDIRECT_URI],
      scopes: ['read'],
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    const auth = basicAuthHeader(client.id, clientSecret!);
    const { verifier, challenge } = createPkce();
    const code = await mintCode(app, client.id, challenge);
    const values = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier };

    const answers = await Promise.all(Array.from({ length: 50 }, () => post(origin, '/oauth/token', auth, values)));
    const winners = answers.filter((answer) => answer.status === 200);
    const losers = answers.filter((answer) => answer.status !== 200);
    t.equal(winners.length, 1, 'exactly one token response');
    t.equal(losers.length, 49);
    for (const loser of losers) {
      t.equal(loser.status, 400);
      t.equal(loser.body.error, 'invalid_grant');
      t.equal(checkErrorBody(loser.body), null, 'RFC-shaped');
      t.equal(loser.cacheControl, 'no-store');
      t.match(loser.contentType, /^application\/json/);
    }
    const issued = winners[0]!.body;
    t.match(issued, { token_type: 'Bearer', scope: 'read' });
    t.type(issued.access_token, 'string');
    t.type(issued.refresh_token, 'string');

    // The losers revoked the grant (the code was replayed), including tokens saved late.
    const codes = await db.selectFrom('portcullis_authorization_codes').selectAll().where('client_id', '=', client.id).execute();
    t.equal(codes.length, 1);
    t.not(codes[0]!.consumed_at, null, 'the code is spent');
    const access = await db.selectFrom('portcullis_access_tokens').selectAll().where('client_id', '=', client.id).execute();
    const refresh = await db.selectFrom('portcullis_refresh_tokens').selectAll().where('client_id', '=', client.id).execute();
    t.equal(access.length, 1, 'one access token was ever saved');
    t.equal(refresh.length, 1, 'one refresh token was ever saved');
    t.equal(access[0]!.family_id, codes[0]!.family_id, 'in the family of the code');
    t.not(access[0]!.revoked_at, null, 'the access token is revoked');
    t.not(refresh[0]!.revoked_at, null, 'the refresh token is revoked');
    const resource = await callProtected(origin, issued.access_token as string);
    t.equal(resource.status, 401, 'the protected route refuses the token');
    t.match(resource.challenge, /error="invalid_token"/);
    const refreshed = await post(origin, '/oauth/token', auth, { grant_type: 'refresh_token', refresh_token: issued.refresh_token as string });
    t.equal(refreshed.status, 400);
    t.equal(refreshed.body.error, 'invalid_grant');
  });

  await t.test('twenty concurrent refreshes: at most one success; the rotated token used later revokes the family', async (t) => {
    const { client, clientSecret } = await app.oauth.registerClient({
      name: 'Refresher',
      redirectUris: [REDIRECT_URI],
      scopes: ['read'],
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    const auth = basicAuthHeader(client.id, clientSecret!);
    const { verifier, challenge } = createPkce();
    const code = await mintCode(app, client.id, challenge);
    const first = await post(origin, '/oauth/token', auth, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
    t.equal(first.status, 200);
    const refreshToken = first.body.refresh_token as string;

    const answers = await Promise.all(
      Array.from({ length: 20 }, () => post(origin, '/oauth/token', auth, { grant_type: 'refresh_token', refresh_token: refreshToken })),
    );
    const winners = answers.filter((answer) => answer.status === 200);
    t.ok(winners.length <= 1, `at most one success (got ${winners.length})`);
    for (const loser of answers.filter((answer) => answer.status !== 200)) {
      t.equal(loser.status, 400);
      t.equal(loser.body.error, 'invalid_grant');
      t.equal(checkErrorBody(loser.body), null);
    }
    const original = await db.selectFrom('portcullis_refresh_tokens').selectAll().where('client_id', '=', client.id).orderBy('issued_at').execute();
    t.ok(original.length <= 2, 'at most one rotation was saved');
    t.equal(original.filter((row) => row.consumed_at !== null).length, 1, 'the presented token is consumed once');

    // Whatever the race left live, presenting the consumed token again takes the family down.
    const replay = await post(origin, '/oauth/token', auth, { grant_type: 'refresh_token', refresh_token: refreshToken });
    t.equal(replay.status, 400);
    t.equal(replay.body.error, 'invalid_grant');
    t.same(await liveTokens(db, client.id), { access: 0, refresh: 0 }, 'every token of the family is revoked');
    if (winners[0] !== undefined) {
      const rotated = winners[0].body.refresh_token as string;
      const late = await post(origin, '/oauth/token', auth, { grant_type: 'refresh_token', refresh_token: rotated });
      t.equal(late.status, 400, 'the rotated token is dead too');
      t.equal(late.body.error, 'invalid_grant');
      t.equal((await callProtected(origin, winners[0].body.access_token as string)).status, 401);
    }
    t.equal((await callProtected(origin, first.body.access_token as string)).status, 401, 'the first access token is revoked');
  });

  await t.test('fifty concurrent OAuth 1.0a requests with one nonce: exactly one accepted', async (t) => {
    const { client, clientSecret } = await app.oauth.registerClient({ name: 'Printer', redirectUris: [REDIRECT_URI], scopes: ['read'], oauth1Enabled: true });
    const timestamp = Math.floor(Date.now() / 1000);
    const sign = (method: string, url: string, nonce: string, token?: { token: string; secret: string }, extra?: Record<string, string>) =>
      formatAuthorizationHeader(
        signRequest({
          method,
          // Signed for the issuer, whose origin the server checks, and sent to the port the app
          // listens on.
          url: new URL(url.slice(origin.length), RELIABILITY_ISSUER),
          consumerKey: client.id,
          signatureMethod: 'HMAC-SHA1',
          credentials: { consumerSecret: clientSecret!, ...(token ? { tokenSecret: token.secret } : {}) },
          ...(token ? { token: token.token } : {}),
          timestamp,
          nonce,
          ...(extra ? { extra } : {}),
        }),
      );

    // Temporary credentials: one request token, whatever the concurrency.
    const requestUrl = `${origin}/oauth1/request_token`;
    const header = sign('POST', requestUrl, 'one-nonce-for-all', undefined, { oauth_callback: 'oob' });
    const answers = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const response = await fetch(requestUrl, { method: 'POST', headers: { authorization: header } });
        return { status: response.status, text: await response.text() };
      }),
    );
    t.equal(answers.filter((answer) => answer.status === 200).length, 1, 'one request_token answer');
    for (const answer of answers.filter((answer) => answer.status !== 200)) {
      t.equal(answer.status, 401);
      t.match(answer.text, /nonce_used/);
    }
    const requestTokens = await db.selectFrom('portcullis_oauth1_request_tokens').select('id').where('client_id', '=', client.id).execute();
    t.equal(requestTokens.length, 1, 'one request token row');

    // A signed resource request with token credentials, replayed fifty times at once.
    const box = app.oauth.server.secretBox!;
    await database.storage.saveOAuth1AccessToken({
      id: `tok-${client.id}`, token: `token-${client.id}`, secretEncrypted: box.encrypt('token-secret'), clientId: client.id,
      userId: 'alice', scope: ['read'], issuedAt: new Date(), expiresAt: null, revokedAt: null,
    });
    const resourceUrl = `${origin}/api/me`;
    const signed = sign('GET', resourceUrl, 'resource-nonce', { token: `token-${client.id}`, secret: 'token-secret' });
    const resources = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const response = await fetch(resourceUrl, { headers: { authorization: signed } });
        return { status: response.status, text: await response.text() };
      }),
    );
    const accepted = resources.filter((answer) => answer.status === 200);
    t.equal(accepted.length, 1, 'one resource request accepted');
    t.same(JSON.parse(accepted[0]?.text ?? '{}'), { user: 'alice', client: client.id });
    for (const answer of resources.filter((answer) => answer.status !== 200)) {
      t.equal(answer.status, 401);
      t.match(answer.text, /nonce_used/);
    }
    const nonces = await db.selectFrom('portcullis_oauth1_nonces').select('nonce_key').where('client_id', '=', client.id).execute();
    t.equal(nonces.length, 2, 'one nonce row per distinct request');
  });

  await t.test('a rotated token reused after a clean rotation revokes the family (DB checked)', async (t) => {
    const { client, clientSecret } = await app.oauth.registerClient({
      name: 'Rotator',
      redirectUris: [REDIRECT_URI],
      scopes: ['read'],
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    const auth = basicAuthHeader(client.id, clientSecret!);
    const { verifier, challenge } = createPkce();
    const code = await mintCode(app, client.id, challenge);
    const first = await post(origin, '/oauth/token', auth, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
    const second = await post(origin, '/oauth/token', auth, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token as string });
    t.equal(second.status, 200);
    t.equal((await callProtected(origin, second.body.access_token as string)).status, 200, 'the new token works');
    t.same(await liveTokens(db, client.id), { access: 2, refresh: 1 });
    const stolen = await post(origin, '/oauth/token', auth, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token as string });
    t.equal(stolen.status, 400);
    t.equal(stolen.body.error, 'invalid_grant');
    t.same(await liveTokens(db, client.id), { access: 0, refresh: 0 }, 'the family is revoked in the database');
    t.equal((await callProtected(origin, second.body.access_token as string)).status, 401);
  });
}

onEachDatabase('races', runRaces);
