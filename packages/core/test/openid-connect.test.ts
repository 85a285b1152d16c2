// OpenID Connect Core 1.0 in the core: ID tokens on the code flow and on refresh, prompt,
// max_age and id_token_hint, UserInfo, RP-initiated logout and Discovery, each refusal checked
// for its error and for what it left unchanged.
import t from 'tap';
import { createHash } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import type { AuthorizationRequest, OpenIdOptions, SigningKeysOptions } from '../src/index.js';
import {
  bodyOf,
  CHALLENGE,
  countRows,
  createAuthorizeRequest,
  createFixture,
  createFormRequest,
  ISSUER,
  REDIRECT_URI,
  registerTestClient,
  START,
  tokenRequest,
  VERIFIER,
  type Fixture,
} from './oauth2-fixtures.js';

const LOGOUT_URI = 'https://client.example.com/signed-out';
const SECRET_KEY = 'a'.repeat(64);

/** The server's own key ring signs: RS256, which OpenID Connect requires, beside ES256. */
const SIGNING_KEYS = { algorithms: ['ES256' as const, 'RS256' as const] };

const ACCOUNTS: Record<string, Record<string, unknown>> = {
  'user-1': { name: 'Alice Liddell', preferred_username: 'alice', email: 'alice@example.com', email_verified: true, phone_number: '+1 555 0100' },
  'user-2': { name: 'Bob', preferred_username: 'bob' },
};

async function setup(openid: Partial<OpenIdOptions> = {}, signingKeys: SigningKeysOptions = SIGNING_KEYS) {
  const fixture = createFixture({
    secretKey: SECRET_KEY,
    signingKeys,
    openid: { findAccount: (userId) => ACCOUNTS[userId] ?? null, ...openid },
  });
  const client = await registerTestClient(fixture, {
    scopes: ['read', 'openid', 'profile', 'email'],
    postLogoutRedirectUris: [LOGOUT_URI],
  });
  const jwks = createLocalJWKSet(await fixture.server.signingKeys!.publicJwks());
  const base = {
    response_type: 'code',
    client_id: client.client.id,
    redirect_uri: REDIRECT_URI,
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    state: 'xyz',
  };
  return { fixture, client, jwks, base };
}

async function pending(fixture: Fixture, query: Record<string, string>): Promise<AuthorizationRequest> {
  const result = await fixture.server.validateAuthorizationRequest(createAuthorizeRequest(query));
  if (result.kind !== 'consent') throw new Error(`expected consent, got ${JSON.stringify(result)}`);
  return result.request;
}

function redirectParams(result: { kind: string; location?: string }): URLSearchParams {
  if (result.kind !== 'redirect' || result.location === undefined) throw new Error(`expected a redirect, got ${JSON.stringify(result)}`);
  return new URL(result.location).searchParams;
}

function atHash(token: string): string {
  return createHash('sha256').update(token).digest().subarray(0, 16).toString('base64url');
}

