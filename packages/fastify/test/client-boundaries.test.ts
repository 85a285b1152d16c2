// What one client may do with another's credentials, over HTTP, on a SQLite file and on a
// private MariaDB database: a code presented under
// another client's id, introspection of another client's token, what a revoked grant leaves, the
// password grant for a public client.
import type { Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import {
  basicAuthHeader,
  buildReliabilityApp,
  checkErrorBody,
  countRows,
  createPkce,
  mintCode,
  onEachDatabase,
  REDIRECT_URI,
  RELIABILITY_ISSUER,
  type TestDatabase,
} from './reliability-helpers.js';
import { signedHeader } from './oauth1-helpers.js';

const SECRET_KEY = '6b'.repeat(32);

/** An OAuth 1.0a request signed for the app's issuer and sent to it. */
async function postSigned(
  app: FastifyInstance,
  path: string,
  consumer: { key: string; secret: string },
  token: { token: string; secret: string } | null,
  extra: Record<string, string>,
) {
  const authorization = signedHeader({
    method: 'POST',
    url: path,
    origin: RELIABILITY_ISSUER,
    consumerKey: consumer.key,
    consumerSecret: consumer.secret,
    ...(token === null ? {} : { token: token.token, tokenSecret: token.secret }),
    extra,
  });
  return app.inject({ method: 'POST', url: path, headers: { authorization } });
}

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: Record<string, unknown>;
}

async function post(app: FastifyInstance, url: string, values: Record<string, string>, authorization?: string): Promise<Answer> {
  const response = await app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization === undefined ? {} : { authorization }) },
    payload: new URLSearchParams(values).toString(),
  });
  return { status: response.statusCode, headers: response.headers, body: response.json() };
}

async function callProtected(app: FastifyInstance, token: string): Promise<number> {
  const response = await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } });
  return response.statusCode;
}

function assertOAuthError(t: Test, answer: Answer, status: number, error: string, description: string): void {
  t.equal(answer.status, status, `${error} ${status}`);
  t.same(answer.body, { error, error_description: description });
  t.equal(checkErrorBody(answer.body), null, 'RFC-shaped');
  t.equal(answer.headers['cache-control'], 'no-store');
}

