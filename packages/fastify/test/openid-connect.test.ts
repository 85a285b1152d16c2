// OpenID Connect through the plugin: the login hand-off of prompt, max_age and login_hint,
// prompt=none answered by redirect, UserInfo's bearer errors, RP-initiated logout and the
// openid-configuration document, over inject with a session as a browser keeps it.
import { createHash, randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { basicAuth, buildTestApp, CookieJar, FORM, form, ISSUER, readCsrfToken } from './helpers.js';

declare module 'fastify' {
  interface Session {
    authTime?: number;
  }
}

const REDIRECT_URI = 'https://rp.example/callback';
const LOGOUT_URI = 'https://rp.example/signed-out';

const SECRET_KEY = 'b'.repeat(64);

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

async function setup(t: Test) {
  const ended: string[] = [];
  const built = await buildTestApp({
    plugin: {
      secretKey: SECRET_KEY,
      signingKeys: { algorithms: ['RS256'] },
      openid: {
        findAccount: (userId) => ({ name: `${userId} Example`, email: `${userId}@example.com`, email_verified: true }),
        endSession: async (request: FastifyRequest) => {
          ended.push(request.session.get('userId') ?? '');
          await request.session.destroy();
        },
      },
      getUser: (request: FastifyRequest) => {
        const id = request.session.get('userId');
        const authTime = request.session.get('authTime');
        return id === undefined ? null : { id, username: id, ...(authTime === undefined ? {} : { authTime: new Date(authTime) }) };
      },
    },
    routes: (app) => {
      // Signs in whoever it names, at the time it names (seconds ago), keeping the pending request.
      app.post<{ Querystring: { user?: string; ago?: string } }>('/login-at', async (request) => {
        await request.session.regenerate(['portcullis']);
        request.session.set('userId', request.query.user ?? 'alice');
        request.session.set('authTime', Date.now() - Number(request.query.ago ?? '0') * 1000);
        return { ok: true };
      });
    },
  });
  t.teardown(built.close);
  const { client, clientSecret } = await built.app.oauth.registerClient({
    name: 'Relying party',
    redirectUris: [REDIRECT_URI],
    postLogoutRedirectUris: [LOGOUT_URI],
    scopes: ['read', 'openid', 'profile', 'email'],
  });
  return { ...built, client, clientSecret: clientSecret!, ended };
}

function authorizeUrl(clientId: string, challenge: string, extra: Record<string, string> = {}): string {
  return `/oauth/authorize?${new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: 'openid email',
    state: 'st',
    nonce: 'nn',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  })}`;
}

async function loginAt(app: FastifyInstance, jar: CookieJar, user = 'alice', ago = 0): Promise<void> {
  const response = await app.inject({ method: 'POST', url: `/login-at?user=${user}&ago=${ago}`, headers: { cookie: jar.header() } });
  jar.store(response);
}

/** Consents on the page at `url` and redeems the code: the token response. */
async function signIn(app: FastifyInstance, jar: CookieJar, client: { id: string }, secret: string, extra: Record<string, string> = {}) {
  const { verifier, challenge } = pkce();
  const page = await app.inject({ method: 'GET', url: authorizeUrl(client.id, challenge, extra), headers: { cookie: jar.header() } });
  jar.store(page);
  const decided = await app.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'approve', csrf_token: readCsrfToken(page.body) }),
  });
  const code = new URL(decided.headers.location as string).searchParams.get('code')!;
  const token = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { ...FORM, authorization: basicAuth(client.id, secret) },
    payload: form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }),
  });
  return { page, token: token.json() as Record<string, string> };
}

t.test('the consent page names the claims of the OpenID Connect scopes in words', async (t) => {
  const { app, client } = await setup(t);
  const jar = new CookieJar();
  await loginAt(app, jar);
  const page = await app.inject({ method: 'GET', url: authorizeUrl(client.id, pkce().challenge, { scope: 'openid profile email' }), headers: { cookie: jar.header() } });
  t.equal(page.statusCode, 200);
  t.match(page.body, /<code>email<\/code><\/label><small>See your email address<\/small><small>Shares your email address and whether it is verified\.<\/small>/);
  t.match(page.body, /Shares your name, your family name, /);
});