t.test('code flow: the ID token carries iss, sub, aud, exp, iat, auth_time, nonce and at_hash; refresh repeats auth_time', async (t) => {
  const { fixture, client, jwks, base } = await setup();
  const authTime = new Date(START.getTime() - 30_000);
  const request = await pending(fixture, { ...base, scope: 'openid email', nonce: 'n-0S6_WzA2Mj' });
  t.strictSame(request.openid, { nonce: 'n-0S6_WzA2Mj', prompt: [], maxAge: null, loginHint: null, hintSubject: null, requestedAt: START.getTime() });
  const done = await fixture.server.completeAuthorization(request, { userId: 'user-1', approved: true, authTime });
  const code = redirectParams(done).get('code')!;
  const stored = fixture.storage.snapshot().authorizationCodes[0]!;
  t.equal(stored.nonce, 'n-0S6_WzA2Mj', 'the code keeps the nonce');
  t.strictSame(stored.authTime, authTime, 'and the authentication time');

  const response = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  );
  t.equal(response.status, 200);
  const body = bodyOf(response);
  t.type(body.id_token, 'string');
  t.equal(decodeProtectedHeader(body.id_token as string).alg, 'RS256', 'RS256 by default');
  const { payload } = await jwtVerify(body.id_token as string, jwks, { issuer: ISSUER, audience: client.client.id, currentDate: START });
  t.strictSame(payload, {
    iss: ISSUER,
    sub: 'user-1',
    aud: client.client.id,
    exp: START.getTime() / 1000 + 3600,
    iat: START.getTime() / 1000,
    auth_time: authTime.getTime() / 1000,
    nonce: 'n-0S6_WzA2Mj',
    at_hash: atHash(body.access_token as string),
  }, 'no user claims: those come from UserInfo');

  fixture.clock.advance(600);
  const refreshed = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'refresh_token', refresh_token: body.refresh_token as string }));
  t.equal(refreshed.status, 200);
  const again = bodyOf(refreshed);
  const { payload: second } = await jwtVerify(again.id_token as string, jwks, { issuer: ISSUER, audience: client.client.id, currentDate: fixture.clock.now });
  t.equal(second.sub, 'user-1');
  t.equal(second.auth_time, authTime.getTime() / 1000, 'section 12.2: the original auth_time');
  t.equal(second.iat, START.getTime() / 1000 + 600, 'issued now');
  t.equal(second.nonce, undefined, 'no nonce on refresh');
  t.equal(second.at_hash, atHash(again.access_token as string));

  const narrowed = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'refresh_token', refresh_token: again.refresh_token as string, scope: 'email' }));
  t.equal(narrowed.status, 200);
  t.equal(bodyOf(narrowed).id_token, undefined, 'a refresh narrowed away from openid gets no ID token');
});

t.test('an ID token lives at most as long as its key stays published', async (t) => {
  const { fixture, client, jwks, base } = await setup({ idTokenTtl: 3600 }, { ...SIGNING_KEYS, maxTokenLifetime: 900 });
  const request = await pending(fixture, { ...base, scope: 'openid' });
  const done = await fixture.server.completeAuthorization(request, { userId: 'user-1', approved: true });
  const response = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code: redirectParams(done).get('code')!, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  );
  const { payload } = await jwtVerify(bodyOf(response).id_token as string, jwks, { currentDate: START });
  t.equal(payload.exp! - payload.iat!, 900, 'cut from idTokenTtl to signingKeys.maxTokenLifetime');
});

t.test('a plain OAuth request gets no ID token and no OpenID Connect checks', async (t) => {
  const { fixture, client, base } = await setup();
  const request = await pending(fixture, { ...base, scope: 'read', prompt: 'select_account', nonce: '' });
  t.equal(request.openid, undefined);
  const code = redirectParams(await fixture.server.completeAuthorization(request, { userId: 'user-1', approved: true })).get('code')!;
  const response = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  );
  t.equal(response.status, 200);
  t.notOk('id_token' in bodyOf(response));
});

t.test('a request naming no scope gets the client\'s scopes without openid: plain OAuth', async (t) => {
  const { fixture, base } = await setup();
  const request = await pending(fixture, { ...base, prompt: 'none' });
  t.strictSame(request.scope, ['read', 'profile', 'email']);
  t.equal(request.openid, undefined, 'no OpenID Connect rules');
});

