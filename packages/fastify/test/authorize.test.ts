import { createHash, randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { basicAuth, buildTestApp, CookieJar, FORM, form, ISSUER, readCsrfToken } from './helpers.js';

const REDIRECT_URI = 'https://client.example/callback';

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

async function setup(t: Test, plugin: Parameters<typeof buildTestApp>[0] = {}) {
  const built = await buildTestApp(plugin);
  t.teardown(built.close);
  const { client, clientSecret } = await built.app.oauth.registerClient({
    name: 'Polls <Mobile> & "Co"',
    redirectUris: [REDIRECT_URI],
    scopes: ['read', 'polls:vote', 'polls:results'],
  });
  return { ...built, client, clientSecret: clientSecret! };
}

/** The challenge of requests whose code is never exchanged: OAuth 2.1 asks every code request for one. */
const ANY_CHALLENGE = pkce().challenge;

function authorizeUrl(clientId: string, extra: Record<string, string> = {}): string {
  return `/oauth/authorize?${new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: 'read polls:vote',
    state: 'xyz',
    code_challenge: ANY_CHALLENGE,
    code_challenge_method: 'S256',
    ...extra,
  })}`;
}

/** Logs the jar in as `user`. */
async function login(app: FastifyInstance, jar: CookieJar, user = 'alice'): Promise<void> {
  const response = await app.inject({ method: 'POST', url: `/login?user=${user}`, headers: { cookie: jar.header() } });
  jar.store(response);
}

t.test('anonymous user: the pending request goes to the session and the browser to the login page', async (t) => {
  const { app, client } = await setup(t);
  const jar = new CookieJar();
  const url = authorizeUrl(client.id);
  const response = await app.inject({ method: 'GET', url });
  jar.store(response);
  t.equal(response.statusCode, 302);
  t.equal(response.headers.location, `/login?next=${encodeURIComponent(url)}`);
  t.equal(response.headers['cache-control'], 'no-store');
  t.ok(response.cookies.some((cookie) => cookie.name === 'sid'), 'a session was started');

  await login(app, jar);
  // Back without the query: the request kept in the session is resumed.
  const resumed = await app.inject({ method: 'GET', url: '/oauth/authorize', headers: { cookie: jar.header() } });
  t.equal(resumed.statusCode, 200);
  t.match(resumed.body, /Polls &lt;Mobile&gt; &amp; &quot;Co&quot;/);
});

t.test('consent page: escaped, framing forbidden, CSRF token, scope descriptions', async (t) => {
  const { app, client } = await setup(t);
  const jar = new CookieJar();
  await login(app, jar);
  const response = await app.inject({ method: 'GET', url: authorizeUrl(client.id), headers: { cookie: jar.header() } });
  t.equal(response.statusCode, 200);
  t.match(response.headers['content-type'], /^text\/html; charset=utf-8/);
  t.equal(response.headers['x-frame-options'], 'DENY');
  t.equal(
    response.headers['content-security-policy'],
    "frame-ancestors 'none'; default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https://client.example",
  );
  t.equal(response.headers['cache-control'], 'no-store');
  t.notMatch(response.body, /<Mobile>/, 'the client name is escaped');
  t.match(response.body, /Polls &lt;Mobile&gt; &amp; &quot;Co&quot;/);
  t.match(response.body, /<p>You will be sent back to <strong>client\.example<\/strong>\.<\/p>/, 'the redirect host beside the client name');
  t.match(response.body, /Vote in polls &lt;for you&gt;/, 'descriptions are escaped');
  t.match(response.body, /Read your data/);
  t.match(response.body, /name="granted_scope" value="polls:vote" checked/);
  t.match(response.body, /<form method="post" action="\/oauth\/authorize">/);
  t.match(response.body, /name="decision" value="approve"/);
  t.match(response.body, /name="decision" value="deny"/);
  t.ok(readCsrfToken(response.body).length >= 43);
});

t.test('approve: 303 to the client with a code that the token endpoint exchanges', async (t) => {
  const { app, client, clientSecret, storage } = await setup(t);
  const jar = new CookieJar();
  await login(app, jar);
  const { verifier, challenge } = pkce();
  const page = await app.inject({
    method: 'GET',
    url: authorizeUrl(client.id, { code_challenge: challenge, code_challenge_method: 'S256' }),
    headers: { cookie: jar.header() },
  });
  jar.store(page);
  const csrf = readCsrfToken(page.body);
  const decided = await app.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'approve', csrf_token: csrf }),
  });
  jar.store(decided);
  t.equal(decided.statusCode, 303);
  t.equal(decided.headers['cache-control'], 'no-store');
  const location = new URL(decided.headers.location as string);
  t.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
  t.equal(location.searchParams.get('state'), 'xyz');
  t.equal(location.searchParams.get('iss'), ISSUER);
  const code = location.searchParams.get('code')!;
  t.match(code, /^pcc_/);
  const codes = await storage.listAuthorizationCodes({ clientId: client.id });
  t.equal(codes.length, 1);
  t.equal(codes[0]!.userId, 'alice');
  t.same(codes[0]!.scope, ['read', 'polls:vote']);

  const token = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { ...FORM, authorization: basicAuth(client.id, clientSecret) },
    payload: form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }),
  });
  t.equal(token.statusCode, 200);
  t.match(token.json(), { token_type: 'Bearer', scope: 'read polls:vote' });
  t.match(token.json().refresh_token, /^pcr_/);

  // The form is single use.
  const replay = await app.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'approve', csrf_token: csrf }),
  });
  t.equal(replay.statusCode, 400);
  t.match(replay.headers['content-type'], /^text\/html/);
  t.match(replay.body, /No authorization request is waiting/);
  t.equal((await storage.listAuthorizationCodes({ clientId: client.id })).length, 1, 'no second code');
});