t.test('prompt=none without a session: login_required by redirect to the client, never a page', async (t) => {
  const { app, client } = await setup(t);
  const response = await app.inject({ method: 'GET', url: authorizeUrl(client.id, pkce().challenge, { prompt: 'none' }) });
  t.equal(response.statusCode, 302);
  const location = new URL(response.headers.location as string);
  t.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
  t.equal(location.searchParams.get('error'), 'login_required');
  t.equal(location.searchParams.get('state'), 'st');
  t.equal(location.searchParams.get('iss'), ISSUER);
  t.equal(response.headers['cache-control'], 'no-store');
  t.notOk(response.cookies.some((cookie) => cookie.name === 'sid'), 'nothing kept in a session');
});

t.test('prompt=none with a session: consent_required first, then a code once the client holds a grant', async (t) => {
  const { app, client, clientSecret } = await setup(t);
  const jar = new CookieJar();
  await loginAt(app, jar);
  const refused = await app.inject({ method: 'GET', url: authorizeUrl(client.id, pkce().challenge, { prompt: 'none' }), headers: { cookie: jar.header() } });
  t.equal(refused.statusCode, 302);
  t.equal(new URL(refused.headers.location as string).searchParams.get('error'), 'consent_required');

  const { token } = await signIn(app, jar, client, clientSecret);
  t.type(token.id_token, 'string');
  const silent = await app.inject({ method: 'GET', url: authorizeUrl(client.id, pkce().challenge, { prompt: 'none' }), headers: { cookie: jar.header() } });
  t.equal(silent.statusCode, 302);
  const location = new URL(silent.headers.location as string);
  t.type(location.searchParams.get('code'), 'string');
  t.equal(location.searchParams.get('state'), 'st');
});

t.test('prompt=login and max_age send a signed-in user to log in again, once', async (t) => {
  const { app, client } = await setup(t);
  const jar = new CookieJar();
  await loginAt(app, jar, 'alice', 600);
  const url = authorizeUrl(client.id, pkce().challenge, { max_age: '60', login_hint: 'alice@example.com' });
  const first = await app.inject({ method: 'GET', url, headers: { cookie: jar.header() } });
  jar.store(first);
  t.equal(first.statusCode, 302);
  t.equal(first.headers.location, `/login?next=${encodeURIComponent('/oauth/authorize')}&prompt=login&login_hint=alice%40example.com`, 'back to the pending request, not its query');

  // The login page did not sign in again: the request ends rather than loop.
  const stale = await app.inject({ method: 'GET', url: '/oauth/authorize', headers: { cookie: jar.header() } });
  t.equal(stale.statusCode, 302);
  t.equal(new URL(stale.headers.location as string).searchParams.get('error'), 'login_required');

  const again = await app.inject({ method: 'GET', url: authorizeUrl(client.id, pkce().challenge, { prompt: 'login' }), headers: { cookie: jar.header() } });
  jar.store(again);
  t.match(again.headers.location, /&prompt=login$/);
  await loginAt(app, jar, 'alice', 0);
  const resumed = await app.inject({ method: 'GET', url: '/oauth/authorize', headers: { cookie: jar.header() } });
  t.equal(resumed.statusCode, 200, 'a fresh login: the consent page');
  t.match(resumed.body, /Authorize <strong>Relying party<\/strong>/);
});

t.test('UserInfo: claims for an openid token; insufficient_scope and invalid_token otherwise', async (t) => {
  const { app, client, clientSecret } = await setup(t);
  const jar = new CookieJar();
  await loginAt(app, jar);
  const { token } = await signIn(app, jar, client, clientSecret);
  const userinfo = await app.inject({ method: 'GET', url: '/oauth/userinfo', headers: { authorization: `Bearer ${token.access_token}` } });
  t.equal(userinfo.statusCode, 200);
  t.equal(userinfo.headers['cache-control'], 'no-store');
  t.strictSame(userinfo.json(), { sub: 'alice', email: 'alice@example.com', email_verified: true });
  const posted = await app.inject({ method: 'POST', url: '/oauth/userinfo', headers: FORM, payload: form({ access_token: token.access_token! }) });
  t.equal(posted.statusCode, 200);

  const plain = await app.oauth.issueTokens({ clientId: client.id, userId: 'alice', scope: ['read'] });
  const insufficient = await app.inject({ method: 'GET', url: '/oauth/userinfo', headers: { authorization: `Bearer ${plain.access_token}` } });
  t.equal(insufficient.statusCode, 403);
  t.equal(insufficient.json().error, 'insufficient_scope');
  t.match(insufficient.headers['www-authenticate'], /^Bearer realm="https:\/\/auth\.example\.test", error="insufficient_scope".*scope="openid"$/);

  const missing = await app.inject({ method: 'GET', url: '/oauth/userinfo' });
  t.equal(missing.statusCode, 401);
  t.equal(missing.headers['www-authenticate'], `Bearer realm="${ISSUER}"`);
  const deleted = await app.inject({ method: 'DELETE', url: '/oauth/userinfo' });
  t.equal(deleted.statusCode, 405);
  t.equal(deleted.headers.allow, 'GET, POST');
});