t.test('refused authentication requests go back to the client by redirect and store nothing', async (t) => {
  const { fixture, base } = await setup();
  const before = countRows(fixture.storage);
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ nonce: 'x'.repeat(513) }, 'invalid_request', /nonce/],
    [{ prompt: 'select_account' }, 'invalid_request', /select_account is not supported/],
    [{ prompt: 'none login' }, 'invalid_request', /prompt=none cannot be combined/],
    [{ prompt: 'sometimes' }, 'invalid_request', /prompt value/],
    [{ max_age: '-1' }, 'invalid_request', /max_age/],
    [{ max_age: 'soon' }, 'invalid_request', /max_age/],
    [{ request: 'eyJhbGciOiJub25lIn0.e30.' }, 'request_not_supported', /Request objects/],
    [{ request_uri: 'https://client.example.com/r' }, 'request_uri_not_supported', /request_uri/],
    [{ id_token_hint: 'not-a-jwt' }, 'invalid_request', /id_token_hint/],
  ];
  for (const [extra, error, description] of cases) {
    const result = await fixture.server.validateAuthorizationRequest(createAuthorizeRequest({ ...base, scope: 'openid', ...extra }));
    const params = redirectParams(result);
    t.equal(params.get('error'), error, JSON.stringify(extra));
    t.match(params.get('error_description'), description);
    t.equal(params.get('state'), 'xyz');
    t.equal(params.get('iss'), ISSUER);
  }
  const repeated = await fixture.server.validateAuthorizationRequest(createAuthorizeRequest({ ...base, scope: 'openid', nonce: ['a', 'b'] as unknown as string }));
  t.equal(redirectParams(repeated).get('error'), 'invalid_request', 'a repeated nonce');
  const { redirect_uri: _omitted, ...noRedirect } = base;
  const missing = await fixture.server.validateAuthorizationRequest(createAuthorizeRequest({ ...noRedirect, scope: 'openid' }));
  t.match(redirectParams(missing).get('error_description'), /must send redirect_uri/, 'OpenID Connect requires redirect_uri');
  t.strictSame(countRows(fixture.storage), before, 'nothing stored');
});

t.test('prompt=none answers by redirect: login_required without a user, consent_required without a grant, a code with one', async (t) => {
  const { fixture, client, base } = await setup();
  const request = await pending(fixture, { ...base, scope: 'openid profile', prompt: 'none', nonce: 'n1' });

  const anonymous = await fixture.server.resolveInteraction(request, null);
  const params = redirectParams(anonymous);
  t.equal(params.get('error'), 'login_required');
  t.equal(params.get('state'), 'xyz');
  t.equal(params.get('iss'), ISSUER);

  const user = { id: 'user-1', authTime: new Date(START.getTime() - 5000) };
  const noGrant = await fixture.server.resolveInteraction(request, user);
  t.equal(redirectParams(noGrant).get('error'), 'consent_required');
  t.equal(fixture.storage.snapshot().authorizationCodes.length, 0, 'no code');

  // The user approved the client once: its live tokens cover the scope.
  const first = await pending(fixture, { ...base, scope: 'openid profile' });
  const code = redirectParams(await fixture.server.completeAuthorization(first, { userId: 'user-1', approved: true, authTime: user.authTime })).get('code')!;
  t.equal((await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }))).status, 200);

  const silent = await fixture.server.resolveInteraction(request, user);
  const answer = redirectParams(silent);
  t.type(answer.get('code'), 'string', 'a code, without asking');
  t.equal(answer.get('state'), 'xyz');
  const stored = fixture.storage.snapshot().authorizationCodes.find((row) => row.consumedAt === null)!;
  t.equal(stored.nonce, 'n1');
  t.strictSame(stored.authTime, user.authTime);

  const wider = await pending(fixture, { ...base, scope: 'openid profile email', prompt: 'none' });
  t.equal(redirectParams(await fixture.server.resolveInteraction(wider, user)).get('error'), 'consent_required', 'more scope than granted');
});

