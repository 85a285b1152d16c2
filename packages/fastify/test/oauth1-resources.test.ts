import t from 'tap';
import type { Test } from 'tap';
import { FORM, form, ISSUER } from './helpers.js';
import { buildOAuth1App, obtainAccessToken, sign, signedHeader, type Credentials, type OAuth1TestApp } from './oauth1-helpers.js';

const REALM = `OAuth realm="${ISSUER}"`;

async function setup(t: Test, options: Parameters<typeof buildOAuth1App>[0] = {}): Promise<OAuth1TestApp> {
  const built = await buildOAuth1App(options);
  t.teardown(built.close);
  return built;
}

function signFor(built: OAuth1TestApp, credentials: Credentials, method: string, url: string, more = {}) {
  return {
    method,
    url,
    consumerKey: built.client.id,
    consumerSecret: built.consumerSecret,
    token: credentials.token,
    tokenSecret: credentials.secret,
    ...more,
  };
}

t.test('requireScope accepts a request signed in the header, the query or the form body', async (t) => {
  const built = await setup(t);
  const credentials = await obtainAccessToken(built);
  const record = await built.db.selectFrom('portcullis_oauth1_access_tokens').selectAll().executeTakeFirstOrThrow();
  const expected = {
    protocol: 'oauth1',
    clientId: built.client.id,
    userId: 'alice',
    scope: ['read', 'write', 'polls:vote'],
    // A signed request has no audience: resource indicators are an OAuth 2 extension.
    audience: [],
    tokenId: record.id,
  };

  const header = await built.app.inject({
    method: 'GET',
    url: '/api/me?page=2',
    headers: { authorization: signedHeader(signFor(built, credentials, 'GET', '/api/me?page=2')) },
  });
  t.equal(header.statusCode, 200);
  t.same(header.json(), { oauth: expected });

  const query = new URLSearchParams(sign(signFor(built, credentials, 'GET', '/api/me?page=3')));
  const inQuery = await built.app.inject({ method: 'GET', url: `/api/me?page=3&${query}` });
  t.equal(inQuery.statusCode, 200);
  t.same(inQuery.json(), { oauth: expected });

  const body = { note: 'buy milk & eggs' };
  const signed = sign(signFor(built, credentials, 'POST', '/api/notes', { body }));
  const inBody = await built.app.inject({ method: 'POST', url: '/api/notes', headers: FORM, payload: form({ ...body, ...signed }) });
  t.equal(inBody.statusCode, 200);
  t.same(inBody.json().oauth, expected);
  t.equal((await built.snapshot()).portcullis_oauth1_nonces!.length, 2 + 3, 'each signed request recorded its nonce (two signed legs, three resource requests)');
});

t.test('refused signed requests answer with their error and change nothing', async (t) => {
  const built = await setup(t, { plugin: { oauth1: { accessTokenTtl: 3600 } } });
  const credentials = await obtainAccessToken(built, 'read');
  const url = '/api/me';
  const good = signedHeader(signFor(built, credentials, 'GET', url));
  t.equal((await built.app.inject({ method: 'GET', url, headers: { authorization: good } })).statusCode, 200);
  const before = await built.snapshot();
  const send = (authorization: string, path = url) => built.app.inject({ method: 'GET', url: path, headers: { authorization } });
  const cases: [string, () => ReturnType<typeof send>, number, string][] = [
    ['a replay', () => send(good), 401, 'nonce_used'],
    ['a tampered query', () => send(signedHeader(signFor(built, credentials, 'GET', '/api/me?id=1')), '/api/me?id=2'), 401, 'signature_invalid'],
    ['a wrong token secret', () => send(signedHeader(signFor(built, credentials, 'GET', url, { tokenSecret: 'guess' }))), 401, 'signature_invalid'],
    ['an unknown token', () => send(signedHeader(signFor(built, { token: 'o1at_nope', secret: 'x' }, 'GET', url))), 401, 'token_rejected'],
    [
      'a stale timestamp',
      () => send(signedHeader(signFor(built, credentials, 'GET', url, { timestamp: Math.floor(Date.now() / 1000) - 400 }))),
      401,
      'timestamp_refused',
    ],
    ['no token', () => send(signedHeader({ method: 'GET', url, consumerKey: built.client.id, consumerSecret: built.consumerSecret })), 400, 'parameter_absent'],
    ['a bare scheme', () => send('OAuth'), 400, 'parameter_absent'],
    ['a broken header', () => send('OAuth oauth_token="%zz"'), 400, 'parameter_rejected'],
    ['a write route with a read token', () => built.app.inject({
      method: 'POST',
      url: '/api/notes',
      headers: { authorization: signedHeader(signFor(built, credentials, 'POST', '/api/notes')) },
    }), 403, 'insufficient_scope'],
  ];
  for (const [name, run, status, error] of cases) {
    const response = await run();
    t.equal(response.statusCode, status, name);
    t.equal(response.json().error, error, name);
    t.equal(response.headers['cache-control'], 'no-store', name);
    // OAuth 1.0a answers carry the OAuth challenge on 401 and no Bearer challenge anywhere.
    t.equal(response.headers['www-authenticate'], status === 401 ? REALM : undefined, name);
  }
  t.same(await built.snapshot(), before, 'no refused request recorded a nonce or touched a token');
});