t.test('narrowing: only the ticked scopes are granted', async (t) => {
  const { app, client, storage } = await setup(t);
  const jar = new CookieJar();
  await login(app, jar);
  const page = await app.inject({ method: 'GET', url: authorizeUrl(client.id), headers: { cookie: jar.header() } });
  jar.store(page);
  const decided = await app.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'approve', csrf_token: readCsrfToken(page.body), narrow_scope: '1', granted_scope: ['read'] }),
  });
  t.equal(decided.statusCode, 303);
  t.ok(new URL(decided.headers.location as string).searchParams.get('code'));
  const codes = await storage.listAuthorizationCodes({ clientId: client.id });
  t.same(codes[0]!.scope, ['read']);
});

t.test('narrowing to nothing is a refusal', async (t) => {
  const { app, client, storage } = await setup(t);
  const jar = new CookieJar();
  await login(app, jar);
  const page = await app.inject({ method: 'GET', url: authorizeUrl(client.id), headers: { cookie: jar.header() } });
  jar.store(page);
  const decided = await app.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'approve', csrf_token: readCsrfToken(page.body), narrow_scope: '1' }),
  });
  t.equal(decided.statusCode, 303);
  t.equal(new URL(decided.headers.location as string).searchParams.get('error'), 'access_denied');
  t.equal((await storage.listAuthorizationCodes({ clientId: client.id })).length, 0);
});

t.test('deny: access_denied back to the client, no code', async (t) => {
  const { app, client, storage } = await setup(t);
  const jar = new CookieJar();
  await login(app, jar);
  const page = await app.inject({ method: 'GET', url: authorizeUrl(client.id), headers: { cookie: jar.header() } });
  jar.store(page);
  const decided = await app.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'deny', csrf_token: readCsrfToken(page.body) }),
  });
  t.equal(decided.statusCode, 303);
  const location = new URL(decided.headers.location as string);
  t.equal(location.searchParams.get('error'), 'access_denied');
  t.equal(location.searchParams.get('state'), 'xyz');
  t.equal((await storage.listAuthorizationCodes({ clientId: client.id })).length, 0);
});

t.test('a wrong or missing CSRF token is refused with 403 and changes nothing', async (t) => {
  const { app, client, storage } = await setup(t);
  const jar = new CookieJar();
  await login(app, jar);
  const page = await app.inject({ method: 'GET', url: authorizeUrl(client.id), headers: { cookie: jar.header() } });
  jar.store(page);
  const csrf = readCsrfToken(page.body);
  const forged: Record<string, string>[] = [{ decision: 'approve', csrf_token: `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}` }, { decision: 'approve' }];
  for (const payload of forged) {
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/authorize',
      headers: { ...FORM, cookie: jar.header() },
      payload: form(payload),
    });
    t.equal(response.statusCode, 403);
    t.equal(response.headers['x-frame-options'], 'DENY');
    t.match(response.body, /The consent form has expired/);
  }
  // The pending request survives the forgery: the real form still works.
  const real = await app.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'approve', csrf_token: csrf }),
  });
  t.equal(real.statusCode, 303);
  t.equal((await storage.listAuthorizationCodes({ clientId: client.id })).length, 1);
});

t.test('a decision from another user, or without a session, is refused', async (t) => {
  const { app, client, storage } = await setup(t);
  const jar = new CookieJar();
  await login(app, jar, 'alice');
  const page = await app.inject({ method: 'GET', url: authorizeUrl(client.id), headers: { cookie: jar.header() } });
  jar.store(page);
  const csrf = readCsrfToken(page.body);
  await login(app, jar, 'mallory');
  const switched = await app.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'approve', csrf_token: csrf }),
  });
  t.equal(switched.statusCode, 403);
  t.match(switched.body, /not the one who was asked/);
  const sessionless = await app.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: FORM,
    payload: form({ decision: 'approve', csrf_token: csrf }),
  });
  t.equal(sessionless.statusCode, 400);
  t.match(sessionless.headers['content-type'], /^text\/html/);
  t.equal((await storage.listAuthorizationCodes({ clientId: client.id })).length, 0);
});