t.test('prompt=login and max_age ask for a new login once, then refuse with login_required', async (t) => {
  const { fixture, base } = await setup();
  const stale = { id: 'user-1', authTime: new Date(START.getTime() - 3600_000) };
  const login = await pending(fixture, { ...base, scope: 'openid', prompt: 'login', login_hint: 'alice' });
  t.strictSame(await fixture.server.resolveInteraction(login, stale), { kind: 'login', force: true, loginHint: 'alice' });
  t.strictSame(await fixture.server.resolveInteraction(login, null), { kind: 'login', force: false, loginHint: 'alice' });
  const fresh = { id: 'user-1', authTime: new Date(START.getTime() + 1000) };
  t.strictSame(await fixture.server.resolveInteraction(login, fresh, { loginAsked: true }), { kind: 'consent' }, 'a login after the request satisfies it');
  const refused = await fixture.server.resolveInteraction(login, stale, { loginAsked: true });
  t.equal(redirectParams(refused).get('error'), 'login_required', 'asked once already');

  const maxAge = await pending(fixture, { ...base, scope: 'openid', max_age: '60' });
  t.strictSame(await fixture.server.resolveInteraction(maxAge, stale), { kind: 'login', force: true, loginHint: null });
  t.strictSame(await fixture.server.resolveInteraction(maxAge, { id: 'user-1' }), { kind: 'login', force: true, loginHint: null }, 'an unknown auth time is too old');
  t.strictSame(await fixture.server.resolveInteraction(maxAge, { id: 'user-1', authTime: new Date(START.getTime() - 30_000) }), { kind: 'consent' });
  const silent = await pending(fixture, { ...base, scope: 'openid', max_age: '60', prompt: 'none' });
  t.equal(redirectParams(await fixture.server.resolveInteraction(silent, stale)).get('error'), 'login_required');
});

t.test('id_token_hint: verified against our keys; another user signed in must log in again', async (t) => {
  const { fixture, client, base } = await setup();
  const request = await pending(fixture, { ...base, scope: 'openid' });
  const code = redirectParams(await fixture.server.completeAuthorization(request, { userId: 'user-1', approved: true })).get('code')!;
  const tokens = bodyOf(await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER })));
  const idToken = tokens.id_token as string;

  fixture.clock.advance(7200);
  const hinted = await pending(fixture, { ...base, scope: 'openid', id_token_hint: idToken });
  t.equal(hinted.openid?.hintSubject, 'user-1', 'an expired ID token is still a hint');
  const now = fixture.clock.now;
  t.strictSame(await fixture.server.resolveInteraction(hinted, { id: 'user-1', authTime: now }), { kind: 'consent' });
  t.strictSame(await fixture.server.resolveInteraction(hinted, { id: 'user-2', authTime: now }), { kind: 'login', force: true, loginHint: null });
  const silent = await pending(fixture, { ...base, scope: 'openid', id_token_hint: idToken, prompt: 'none' });
  t.equal(redirectParams(await fixture.server.resolveInteraction(silent, { id: 'user-2', authTime: now })).get('error'), 'login_required');

  const forged = await new SignJWT({ sub: 'user-2', aud: client.client.id, iss: ISSUER })
    .setProtectedHeader({ alg: 'RS256', kid: 'forged' })
    .sign((await generateKeyPair('RS256')).privateKey);
  const refused = await fixture.server.validateAuthorizationRequest(createAuthorizeRequest({ ...base, scope: 'openid', id_token_hint: forged }));
  t.match(redirectParams(refused).get('error_description'), /not an ID token this server issued/, 'another key');
  const other = await registerTestClient(fixture, { scopes: ['openid'] });
  const elsewhere = await fixture.server.validateAuthorizationRequest(createAuthorizeRequest({ ...base, client_id: other.client.id, scope: 'openid', id_token_hint: idToken }));
  t.match(redirectParams(elsewhere).get('error_description'), /issued to another client/);
});

