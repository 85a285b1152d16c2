// The OAuth 2.1 profile's refusals on a plugin registered with the default options, over HTTP, and
// the registration errors of the options it does not allow.
import { createHash, randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import t, { type Test } from 'tap';
import fastifyPortcullis, { type PortcullisOptions } from '../src/index.js';
import { basicAuth, buildTestApp, CookieJar, createTestStorage, FORM, form, ISSUER, readCsrfToken, registerSession } from './helpers.js';

const REDIRECT_URI = 'https://client.example/callback';
const NO_STORE_JSON = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', pragma: 'no-cache' };

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

async function setup(t: Test, plugin: Partial<PortcullisOptions> = {}) {
  const built = await buildTestApp({
    plugin,
    routes: (app) => {
      app.get('/api/me', { preHandler: app.requireScope('read') }, async (request) => ({ userId: request.oauth?.userId }));
    },
  });
  t.teardown(built.close);
  const { client, clientSecret } = await built.app.oauth.registerClient({ name: 'Confidential', redirectUris: [REDIRECT_URI], scopes: ['read'] });
  return { ...built, client, clientSecret: clientSecret! };
}

function authorizeUrl(query: Record<string, string>): string {
  return `/oauth/authorize?${new URLSearchParams(query)}`;
}

t.test('with the default options: every refusal of OAuth 2.1, with its status, headers and body', async (t) => {
  const { app, storage, client, clientSecret } = await setup(t);
  const base = { response_type: 'code', client_id: client.id, redirect_uri: REDIRECT_URI, scope: 'read', state: 'st' };

  await t.test('a confidential client asking for a code without PKCE is sent back with invalid_request', async (t) => {
    const response = await app.inject({ method: 'GET', url: authorizeUrl(base) });
    t.equal(response.statusCode, 302);
    t.equal(response.headers['cache-control'], 'no-store');
    t.equal(response.headers['referrer-policy'], 'no-referrer');
    t.equal(response.body, '');
    const location = new URL(response.headers.location as string);
    t.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
    t.same(Object.fromEntries(location.searchParams), {
      error: 'invalid_request',
      error_description: 'PKCE is required for every client (OAuth 2.1): send code_challenge with code_challenge_method=S256.',
      state: 'st',
      iss: ISSUER,
    });
    t.notOk(response.cookies.some((cookie) => cookie.name === 'sid'), 'no session was started: nothing waits for login');
  });

  await t.test('PKCE plain is refused the same way', async (t) => {
    const response = await app.inject({ method: 'GET', url: authorizeUrl({ ...base, code_challenge: pkce().verifier, code_challenge_method: 'plain' }) });
    t.equal(response.statusCode, 302);
    const location = new URL(response.headers.location as string);
    t.equal(location.searchParams.get('error'), 'invalid_request');
    t.equal(location.searchParams.get('error_description'), 'The code_challenge_method must be S256 (plain is not accepted).');
  });

  await t.test('response_type=token is unsupported, answered in the fragment, even for a client stored with the implicit grant', async (t) => {
    await storage.createClient({ ...client, id: 'stored-spa', grantTypes: ['authorization_code', 'implicit'], responseTypes: ['code', 'token'] });
    const response = await app.inject({ method: 'GET', url: authorizeUrl({ ...base, client_id: 'stored-spa', response_type: 'token' }) });
    t.equal(response.statusCode, 302);
    t.equal(response.headers['cache-control'], 'no-store');
    const location = new URL(response.headers.location as string);
    t.equal(location.search, '');
    t.same(Object.fromEntries(new URLSearchParams(location.hash.slice(1))), {
      error: 'unsupported_response_type',
      error_description: "OAuth 2.1 has no implicit grant (response_type=token); set profile: 'oauth2.0' to allow it.",
      state: 'st',
      iss: ISSUER,
    });
  });

  await t.test('the password grant is unsupported_grant_type, even for a client stored with it', async (t) => {
    await storage.createClient({ ...client, id: 'stored-password', grantTypes: ['password'], responseTypes: [] });
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: basicAuth('stored-password', clientSecret) },
      payload: form({ grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'read' }),
    });
    t.equal(response.statusCode, 400);
    t.match(response.headers, NO_STORE_JSON);
    t.same(response.json(), { error: 'unsupported_grant_type', error_description: "OAuth 2.1 has no password grant; set profile: 'oauth2.0' to allow it." });
  });

  await t.test('registering a client with the implicit or password grant type is refused', async (t) => {
    await t.rejects(app.oauth.registerClient({ name: 'spa', type: 'public', grantTypes: ['implicit'], redirectUris: [REDIRECT_URI] }), {
      error: 'invalid_request',
      message: "The client cannot have the implicit grant type: OAuth 2.1 has no implicit grant (response_type=token); set profile: 'oauth2.0' to allow it.",
    } as unknown as Error);
    await t.rejects(app.oauth.registerClient({ name: 'old', grantTypes: ['password'] }), { error: 'invalid_request' } as unknown as Error);
  });

  await t.test('a token in the query string is not read: 401 as without a token', async (t) => {
    const { access_token: token } = await app.oauth.issueTokens({ clientId: client.id, userId: 'alice', scope: ['read'] });
    const response = await app.inject({ method: 'GET', url: `/api/me?access_token=${token}` });
    t.equal(response.statusCode, 401);
    // RFC 6750 section 3.1: a request without a token gets a challenge without an error code.
    t.match(response.headers['www-authenticate'], new RegExp(`^Bearer realm="${ISSUER}"`));
    t.notMatch(response.headers['www-authenticate'], /error=/);
    t.equal(response.headers['cache-control'], 'no-store');
    t.equal(response.body, '');
    const header = await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } });
    t.equal(header.statusCode, 200, 'the same token in the header opens the route');
  });

  await t.test('the metadata offers the code grant with S256 only', async (t) => {
    const response = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
    t.equal(response.statusCode, 200);
    t.match(response.json(), {
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'],
      code_challenge_methods_supported: ['S256'],
    });
  });
});