t.test('a bearer token and an OAuth 1.0a signature at once is invalid_request', async (t) => {
  const built = await setup(t);
  const credentials = await obtainAccessToken(built);
  const bearer = await built.app.oauth.issueTokens({ clientId: built.client.id, userId: 'alice', scope: ['read'] });
  const signedQuery = new URLSearchParams(sign(signFor(built, credentials, 'GET', '/api/me')));
  const before = await built.snapshot();
  const both = await built.app.inject({
    method: 'GET',
    url: `/api/me?${signedQuery}`,
    headers: { authorization: `Bearer ${bearer.access_token}` },
  });
  t.equal(both.statusCode, 400);
  t.equal(both.json().error, 'invalid_request');
  t.match(both.json().error_description, /OAuth 1\.0a/);
  const bodyToken = await built.app.inject({
    method: 'POST',
    url: '/api/notes',
    headers: { ...FORM, authorization: signedHeader(signFor(built, credentials, 'POST', '/api/notes', { body: { access_token: bearer.access_token } })) },
    payload: form({ access_token: bearer.access_token }),
  });
  t.equal(bodyToken.statusCode, 400);
  t.equal(bodyToken.json().error, 'invalid_request');
  t.same(await built.snapshot(), before);

  // Each alone is fine; the bearer path says oauth2.
  const alone = await built.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${bearer.access_token}` } });
  t.equal(alone.statusCode, 200);
  t.equal(alone.json().oauth.protocol, 'oauth2');
  const none = await built.app.inject({ method: 'GET', url: '/api/me' });
  t.equal(none.statusCode, 401);
  t.equal(
    none.headers['www-authenticate'],
    `Bearer realm="${ISSUER}", scope="read", resource_metadata="${ISSUER}/.well-known/oauth-protected-resource"`,
    'no credentials: the bearer challenge',
  );
  t.equal(none.body, '');
});

t.test('revokeGrant and oauth1.revokeAccessTokens end token credentials; expiry too', async (t) => {
  let offset = 0;
  const built = await setup(t, {
    plugin: { oauth1: { accessTokenTtl: 60 }, clock: () => new Date(Date.now() + offset) },
  });
  const first = await obtainAccessToken(built);
  const second = await obtainAccessToken(built);
  const bearer = await built.app.oauth.issueTokens({ clientId: built.client.id, userId: 'alice', scope: ['read'] });
  const call = (credentials: Credentials) =>
    built.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: signedHeader(signFor(built, credentials, 'GET', '/api/me')) } });
  t.equal((await call(first)).statusCode, 200);

  t.equal(await built.app.oauth.oauth1!.revokeAccessTokens({ clientId: built.client.id, token: first.token }), 1);
  const revoked = await call(first);
  t.equal(revoked.statusCode, 401);
  t.equal(revoked.json().error, 'token_revoked');
  t.equal((await call(second)).statusCode, 200, 'only that token');

  offset = 120_000;
  const expired = await call(second);
  t.equal(expired.statusCode, 401);
  t.equal(expired.json().error, 'token_expired');
  offset = 0;

  t.equal(await built.app.oauth.revokeGrant('alice', built.client.id), 2, 'the OAuth 1.0a token left and the bearer token');
  t.equal((await call(second)).json().error, 'token_revoked');
  const rows = await built.db.selectFrom('portcullis_oauth1_access_tokens').select('revoked_at').execute();
  t.ok(rows.every((row) => row.revoked_at !== null));
  const bearerAnswer = await built.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${bearer.access_token}` } });
  t.equal(bearerAnswer.statusCode, 401);
});