t.test('UserInfo: the claims the scopes allow, RFC 6750 errors otherwise', async (t) => {
  const { fixture, client } = await setup();
  const issue = (scope: string[], userId: string | null = 'user-1') => fixture.server.issueTokens({ clientId: client.client.id, userId, scope });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  const withEmail = await issue(['openid', 'email']);
  const ok = await fixture.server.handleUserInfoRequest(createFormRequest('/oauth/userinfo', undefined, bearer(withEmail.access_token), { method: 'GET' }));
  t.equal(ok.status, 200);
  t.equal(ok.headers['cache-control'], 'no-store');
  t.strictSame(ok.body, { sub: 'user-1', email: 'alice@example.com', email_verified: true });

  const withProfile = await issue(['openid', 'profile']);
  const posted = await fixture.server.handleUserInfoRequest(createFormRequest('/oauth/userinfo', { access_token: withProfile.access_token }));
  t.strictSame(posted.body, { sub: 'user-1', name: 'Alice Liddell', preferred_username: 'alice' }, 'POST with the token in the body; no phone without the phone scope');

  const plain = await issue(['read']);
  const insufficient = await fixture.server.handleUserInfoRequest(createFormRequest('/oauth/userinfo', undefined, bearer(plain.access_token), { method: 'GET' }));
  t.equal(insufficient.status, 403);
  t.equal(bodyOf(insufficient).error, 'insufficient_scope');
  t.match(insufficient.headers['www-authenticate'], /^Bearer realm="https:\/\/auth\.example\.com", error="insufficient_scope", .*scope="openid"/);

  const none = await fixture.server.handleUserInfoRequest(createFormRequest('/oauth/userinfo', undefined, {}, { method: 'GET' }));
  t.equal(none.status, 401);
  t.equal(none.headers['www-authenticate'], `Bearer realm="${ISSUER}"`, 'no error code when no credentials were sent');

  const bad = await fixture.server.handleUserInfoRequest(createFormRequest('/oauth/userinfo', undefined, bearer('nope'), { method: 'GET' }));
  t.equal(bad.status, 401);
  t.match(bad.headers['www-authenticate'], /error="invalid_token"/);

  const both = await fixture.server.handleUserInfoRequest(createFormRequest('/oauth/userinfo', { access_token: withEmail.access_token }, bearer(withEmail.access_token)));
  t.equal(both.status, 400);
  t.match(both.headers['www-authenticate'], /error="invalid_request"/);

  const put = await fixture.server.handleUserInfoRequest(createFormRequest('/oauth/userinfo', undefined, bearer(withEmail.access_token), { method: 'PUT' }));
  t.equal(put.status, 405);
  t.equal(put.headers.allow, 'GET, POST');

  const gone = await issue(['openid'], 'user-gone');
  const missing = await fixture.server.handleUserInfoRequest(createFormRequest('/oauth/userinfo', undefined, bearer(gone.access_token), { method: 'GET' }));
  t.equal(missing.status, 401, 'an account that no longer exists');
});

t.test('pairwise subjects: stable per sector, never the user id, the same in the ID token and UserInfo', async (t) => {
  const { fixture, client, jwks, base } = await setup({ subjectType: 'pairwise' });
  const other = await registerTestClient(fixture, { scopes: ['openid'], redirectUris: ['https://other.example.org/cb'] });
  const sameHost = await registerTestClient(fixture, { scopes: ['openid'], redirectUris: ['https://client.example.com/other-cb'] });
  const request = await pending(fixture, { ...base, scope: 'openid' });
  const code = redirectParams(await fixture.server.completeAuthorization(request, { userId: 'user-1', approved: true })).get('code')!;
  const tokens = bodyOf(await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER })));
  const { payload } = await jwtVerify(tokens.id_token as string, jwks, { currentDate: START });
  t.not(payload.sub, 'user-1');
  t.match(payload.sub, /^[A-Za-z0-9_-]{43}$/);
  const userinfo = await fixture.server.handleUserInfoRequest(createFormRequest('/oauth/userinfo', undefined, { authorization: `Bearer ${tokens.access_token as string}` }, { method: 'GET' }));
  t.equal(bodyOf(userinfo).sub, payload.sub);

  const subOf = async (clientId: string) => {
    const issued = await fixture.server.issueTokens({ clientId, userId: 'user-1', scope: ['openid'] });
    return bodyOf(await fixture.server.handleUserInfoRequest(createFormRequest('/oauth/userinfo', undefined, { authorization: `Bearer ${issued.access_token}` }, { method: 'GET' }))).sub;
  };
  t.equal(await subOf(sameHost.client.id), payload.sub, 'the same sector, the same subject');
  t.not(await subOf(other.client.id), payload.sub, 'another sector, another subject');
  t.equal(bodyOf(fixture.server.getOpenIdConfiguration()).subject_types_supported?.toString(), 'pairwise');
  t.throws(() => createFixture({ openid: { findAccount: () => null, subjectType: 'pairwise' } }), /signingKeys/, 'no keys');
  t.throws(() => createFixture({ secretKey: SECRET_KEY, signingKeys: {}, openid: { findAccount: () => null } }), /RS256 among options\.signingKeys\.algorithms/);
});