t.test('RP-initiated logout: a proven request signs out and returns state; an unknown URI is refused', async (t) => {
  const { app, client, clientSecret, ended } = await setup(t);
  const jar = new CookieJar();
  await loginAt(app, jar);
  const { token } = await signIn(app, jar, client, clientSecret);

  const refused = await app.inject({
    method: 'GET',
    url: `/oauth/logout?${new URLSearchParams({ id_token_hint: token.id_token!, post_logout_redirect_uri: 'https://rp.example/elsewhere' })}`,
    headers: { cookie: jar.header() },
  });
  t.equal(refused.statusCode, 400);
  t.match(refused.headers['content-type'], /^text\/html/);
  t.match(refused.body, /post_logout_redirect_uri is not registered/);
  t.strictSame(ended, [], 'nobody signed out');

  const logout = await app.inject({
    method: 'GET',
    url: `/oauth/logout?${new URLSearchParams({ id_token_hint: token.id_token!, post_logout_redirect_uri: LOGOUT_URI, state: 'bye' })}`,
    headers: { cookie: jar.header() },
  });
  jar.store(logout);
  t.equal(logout.statusCode, 303);
  t.equal(logout.headers.location, `${LOGOUT_URI}?state=bye`);
  t.strictSame(ended, ['alice'], 'the application ended the session');
  const after = await app.inject({ method: 'GET', url: authorizeUrl(client.id, pkce().challenge, { prompt: 'none' }), headers: { cookie: jar.header() } });
  t.equal(new URL(after.headers.location as string).searchParams.get('error'), 'login_required', 'signed out');
});

t.test('RP-initiated logout without a hint asks first, with a CSRF-protected form', async (t) => {
  const { app, client, ended } = await setup(t);
  const jar = new CookieJar();
  await loginAt(app, jar);
  const page = await app.inject({
    method: 'GET',
    url: `/oauth/logout?${new URLSearchParams({ client_id: client.id, post_logout_redirect_uri: LOGOUT_URI, state: 's2' })}`,
    headers: { cookie: jar.header() },
  });
  jar.store(page);
  t.equal(page.statusCode, 200);
  t.equal(page.headers['x-frame-options'], 'DENY');
  t.match(page.body, /<strong>Relying party<\/strong> asks to sign you out/);
  t.strictSame(ended, [], 'not yet');

  const forged = await app.inject({ method: 'POST', url: '/oauth/logout', headers: { ...FORM, cookie: jar.header() }, payload: form({ logout: 'yes', csrf_token: 'wrong' }) });
  t.equal(forged.statusCode, 403);
  t.strictSame(ended, []);

  const confirmed = await app.inject({
    method: 'POST',
    url: '/oauth/logout',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ logout: 'yes', csrf_token: readCsrfToken(page.body) }),
  });
  t.equal(confirmed.statusCode, 303);
  t.equal(confirmed.headers.location, `${LOGOUT_URI}?state=s2`);
  t.strictSame(ended, ['alice']);
});

t.test('openid-configuration: served at the mount root with the plugin paths', async (t) => {
  const { app } = await setup(t);
  const response = await app.inject({ method: 'GET', url: '/.well-known/openid-configuration' });
  t.equal(response.statusCode, 200);
  t.match(response.json(), {
    issuer: ISSUER,
    userinfo_endpoint: `${ISSUER}/oauth/userinfo`,
    end_session_endpoint: `${ISSUER}/oauth/logout`,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    code_challenge_methods_supported: ['S256'],
    jwks_uri: `${ISSUER}/oauth/jwks.json`,
  });
  t.strictSame(app.oauth.paths.openid, {
    userinfo: '/oauth/userinfo',
    endSession: '/oauth/logout',
    configuration: '/.well-known/openid-configuration',
  });
  const posted = await app.inject({ method: 'POST', url: '/.well-known/openid-configuration' });
  t.equal(posted.statusCode, 405);
});

t.test('the openid option needs endSession with the browser endpoints', async (t) => {
  await t.rejects(
    buildTestApp({ plugin: { secretKey: SECRET_KEY, signingKeys: { algorithms: ['RS256'] }, openid: { findAccount: () => null } } }),
    { code: 'FST_PORTCULLIS_INVALID_OPTION', message: /endSession is required/ },
  );
});