async function runBoundaries(t: Test, database: TestDatabase): Promise<void> {
  const app = await buildReliabilityApp(database.storage, {
    // The password grant's boundaries are among those tested.
    profile: 'oauth2.0',
    verifyUser: async (username, password) => (username === 'alice' && password === 'wonderland' ? { id: 'alice' } : null),
    // The application's resource server may introspect every client's tokens; nobody else may.
    introspectionPolicy: (client) => client.name === 'Resource server',
    oauth1: true,
    secretKey: SECRET_KEY,
  });
  t.teardown(() => app.close());
  const { db } = database;

  const registerOwner = async (name: string) => {
    const { client, clientSecret } = await app.oauth.registerClient({
      name,
      redirectUris: [REDIRECT_URI],
      scopes: ['read'],
      grantTypes: ['authorization_code', 'refresh_token'],
    });
    return { id: client.id, auth: basicAuthHeader(client.id, clientSecret!) };
  };

  await t.test("a used code replayed under another client's id answers invalid_grant and revokes nothing", async (t) => {
    const owner = await registerOwner('Owner');
    const other = await registerOwner('Other');
    const publicClient = await app.oauth.registerClient({ name: 'Public', type: 'public', redirectUris: [REDIRECT_URI], scopes: ['read'] });
    const { verifier, challenge } = createPkce();
    const code = await mintCode(app, owner.id, challenge);
    const values = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier };
    const issued = await post(app, '/oauth/token', values, owner.auth);
    t.equal(issued.status, 200);

    const before = await countRows(db);
    const liveBefore = await db.selectFrom('portcullis_access_tokens').select('id').where('revoked_at', 'is', null).execute();
    const described = 'The authorization code was issued to another client.';
    assertOAuthError(t, await post(app, '/oauth/token', values, other.auth), 400, 'invalid_grant', described);
    assertOAuthError(t, await post(app, '/oauth/token', { ...values, client_id: publicClient.client.id }), 400, 'invalid_grant', described);
    t.same(await countRows(db), before, 'no row added');
    t.same(await db.selectFrom('portcullis_access_tokens').select('id').where('revoked_at', 'is', null).execute(), liveBefore, 'no token revoked');

    t.equal(await callProtected(app, issued.body.access_token as string), 200, "the owner's access token still works");
    const refreshed = await post(app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: issued.body.refresh_token as string }, owner.auth);
    t.equal(refreshed.status, 200, "the owner's refresh token still works");

    // A rotated refresh token presented by another client is refused the same way: no revocation.
    const stale = { grant_type: 'refresh_token', refresh_token: issued.body.refresh_token as string };
    assertOAuthError(t, await post(app, '/oauth/token', stale, other.auth), 400, 'invalid_grant', 'The refresh token was issued to another client.');
    t.equal(await callProtected(app, refreshed.body.access_token as string), 200, 'the rotated grant is still live');
  });

  await t.test('an unused code presented by another client is refused and stays redeemable by its own', async (t) => {
    const owner = await registerOwner('Owner 2');
    const other = await registerOwner('Other 2');
    const { verifier, challenge } = createPkce();
    const code = await mintCode(app, owner.id, challenge);
    const values = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier };
    const codes = () => db.selectFrom('portcullis_authorization_codes').selectAll().where('client_id', '=', owner.id).execute();
    const before = await codes();
    assertOAuthError(t, await post(app, '/oauth/token', values, other.auth), 400, 'invalid_grant', 'The authorization code was issued to another client.');
    t.same(await codes(), before, 'the code is not spent');
    t.equal((await post(app, '/oauth/token', values, owner.auth)).status, 200, 'its own client redeems it');
  });

  await t.test('introspection answers a client about its own tokens, and others only as the policy admits', (t) =>
    runIntrospection(t, app, registerOwner));

  await t.test('revokeGrant ends the codes and authorized request tokens not yet exchanged', async (t) => {
    const { client, clientSecret } = await app.oauth.registerClient({
      name: 'Revoked app',
      redirectUris: [REDIRECT_URI],
      scopes: ['read'],
      grantTypes: ['authorization_code', 'refresh_token'],
      oauth1Enabled: true,
    });
    const auth = basicAuthHeader(client.id, clientSecret!);
    const consumer = { key: client.id, secret: clientSecret! };
    // A grant with tokens, a code not yet redeemed, and an OAuth 1.0a request token the user
    // approved that the client has not exchanged yet.
    const first = createPkce();
    const issued = await post(app, '/oauth/token', {
      grant_type: 'authorization_code', code: await mintCode(app, client.id, first.challenge), redirect_uri: REDIRECT_URI, code_verifier: first.verifier,
    }, auth);
    t.equal(issued.status, 200);
    const pending = createPkce();
    const code = await mintCode(app, client.id, pending.challenge);
    const temporary = await postSigned(app, '/oauth1/request_token', consumer, null, { oauth_callback: REDIRECT_URI });
    t.equal(temporary.statusCode, 200, 'temporary credentials');
    const requestToken = Object.fromEntries(new URLSearchParams(temporary.body));
    const approval = await app.oauth.oauth1!.completeAuthorization(requestToken.oauth_token!, { userId: 'alice', approved: true });
    if (approval.kind !== 'redirect') throw new Error(`not approved: ${approval.kind}`);
    const verifier = new URL(approval.location).searchParams.get('oauth_verifier')!;

    t.equal(await app.oauth.revokeGrant('alice', client.id), 4, 'access and refresh token, code, request token');

    const redeemed = await post(app, '/oauth/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: pending.verifier }, auth);
    assertOAuthError(t, redeemed, 400, 'invalid_grant', 'The authorization code was already used.');
    t.same(await db.selectFrom('portcullis_access_tokens').select('id').where('client_id', '=', client.id).where('revoked_at', 'is', null).execute(), [], 'no live access token');
    const exchanged = await postSigned(
      app,
      '/oauth1/access_token',
      consumer,
      { token: requestToken.oauth_token!, secret: requestToken.oauth_token_secret! },
      { oauth_verifier: verifier },
    );
    t.equal(exchanged.statusCode, 401, 'the request token is refused');
    t.match(exchanged.json(), { error: 'token_used' });
    t.equal(checkErrorBody(exchanged.json()), null, 'RFC-shaped');
    t.same(await db.selectFrom('portcullis_oauth1_access_tokens').select('id').where('client_id', '=', client.id).execute(), [], 'no OAuth 1.0a access token');
    t.equal(await callProtected(app, issued.body.access_token as string), 401, 'the access token is revoked');
    t.same(await app.oauth.server.options.storage.listGrants('alice', new Date()).then((grants) => grants.filter((grant) => grant.clientId === client.id)), [], 'nothing left on /account/apps');
  });

  await t.test('the password grant refuses a public client, at registration and at the token endpoint', async (t) => {
    await t.rejects(
      app.oauth.registerClient({ name: 'Public password', type: 'public', grantTypes: ['password'] }),
      { error: 'invalid_request', message: 'A public client cannot use the password grant: it has no secret to prove itself with.' } as unknown as Error,
    );
    // A public client whose record lists the password grant anyway (registered before, or edited).
    const at = new Date();
    await database.storage.createClient({
      id: `public-password-${database.dialect}`, name: 'Public password', type: 'public', secretDigest: null, redirectUris: [],
      scopes: ['read'], grantTypes: ['password'], responseTypes: [], ownerId: null, oauth1Enabled: false,
      oauth1SecretEncrypted: null, rsaPublicKey: null, resources: null, disabled: false, createdAt: at, updatedAt: at,
    });
    const before = await countRows(db);
    const refused = await post(app, '/oauth/token', {
      grant_type: 'password', client_id: `public-password-${database.dialect}`, username: 'alice', password: 'wonderland', scope: 'read',
    });
    assertOAuthError(t, refused, 400, 'unauthorized_client', 'The password grant needs a confidential client authenticated with its secret.');
    t.same(await countRows(db), before, 'nothing issued');

    const { client, clientSecret } = await app.oauth.registerClient({ name: 'Confidential password', grantTypes: ['password'], scopes: ['read'] });
    const granted = await post(app, '/oauth/token', { grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'read' }, basicAuthHeader(client.id, clientSecret!));
    t.equal(granted.status, 200, 'a confidential client still uses it');
  });
}