t.test('RP-initiated logout: the registered post_logout_redirect_uri only, state returned, confirmation unless proven', async (t) => {
  const { fixture, client, base } = await setup();
  const request = await pending(fixture, { ...base, scope: 'openid' });
  const code = redirectParams(await fixture.server.completeAuthorization(request, { userId: 'user-1', approved: true })).get('code')!;
  const idToken = bodyOf(await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }))).id_token as string;
  const logout = (query: Record<string, string>, userId: string | null) =>
    fixture.server.validateEndSessionRequest(createAuthorizeRequest(query), userId);

  t.strictSame(await logout({ id_token_hint: idToken, post_logout_redirect_uri: LOGOUT_URI, state: 's1' }, 'user-1'), {
    kind: 'logout',
    clientId: client.client.id,
    clientName: 'Test client',
    confirm: false,
    location: `${LOGOUT_URI}?state=s1`,
  });
  t.match(await logout({ id_token_hint: idToken }, 'user-2'), { kind: 'logout', confirm: true, location: null }, 'the hint names someone else');
  t.match(await logout({ client_id: client.client.id, post_logout_redirect_uri: LOGOUT_URI }, 'user-1'), { kind: 'logout', confirm: true }, 'no hint: ask');
  t.match(await logout({}, null), { kind: 'logout', confirm: false, location: null }, 'nobody signed in');

  const refusals: [Record<string, string>, RegExp][] = [
    [{ id_token_hint: idToken, post_logout_redirect_uri: 'https://client.example.com/elsewhere' }, /not registered/],
    [{ post_logout_redirect_uri: LOGOUT_URI }, /needs the client named/],
    [{ id_token_hint: 'garbage' }, /not an ID token this server issued/],
    [{ client_id: 'unknown', post_logout_redirect_uri: LOGOUT_URI }, /unknown or disabled/],
    [{ id_token_hint: idToken, client_id: 'someone-else' }, /not the audience/],
  ];
  for (const [query, description] of refusals) {
    const result = await logout(query, 'user-1');
    t.equal(result.kind, 'error', JSON.stringify(query));
    if (result.kind === 'error') {
      t.equal(result.status, 400);
      t.match(result.error.description, description);
    }
  }
  const put = await fixture.server.validateEndSessionRequest({ ...createAuthorizeRequest({}), method: 'PUT' }, null);
  t.match(put, { kind: 'error', status: 405 });
});

t.test('Discovery: the OpenID Connect fields beside the RFC 8414 ones', async (t) => {
  const { fixture } = await setup();
  const response = fixture.server.getOpenIdConfiguration();
  t.equal(response.status, 200);
  const document = bodyOf(response);
  t.match(document, {
    issuer: ISSUER,
    authorization_endpoint: `${ISSUER}/oauth/authorize`,
    token_endpoint: `${ISSUER}/oauth/token`,
    userinfo_endpoint: `${ISSUER}/oauth/userinfo`,
    end_session_endpoint: `${ISSUER}/oauth/logout`,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256', 'ES256'],
    jwks_uri: `${ISSUER}/oauth/jwks.json`,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    request_parameter_supported: false,
  });
  for (const scope of ['openid', 'profile', 'email', 'address', 'phone']) t.ok((document.scopes_supported as string[]).includes(scope), scope);
  for (const claim of ['sub', 'email', 'name', 'auth_time', 'nonce']) t.ok((document.claims_supported as string[]).includes(claim), claim);
  t.strictSame(fixture.server.getMetadata().body, document, 'one document for both well-known paths');

  const plain = createFixture();
  t.equal(plain.server.getOpenIdConfiguration().status, 404);
  t.notOk('userinfo_endpoint' in bodyOf(plain.server.getMetadata()));
});