t.test("the signed URL is the issuer's origin with the path the client sent, whatever its Host header", async (t) => {
  const built = await setup(t, {
    fastify: { rewriteUrl: (request) => (request.url?.startsWith('/v1/') ? `/api/${request.url.slice(4)}` : request.url ?? '/') },
  });
  const credentials = await obtainAccessToken(built);
  const before = await built.snapshot();
  // Correctly signed for another host, and sent with that host: the signature is checked
  // against the issuer's origin, so it does not match (RFC 5849 section 3.4.1.2).
  const forged = await built.app.inject({
    method: 'GET',
    url: '/api/me',
    headers: {
      host: 'evil.example',
      authorization: signedHeader(signFor(built, credentials, 'GET', '/api/me', { origin: 'http://evil.example' })),
    },
  });
  t.equal(forged.statusCode, 401, 'a resource request signed for another host');
  t.same(forged.json(), { error: 'signature_invalid', error_description: 'The signature does not match the request.' });
  t.equal(forged.headers['www-authenticate'], REALM);
  const forgedTemporary = await built.app.inject({
    method: 'POST',
    url: '/oauth1/request_token',
    headers: {
      ...FORM,
      host: 'evil.example',
      authorization: signedHeader({
        method: 'POST',
        url: '/oauth1/request_token',
        consumerKey: built.client.id,
        consumerSecret: built.consumerSecret,
        extra: { oauth_callback: 'oob' },
        origin: 'http://evil.example',
      }),
    },
    payload: '',
  });
  t.equal(forgedTemporary.statusCode, 401, 'a temporary credentials request signed for another host');
  t.same(forgedTemporary.json(), { error: 'signature_invalid', error_description: 'The signature does not match the request.' });
  const otherPort = await built.app.inject({
    method: 'GET',
    url: '/api/me',
    headers: { authorization: signedHeader(signFor(built, credentials, 'GET', '/api/me', { origin: `${ISSUER}:8443` })) },
  });
  t.equal(otherPort.statusCode, 401, "the issuer's port is part of the base string");
  t.equal(otherPort.json().error, 'signature_invalid');
  t.same(await built.snapshot(), before, 'the refused requests changed nothing');

  const anyHost = await built.app.inject({
    method: 'GET',
    url: '/api/me',
    headers: { host: 'internal.example:8080', authorization: signedHeader(signFor(built, credentials, 'GET', '/api/me')) },
  });
  t.equal(anyHost.statusCode, 200, 'signed for the issuer: the Host header a proxy sends plays no part');

  const rewritten = await built.app.inject({
    method: 'GET',
    url: '/v1/me?x=1',
    headers: { authorization: signedHeader(signFor(built, credentials, 'GET', '/v1/me?x=1')) },
  });
  t.equal(rewritten.statusCode, 200, 'signed for the URL the client used, served by the rewritten route');
  t.equal(rewritten.json().oauth.protocol, 'oauth1');
  const signedForRewrite = await built.app.inject({
    method: 'GET',
    url: '/v1/me',
    headers: { authorization: signedHeader(signFor(built, credentials, 'GET', '/api/me')) },
  });
  t.equal(signedForRewrite.statusCode, 401);
  t.equal(signedForRewrite.json().error, 'signature_invalid');
});