async function runIntrospection(t: Test, app: FastifyInstance, registerOwner: (name: string) => Promise<{ id: string; auth: string }>): Promise<void> {
  const owner = await registerOwner('Token owner');
  const other = await registerOwner('Another client');
  const resourceServer = await registerOwner('Resource server');
  const { verifier, challenge } = createPkce();
  const code = await mintCode(app, owner.id, challenge);
  const issued = await post(app, '/oauth/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }, owner.auth);
  t.equal(issued.status, 200);
  const accessToken = issued.body.access_token as string;
  const refreshToken = issued.body.refresh_token as string;

  const unknown = await post(app, '/oauth/introspect', { token: 'pca_unknown' }, other.auth);
  t.same(unknown.body, { active: false });
  for (const token of [accessToken, refreshToken]) {
    const refused = await post(app, '/oauth/introspect', { token }, other.auth);
    t.equal(refused.status, 200);
    t.same(refused.body, { active: false }, "another client learns nothing of the owner's token");
    t.same(refused.headers['content-type'], unknown.headers['content-type']);
    t.equal(refused.headers['cache-control'], unknown.headers['cache-control'], 'the very answer to an unknown token');
    t.equal(refused.headers['content-length'], unknown.headers['content-length']);

    const admitted = await post(app, '/oauth/introspect', { token }, resourceServer.auth);
    t.match(admitted.body, { active: true, client_id: owner.id, sub: 'alice', scope: 'read' }, 'the policy admits the resource server');
    const own = await post(app, '/oauth/introspect', { token }, owner.auth);
    t.match(own.body, { active: true, client_id: owner.id, sub: 'alice' }, 'its own client');
  }
}

onEachDatabase('client boundaries', runBoundaries);
