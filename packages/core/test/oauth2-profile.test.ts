// The OAuth 2.1 profile (the default) against the OAuth 2.0 one, and the localhost redirect option.
import t from 'tap';
import { MemoryStorage, createAuthorizationServer, matchesRedirectUri, tokenDigest, type AuthorizeResult } from '../src/index.js';
import {
  CHALLENGE,
  ISSUER,
  REDIRECT_URI,
  VERIFIER,
  bodyOf,
  countRows,
  createAuthorizeRequest,
  createFixture,
  createFormRequest,
  errorLike,
  obtainCode,
  registerTestClient,
  tokenRequest,
} from './oauth2-fixtures.js';

function redirectOf(result: AuthorizeResult): URL {
  if (result.kind !== 'redirect') throw new Error(`expected a redirect, got ${JSON.stringify(result)}`);
  return new URL(result.location);
}

t.test('options that enable what OAuth 2.1 removed fail at construction, naming the option and the way out', async (t) => {
  const storage = new MemoryStorage();
  const verifyUser = async () => null;
  t.throws(
    () => createAuthorizationServer({ storage, issuer: ISSUER, verifyUser }),
    { name: 'TypeError', message: "options.verifyUser cannot be set: OAuth 2.1 has no password grant; set profile: 'oauth2.0' to allow it" },
  );
  t.throws(
    () => createAuthorizationServer({ storage, issuer: ISSUER, profile: 'oauth2.1', allowPlainPkce: true }),
    { name: 'TypeError', message: "options.allowPlainPkce cannot be set: OAuth 2.1 has no PKCE method plain; set profile: 'oauth2.0' to allow it" },
  );
  const legacy = createAuthorizationServer({ storage, issuer: ISSUER, profile: 'oauth2.0', verifyUser, allowPlainPkce: true });
  t.equal(legacy.options.profile, 'oauth2.0');
  t.equal(createAuthorizationServer({ storage, issuer: ISSUER, allowPlainPkce: false }).options.profile, 'oauth2.1', 'the default; false enables nothing');
});

t.test('registerClient refuses the implicit and password grant types under OAuth 2.1 and stores nothing', async (t) => {
  const fixture = createFixture();
  const before = countRows(fixture.storage);
  await t.rejects(fixture.server.registerClient({ name: 'spa', type: 'public', grantTypes: ['implicit'], redirectUris: [REDIRECT_URI] }), errorLike({
    error: 'invalid_request',
    description: "The client cannot have the implicit grant type: OAuth 2.1 has no implicit grant (response_type=token); set profile: 'oauth2.0' to allow it.",
  }));
  await t.rejects(fixture.server.registerClient({ name: 'legacy', grantTypes: ['password', 'refresh_token'] }), errorLike({
    error: 'invalid_request',
    description: "The client cannot have the password grant type: OAuth 2.1 has no password grant; set profile: 'oauth2.0' to allow it.",
  }));
  t.same(countRows(fixture.storage), before);
  const legacy = createFixture({ profile: 'oauth2.0' });
  const spa = await legacy.server.registerClient({ name: 'spa', type: 'public', grantTypes: ['implicit'], redirectUris: [REDIRECT_URI] });
  t.same(spa.client.responseTypes, ['token']);
});

t.test('a stored client carrying the implicit grant is refused it, at validation and at completion', async (t) => {
  const fixture = createFixture();
  const registered = await registerTestClient(fixture, { type: 'public' });
  // A client stored while the server ran OAuth 2.0.
  await fixture.storage.createClient({ ...registered.client, id: 'old-spa', grantTypes: ['authorization_code', 'implicit'], responseTypes: ['code', 'token'] });
  const before = countRows(fixture.storage);
  const url = redirectOf(await fixture.server.validateAuthorizationRequest(createAuthorizeRequest({ response_type: 'token', client_id: 'old-spa', state: 's' })));
  t.equal(url.search, '', 'answered in the fragment, where the client looks');
  t.same(Object.fromEntries(new URLSearchParams(url.hash.slice(1))), {
    error: 'unsupported_response_type',
    error_description: "OAuth 2.1 has no implicit grant (response_type=token); set profile: 'oauth2.0' to allow it.",
    state: 's',
    iss: ISSUER,
  });
  // A request kept in a session from before the profile changed.
  const pending = {
    clientId: 'old-spa',
    clientName: 'Test client',
    responseType: 'token' as const,
    redirectUri: REDIRECT_URI,
    redirectUriProvided: false,
    scope: ['read'],
    state: 's',
    codeChallenge: null,
    codeChallengeMethod: null,
    resource: [],
  };
  const completed = redirectOf(await fixture.server.completeAuthorization(pending, { userId: 'user-1', approved: true }));
  t.equal(new URLSearchParams(completed.hash.slice(1)).get('error'), 'unsupported_response_type');
  t.equal(new URLSearchParams(completed.hash.slice(1)).get('access_token'), null);
  t.same(countRows(fixture.storage), before, 'no token issued');
});