t.test('an unknown client or unregistered redirect URI shows an error page, never redirects', async (t) => {
  const { app, client } = await setup(t);
  const unknown = await app.inject({ method: 'GET', url: authorizeUrl('nobody') });
  t.equal(unknown.statusCode, 400);
  t.equal(unknown.headers.location, undefined);
  t.match(unknown.headers['content-type'], /^text\/html/);
  t.equal(unknown.headers['x-frame-options'], 'DENY');
  t.match(unknown.body, /invalid_client/);
  const badRedirect = await app.inject({
    method: 'GET',
    url: authorizeUrl(client.id, { redirect_uri: 'https://evil.example/callback' }),
  });
  t.equal(badRedirect.statusCode, 400);
  t.equal(badRedirect.headers.location, undefined);
  t.match(badRedirect.body, /invalid_request/);
  t.match(badRedirect.body, /redirect_uri does not match/);
});

t.test('other methods on the authorize endpoint: 405 on the error page', async (t) => {
  const { app, client } = await setup(t);
  const response = await app.inject({ method: 'DELETE', url: authorizeUrl(client.id) });
  t.equal(response.statusCode, 405);
  t.equal(response.headers.allow, 'GET, POST');
  t.match(response.headers['content-type'], /^text\/html/);
  t.match(response.body, /invalid_request/);
});

t.test('errors after the client is trusted go back to the client', async (t) => {
  const { app, client } = await setup(t);
  const response = await app.inject({ method: 'GET', url: authorizeUrl(client.id, { scope: 'admin' }) });
  t.equal(response.statusCode, 302);
  const location = new URL(response.headers.location as string);
  t.equal(location.searchParams.get('error'), 'invalid_scope');
  t.equal(location.searchParams.get('state'), 'xyz');
  const unsupported = await app.inject({ method: 'GET', url: authorizeUrl(client.id, { response_type: 'id_token' }) });
  t.equal(new URL(unsupported.headers.location as string).searchParams.get('error'), 'unsupported_response_type');
});

t.test('an authorization request sent as a POST form works too (303 to login)', async (t) => {
  const { app, client } = await setup(t);
  const jar = new CookieJar();
  const response = await app.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: FORM,
    payload: form({ response_type: 'code', client_id: client.id, redirect_uri: REDIRECT_URI, scope: 'read', code_challenge: ANY_CHALLENGE, code_challenge_method: 'S256' }),
  });
  jar.store(response);
  t.equal(response.statusCode, 303);
  t.equal(response.headers.location, `/login?next=${encodeURIComponent('/oauth/authorize')}`);
  await login(app, jar);
  const page = await app.inject({ method: 'GET', url: '/oauth/authorize', headers: { cookie: jar.header() } });
  t.equal(page.statusCode, 200);
  t.match(page.body, /<code>read<\/code>/);
});

t.test('a JSON body or a bad decision on the authorize endpoint is an HTML invalid_request page', async (t) => {
  const { app } = await setup(t);
  const json = await app.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: { 'content-type': 'application/json' },
    payload: '{"decision":"approve"}',
  });
  t.equal(json.statusCode, 400);
  t.match(json.headers['content-type'], /^text\/html/);
  t.match(json.body, /invalid_request/);
  const badDecision = await app.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: FORM,
    payload: form({ decision: 'maybe' }),
  });
  t.equal(badDecision.statusCode, 400);
  t.match(badDecision.body, /invalid_request/);
});