t.test('registration keeps post-logout redirect URIs, checked as redirect URIs are', async (t) => {
  const { fixture } = await setup();
  await t.rejects(registerTestClient(fixture, { postLogoutRedirectUris: ['javascript:alert(1)'] }), { error: 'invalid_request' } as unknown as Error);
  const response = await fixture.server.handleClientRegistration(createFormRequest('/oauth/register', undefined), {
    redirect_uris: [REDIRECT_URI],
    post_logout_redirect_uris: [LOGOUT_URI],
  });
  t.equal(response.status, 404, 'registration is off in this fixture');
  const open = createFixture({ secretKey: SECRET_KEY, signingKeys: SIGNING_KEYS, openid: { findAccount: () => null }, registration: { enabled: true } });
  const registered = await open.server.handleClientRegistration(createFormRequest('/oauth/register', undefined), {
    redirect_uris: [REDIRECT_URI],
    post_logout_redirect_uris: [LOGOUT_URI],
  });
  t.equal(registered.status, 201);
  t.strictSame(bodyOf(registered).post_logout_redirect_uris, [LOGOUT_URI]);
  const id = bodyOf(registered).client_id as string;
  t.strictSame((await open.storage.findClient(id))?.postLogoutRedirectUris, [LOGOUT_URI]);
  const refused = await open.server.handleClientRegistration(createFormRequest('/oauth/register', undefined), {
    redirect_uris: [REDIRECT_URI],
    post_logout_redirect_uris: ['http://evil.example/out'],
  });
  t.equal(refused.status, 400);
  t.equal(bodyOf(refused).error, 'invalid_redirect_uri');
});

t.test('id_token_signed_response_alg: a client may have ES256 ID tokens, among the algorithms the keys keep', async (t) => {
  const { fixture, jwks, base } = await setup();
  const es = await registerTestClient(fixture, { scopes: ['openid'], idTokenSignedResponseAlg: 'ES256' });
  t.equal(es.client.idTokenSignedResponseAlg, 'ES256');
  const request = await pending(fixture, { ...base, client_id: es.client.id, scope: 'openid' });
  const code = redirectParams(await fixture.server.completeAuthorization(request, { userId: 'user-1', approved: true })).get('code')!;
  const tokens = bodyOf(await fixture.server.handleTokenRequest(tokenRequest(es, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER })));
  t.equal(decodeProtectedHeader(tokens.id_token as string).alg, 'ES256');
  const { payload } = await jwtVerify(tokens.id_token as string, jwks, { issuer: ISSUER, audience: es.client.id, currentDate: START });
  t.equal(payload.sub, 'user-1');
  const hinted = await pending(fixture, { ...base, client_id: es.client.id, scope: 'openid', id_token_hint: tokens.id_token as string });
  t.equal(hinted.openid?.hintSubject, 'user-1', 'an ES256 ID token is a hint too');

  await t.rejects(registerTestClient(fixture, { idTokenSignedResponseAlg: 'EdDSA' }), { error: 'invalid_request', description: /one the server signs with: ES256, RS256/ } as unknown as Error);
  const plain = createFixture();
  await t.rejects(registerTestClient(plain, { idTokenSignedResponseAlg: 'ES256' }), { error: 'invalid_request', description: /needs OpenID Connect/ } as unknown as Error);

  const open = createFixture({ secretKey: SECRET_KEY, signingKeys: SIGNING_KEYS, openid: { findAccount: () => null }, registration: { enabled: true } });
  const registered = await open.server.handleClientRegistration(createFormRequest('/oauth/register', undefined), { redirect_uris: [REDIRECT_URI], id_token_signed_response_alg: 'ES256' });
  t.equal(registered.status, 201);
  t.equal(bodyOf(registered).id_token_signed_response_alg, 'ES256');
  const refused = await open.server.handleClientRegistration(createFormRequest('/oauth/register', undefined), { redirect_uris: [REDIRECT_URI], id_token_signed_response_alg: 'HS256' });
  t.equal(refused.status, 400);
  t.equal(bodyOf(refused).error, 'invalid_client_metadata');
});