t.test('a stored client carrying the password grant gets unsupported_grant_type', async (t) => {
  const fixture = createFixture();
  const registered = await registerTestClient(fixture);
  await fixture.storage.createClient({ ...registered.client, id: 'old-app', grantTypes: ['password'] });
  const before = countRows(fixture.storage);
  const response = await fixture.server.handleTokenRequest(
    tokenRequest({ ...registered, client: { ...registered.client, id: 'old-app' } }, { grant_type: 'password', username: 'alice', password: 'x' }),
  );
  t.equal(response.status, 400);
  t.same(response.headers, { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' });
  t.same(bodyOf(response), {
    error: 'unsupported_grant_type',
    error_description: "OAuth 2.1 has no password grant; set profile: 'oauth2.0' to allow it.",
  });
  t.same(countRows(fixture.storage), before);
});

t.test('PKCE is required of confidential clients: at validation, at completion and at redemption', async (t) => {
  const fixture = createFixture();
  const client = await registerTestClient(fixture);
  const before = countRows(fixture.storage);
  const url = redirectOf(
    await fixture.server.validateAuthorizationRequest(createAuthorizeRequest({ response_type: 'code', client_id: client.client.id, state: 'st' })),
  );
  t.equal(`${url.origin}${url.pathname}`, REDIRECT_URI);
  t.same(Object.fromEntries(url.searchParams), {
    error: 'invalid_request',
    error_description: 'PKCE is required for every client (OAuth 2.1): send code_challenge with code_challenge_method=S256.',
    state: 'st',
    iss: ISSUER,
  });
  const pending = {
    clientId: client.client.id,
    clientName: 'Test client',
    responseType: 'code' as const,
    redirectUri: REDIRECT_URI,
    redirectUriProvided: false,
    scope: ['read'],
    state: null,
    codeChallenge: null,
    codeChallengeMethod: null,
    resource: [],
  };
  const completed = redirectOf(await fixture.server.completeAuthorization(pending, { userId: 'user-1', approved: true }));
  t.equal(completed.searchParams.get('error'), 'invalid_request');
  t.equal(completed.searchParams.get('code'), null);
  t.same(countRows(fixture.storage), before, 'no code stored');

  // A code issued without a challenge while the server ran OAuth 2.0, over the same storage.
  const legacy = createFixture({ storage: fixture.storage, profile: 'oauth2.0' });
  const code = await obtainCode(legacy, client, { code_challenge: '', code_challenge_method: '' });
  const response = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }));
  t.equal(response.status, 400);
  t.same(bodyOf(response), {
    error: 'invalid_grant',
    error_description: 'The authorization request had no code_challenge, which PKCE requires of this client.',
  });
  const row = fixture.storage.snapshot().authorizationCodes.find((stored) => stored.digest === tokenDigest(code));
  t.not(row?.consumedAt, null, 'the code is spent');
  t.equal(fixture.storage.snapshot().accessTokens.length, 0, 'no token issued');
});

t.test('PKCE plain is refused under OAuth 2.1', async (t) => {
  const fixture = createFixture();
  const client = await registerTestClient(fixture);
  const url = redirectOf(
    await fixture.server.validateAuthorizationRequest(
      createAuthorizeRequest({ response_type: 'code', client_id: client.client.id, code_challenge: CHALLENGE, code_challenge_method: 'plain' }),
    ),
  );
  t.equal(url.searchParams.get('error'), 'invalid_request');
  t.equal(url.searchParams.get('error_description'), 'The code_challenge_method must be S256 (plain is not accepted).');
});