t.test('loginUrl as a function, renderConsent of the application, custom sessionKey', async (t) => {
  const seen: unknown[] = [];
  const { app, client } = await setup(t, {
    plugin: {
      sessionKey: 'oauthPending',
      loginUrl: (_request, returnTo) => `/signin?return=${encodeURIComponent(returnTo)}&from=oauth`,
      renderConsent: (_request, reply, context) => {
        seen.push(context);
        return reply.send(`<p>custom ${context.scopes.map((scope) => scope.name).join(',')} ${context.csrfToken}</p>`);
      },
    },
  });
  const anonymous = await app.inject({ method: 'GET', url: authorizeUrl(client.id) });
  t.equal(anonymous.statusCode, 302);
  t.equal(anonymous.headers.location, `/signin?return=${encodeURIComponent(authorizeUrl(client.id))}&from=oauth`);
  const jar = new CookieJar();
  await login(app, jar);
  const page = await app.inject({ method: 'GET', url: authorizeUrl(client.id), headers: { cookie: jar.header() } });
  jar.store(page);
  t.equal(page.statusCode, 200);
  t.equal(page.headers['x-frame-options'], 'DENY', 'security headers are set before renderConsent');
  t.match(page.body, /^<p>custom read,polls:vote \S+<\/p>$/);
  t.match(seen[0], {
    action: '/oauth/authorize',
    user: { id: 'alice' },
    scopes: [
      { name: 'read', description: 'Read your data' },
      { name: 'polls:vote', description: 'Vote in polls <for you>' },
    ],
    fields: { decision: 'decision', csrfToken: 'csrf_token' },
    returnHost: 'client.example',
    authorizationRequest: { clientId: client.id, redirectUri: REDIRECT_URI, state: 'xyz' },
  });
  const csrf = (seen[0] as { csrfToken: string }).csrfToken;
  const decided = await app.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'approve', csrf_token: csrf }),
  });
  t.equal(decided.statusCode, 303);
  t.ok(new URL(decided.headers.location as string).searchParams.get('code'));
});

t.test('a loginUrl function gets returnTo in RFC 3986 characters; a Location it breaks is the error page', async (t) => {
  const seen: string[] = [];
  let suffix = '';
  const { app, client } = await setup(t, {
    plugin: {
      // Writes returnTo unencoded, as an application may.
      loginUrl: (_request, returnTo) => {
        seen.push(returnTo);
        return `/signin?return=${returnTo}${suffix}`;
      },
    },
  });
  const uriText = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;
  // URL parsing leaves `|`, `^`, `{`, `}`, backquote and backslash in a query as they are.
  const awkward = `${authorizeUrl(client.id)}&note=a|b^c{d}\`e\\f%zz`;
  const anonymous = await app.inject({ method: 'GET', url: awkward });
  t.equal(anonymous.statusCode, 302);
  t.match(seen[0], uriText, 'returnTo is percent-encoded where RFC 3986 asks');
  t.match(seen[0], /note=a%7Cb%5Ec%7Bd%7D%60e%5Cf%25zz$/);
  t.match(anonymous.headers.location, uriText);

  for (const broken of ['\u3002', '\r\nSet-Cookie: stolen=1', '"']) {
    suffix = broken;
    const response = await app.inject({ method: 'GET', url: authorizeUrl(client.id) });
    t.equal(response.statusCode, 500, `${encodeURI(broken)}: the server's fault`);
    t.equal(response.headers.location, undefined, 'no Location');
    t.match(response.headers['content-type'], /^text\/html/, 'the error page, not a framework body');
    t.match(response.body, /server_error/);
    t.notOk(response.cookies.some((cookie) => cookie.name === 'stolen'), 'no header smuggled in');
  }
});

t.test('a loginUrl string outside RFC 3986 characters is refused at registration', async (t) => {
  for (const loginUrl of ['/connexion\u3002', '/login?next=a b', '/login\r\n']) {
    await t.rejects(buildTestApp({ plugin: { loginUrl } }), { code: 'FST_PORTCULLIS_INVALID_OPTION' }, encodeURI(loginUrl));
  }
});

t.test('implicit grant: the token goes back in the fragment', async (t) => {
  const built = await buildTestApp({ plugin: { profile: 'oauth2.0' } });
  t.teardown(built.close);
  const { client } = await built.app.oauth.registerClient({
    name: 'Single page',
    type: 'public',
    grantTypes: ['implicit'],
    redirectUris: ['com.example.app:/callback'],
    scopes: ['read'],
  });
  const jar = new CookieJar();
  await login(built.app, jar);
  const url = `/oauth/authorize?${new URLSearchParams({ response_type: 'token', client_id: client.id, scope: 'read', state: 's1' })}`;
  const page = await built.app.inject({ method: 'GET', url, headers: { cookie: jar.header() } });
  jar.store(page);
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-security-policy'], /form-action 'self' com\.example\.app:$/);
  t.match(page.body, /You will be sent back to <strong>com\.example\.app:<\/strong>/, 'an app is named by its scheme');
  const decided = await built.app.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'approve', csrf_token: readCsrfToken(page.body) }),
  });
  t.equal(decided.statusCode, 303);
  const location = new URL(decided.headers.location as string);
  t.equal(location.search, '');
  const fragment = new URLSearchParams(location.hash.slice(1));
  t.match(fragment.get('access_token'), /^pca_/);
  t.equal(fragment.get('token_type'), 'Bearer');
  t.equal(fragment.get('state'), 's1');
  t.equal((await built.storage.listAccessTokens({ clientId: client.id })).length, 1);
});