t.test('registration: options that enable what OAuth 2.1 removed fail with a stable code', async (t) => {
  const { storage, close } = await createTestStorage();
  t.teardown(close);
  const valid = { storage, issuer: ISSUER, development: true, getUser: () => null, loginUrl: '/login' } as PortcullisOptions;
  const start = async (options: PortcullisOptions) => {
    const app = Fastify();
    t.teardown(() => app.close());
    await registerSession(app);
    await app.register(fastifyPortcullis, options);
    await app.ready();
  };
  await t.rejects(start({ ...valid, allowQueryToken: true }), {
    code: 'FST_PORTCULLIS_INVALID_OPTION',
    message: `The "allowQueryToken" option cannot be set: OAuth 2.1 has no access tokens in a query string; set profile: 'oauth2.0' to allow it.`,
  });
  await t.rejects(
    start({ resourceServer: { introspection: { url: 'https://as.example/introspect', clientId: 'rs', clientSecret: 's' } }, issuer: ISSUER, allowQueryToken: true }),
    { code: 'FST_PORTCULLIS_INVALID_OPTION' },
    'a resource server without storage too',
  );
  await t.rejects(start({ ...valid, profile: 'oauth2' as 'oauth2.0' }), {
    code: 'FST_PORTCULLIS_INVALID_OPTION',
    message: `The "profile" option must be 'oauth2.1' or 'oauth2.0'.`,
  });
  await t.rejects(start({ ...valid, verifyUser: async () => null }), /options\.verifyUser cannot be set: OAuth 2\.1 has no password grant/);
  await t.rejects(start({ ...valid, allowPlainPkce: true }), /options\.allowPlainPkce cannot be set/);
  await t.resolves(start({ ...valid, profile: 'oauth2.0', allowQueryToken: true, allowPlainPkce: true, verifyUser: async () => null }), "'oauth2.0' allows them");
});

t.test('localhost redirect URIs: any port only with allowLocalhostAnyPort; the consent page names the host', async (t) => {
  const registered = 'http://localhost/callback';
  const requested = 'http://localhost:33418/callback';
  const run = async (plugin: Partial<PortcullisOptions>) => {
    const built = await buildTestApp({ plugin });
    t.teardown(built.close);
    const { client } = await built.app.oauth.registerClient({ name: 'CLI', type: 'public', redirectUris: [registered], scopes: ['read'] });
    const { verifier, challenge } = pkce();
    const url = authorizeUrl({ response_type: 'code', client_id: client.id, redirect_uri: requested, scope: 'read', code_challenge: challenge, code_challenge_method: 'S256' });
    return { ...built, client, verifier, url };
  };

  const off = await run({});
  const refused = await off.app.inject({ method: 'GET', url: off.url });
  t.equal(refused.statusCode, 400, 'off: an error page, never a redirect');
  t.equal(refused.headers.location, undefined);
  t.match(refused.headers['content-type'], /^text\/html/);
  t.match(refused.body, /The redirect_uri does not match any URI registered for the client\./);

  const on = await run({ allowLocalhostAnyPort: true });
  const jar = new CookieJar();
  jar.store(await on.app.inject({ method: 'POST', url: '/login?user=alice', headers: { cookie: jar.header() } }));
  const page = await on.app.inject({ method: 'GET', url: on.url, headers: { cookie: jar.header() } });
  jar.store(page);
  t.equal(page.statusCode, 200);
  t.match(page.body, /<p>You will be sent back to <strong>localhost:33418<\/strong>\.<\/p>/);
  t.match(page.headers['content-security-policy'], /form-action 'self' http:\/\/localhost:33418$/);
  const decided = await on.app.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'approve', csrf_token: readCsrfToken(page.body) }),
  });
  t.equal(decided.statusCode, 303);
  const callback = new URL(decided.headers.location as string);
  t.equal(`${callback.origin}${callback.pathname}`, requested);
  const token = await on.app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: FORM,
    payload: form({ grant_type: 'authorization_code', client_id: on.client.id, code: callback.searchParams.get('code')!, redirect_uri: requested, code_verifier: on.verifier }),
  });
  t.equal(token.statusCode, 200);
  t.equal(token.json().scope, 'read');
});