t.test("a public client's refresh token rotates on every use; the old one replayed revokes the family", async (t) => {
  const fixture = createFixture();
  const client = await registerTestClient(fixture, { type: 'public' });
  const send = (body: Record<string, string>) => fixture.server.handleTokenRequest(createFormRequest('/oauth/token', { client_id: client.client.id, ...body }));
  const code = await obtainCode(fixture, client);
  const first = bodyOf(await send({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }));
  const rotated = await send({ grant_type: 'refresh_token', refresh_token: String(first['refresh_token']) });
  t.equal(rotated.status, 200);
  const second = bodyOf(rotated);
  t.not(second['refresh_token'], first['refresh_token']);
  const replay = await send({ grant_type: 'refresh_token', refresh_token: String(first['refresh_token']) });
  t.equal(replay.status, 400);
  t.same(bodyOf(replay), { error: 'invalid_grant', error_description: 'The refresh token was already used.' });
  const successor = fixture.storage.snapshot().refreshTokens.find((row) => row.digest === tokenDigest(String(second['refresh_token'])));
  t.not(successor?.revokedAt, null, 'the successor is revoked with its family');
});

t.test('localhost redirect URIs: exact by default, any port with allowLocalhostAnyPort', async (t) => {
  t.notOk(matchesRedirectUri('http://localhost:5000/cb', 'http://localhost/cb'));
  t.ok(matchesRedirectUri('http://localhost:5000/cb', 'http://localhost/cb', { localhostAnyPort: true }));
  t.ok(matchesRedirectUri('http://localhost/cb', 'http://localhost:8080/cb', { localhostAnyPort: true }));
  t.notOk(matchesRedirectUri('http://localhost:5000/other', 'http://localhost/cb', { localhostAnyPort: true }), 'path differs');
  t.notOk(matchesRedirectUri('http://127.0.0.1:5000/cb', 'http://localhost/cb', { localhostAnyPort: true }), 'another host');
  t.notOk(matchesRedirectUri('http://localhost:5000/cb', 'http://127.0.0.1/cb', { localhostAnyPort: true }), 'another host, the other way');
  t.notOk(matchesRedirectUri('https://localhost:5000/cb', 'http://localhost/cb', { localhostAnyPort: true }), 'scheme differs');
  t.notOk(matchesRedirectUri('http://localhost.evil.example:5000/cb', 'http://localhost/cb', { localhostAnyPort: true }), 'a longer host');
  t.notOk(matchesRedirectUri('http://localhost:5000@evil.example/cb', 'http://localhost/cb', { localhostAnyPort: true }), 'userinfo trick');

  const registered = 'http://localhost/callback';
  const requested = 'http://localhost:33418/callback';
  const run = async (allowLocalhostAnyPort: boolean) => {
    const fixture = createFixture({ allowLocalhostAnyPort });
    const client = await fixture.server.registerClient({ name: 'cli', type: 'public', redirectUris: [registered] });
    const query = { response_type: 'code', client_id: client.client.id, redirect_uri: requested, code_challenge: CHALLENGE, code_challenge_method: 'S256' };
    return { fixture, client, result: await fixture.server.validateAuthorizationRequest(createAuthorizeRequest(query)) };
  };

  const off = await run(false);
  t.equal(off.result.kind, 'error', 'off: shown, never redirected');
  if (off.result.kind === 'error') {
    t.equal(off.result.status, 400);
    t.equal(off.result.error.error, 'invalid_request');
  }

  const on = await run(true);
  if (on.result.kind !== 'consent') throw new Error(JSON.stringify(on.result));
  t.equal(on.result.request.redirectUri, requested, 'the browser goes back to the port the client listens on');
  const done = redirectOf(await on.fixture.server.completeAuthorization(on.result.request, { userId: 'user-1', approved: true }));
  t.equal(`${done.origin}${done.pathname}`, requested);
  const response = await on.fixture.server.handleTokenRequest(
    createFormRequest('/oauth/token', {
      grant_type: 'authorization_code',
      client_id: on.client.client.id,
      code: done.searchParams.get('code') ?? '',
      redirect_uri: requested,
      code_verifier: VERIFIER,
    }),
  );
  t.equal(response.status, 200, 'the code redeems with the same redirect URI');
});
