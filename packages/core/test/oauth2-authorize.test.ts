import t from 'tap';
import { createDefaultScopes } from '@portcullis/scopes';
import { StorageError, type AuthorizeResult, type OAuthRequest } from '../src/index.js';
import {
  CHALLENGE,
  ISSUER,
  REDIRECT_URI,
  countRows,
  createAuthorizeRequest,
  createFixture,
  registerTestClient,
  type Fixture,
} from './oauth2-fixtures.js';

/** The assertions the helpers need; a subtest has them as the root test does. */
type Asserts = Pick<typeof t, 'equal'>;

function expectRedirect(t: Asserts, result: AuthorizeResult): URL {
  t.equal(result.kind, 'redirect');
  if (result.kind !== 'redirect') throw new Error(JSON.stringify(result));
  return new URL(result.location);
}

function expectErrorPage(t: Asserts, result: AuthorizeResult, error: string, status = 400): void {
  t.equal(result.kind, 'error');
  if (result.kind !== 'error') return;
  t.equal(result.status, status);
  t.equal(result.error.error, error);
}

/** The error parameters of a redirect, from the query or the fragment. */
function errorOf(url: URL, where: 'query' | 'fragment' = 'query'): Record<string, string> {
  const params = where === 'query' ? url.searchParams : new URLSearchParams(url.hash.slice(1));
  return Object.fromEntries(params);
}

async function setup(options: Parameters<typeof createFixture>[0] = {}) {
  const fixture = createFixture(options);
  const client = await registerTestClient(fixture);
  const base = {
    response_type: 'code',
    client_id: client.client.id,
    redirect_uri: REDIRECT_URI,
    state: 'xyz',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
  };
  return { fixture, client, base };
}

t.test('a valid code request asks for consent with everything the consent page needs', async (t) => {
  const { fixture, client, base } = await setup();
  const before = countRows(fixture.storage);
  const result = await fixture.server.validateAuthorizationRequest(createAuthorizeRequest({ ...base, scope: 'read' }));
  t.same(result, {
    kind: 'consent',
    request: {
      clientId: client.client.id,
      clientName: 'Test client',
      responseType: 'code',
      redirectUri: REDIRECT_URI,
      redirectUriProvided: true,
      scope: ['read'],
      state: 'xyz',
      codeChallenge: CHALLENGE,
      codeChallengeMethod: 'S256',
      resource: [],
    },
  });
  t.same(countRows(fixture.storage), before, 'validation stores nothing');
});

t.test('POST takes the parameters from the form body', async (t) => {
  const { fixture, base } = await setup();
  const request: OAuthRequest = { method: 'POST', url: new URL('/oauth/authorize?client_id=nobody', ISSUER), headers: {}, body: base, secure: true };
  const result = await fixture.server.validateAuthorizationRequest(request);
  t.equal(result.kind, 'consent', 'the query is ignored on POST');
  const noBody = await fixture.server.validateAuthorizationRequest({ ...request, body: undefined });
  expectErrorPage(t, noBody, 'invalid_request');
});

t.test('errors that cannot be redirected are shown, never redirected', async (t) => {
  const { fixture, client, base } = await setup();
  const second = await fixture.server.registerClient({ name: 'two uris', redirectUris: [REDIRECT_URI, 'https://client.example.com/other'] });
  const disabled = await registerTestClient(fixture);
  await fixture.storage.updateClient(disabled.client.id, { disabled: true });
  const before = countRows(fixture.storage);
  const run = (query: Record<string, string | string[]>) => fixture.server.validateAuthorizationRequest(createAuthorizeRequest(query));

  expectErrorPage(t, await run({ ...base, client_id: 'unknown' }), 'invalid_client');
  expectErrorPage(t, await run({ ...base, client_id: disabled.client.id }), 'invalid_client');
  const { client_id: _omitted, ...withoutClient } = base;
  expectErrorPage(t, await run(withoutClient), 'invalid_request');
  expectErrorPage(t, await run({ ...base, redirect_uri: 'https://evil.example/cb' }), 'invalid_request');
  expectErrorPage(t, await run({ ...base, redirect_uri: `${REDIRECT_URI}/` }), 'invalid_request');
  expectErrorPage(t, await run({ ...base, redirect_uri: [REDIRECT_URI, REDIRECT_URI] }), 'invalid_request');
  expectErrorPage(t, await run({ ...base, client_id: [client.client.id, client.client.id] }), 'invalid_request');
  const { redirect_uri: _none, ...withoutRedirect } = base;
  expectErrorPage(t, await run({ ...withoutRedirect, client_id: second.client.id }), 'invalid_request');
  t.same(countRows(fixture.storage), before);
});

t.test('TLS is required when enforceSecure is on', async (t) => {
  const { fixture, base } = await setup();
  const result = await fixture.server.validateAuthorizationRequest(createAuthorizeRequest(base, { secure: false }));
  expectErrorPage(t, result, 'invalid_request');
  if (result.kind === 'error') t.equal(result.error.description, 'TLS required');
  const relaxed = await setup({ enforceSecure: false });
  const ok = await relaxed.fixture.server.validateAuthorizationRequest(createAuthorizeRequest(relaxed.base, { secure: false }));
  t.equal(ok.kind, 'consent');
});

t.test('a missing redirect_uri is fine when exactly one is registered', async (t) => {
  const { fixture, base } = await setup();
  const { redirect_uri: _omit, ...query } = base;
  const result = await fixture.server.validateAuthorizationRequest(createAuthorizeRequest(query));
  t.equal(result.kind, 'consent');
  if (result.kind !== 'consent') return;
  t.equal(result.request.redirectUri, REDIRECT_URI);
  t.equal(result.request.redirectUriProvided, false);
});

t.test('loopback redirect URIs accept any port and redirect to the requested one', async (t) => {
  const fixture = createFixture();
  const client = await fixture.server.registerClient({ name: 'native', type: 'public', redirectUris: ['http://127.0.0.1/callback'] });
  const query = { response_type: 'code', client_id: client.client.id, code_challenge: CHALLENGE, code_challenge_method: 'S256' };
  const result = await fixture.server.validateAuthorizationRequest(createAuthorizeRequest({ ...query, redirect_uri: 'http://127.0.0.1:49152/callback' }));
  t.equal(result.kind, 'consent');
  if (result.kind === 'consent') t.equal(result.request.redirectUri, 'http://127.0.0.1:49152/callback');
  const wrongPath = await fixture.server.validateAuthorizationRequest(createAuthorizeRequest({ ...query, redirect_uri: 'http://127.0.0.1:49152/other' }));
  expectErrorPage(t, wrongPath, 'invalid_request');
});

t.test('other errors redirect back with error, error_description, state and iss', async (t) => {
  const { fixture, base } = await setup();
  const before = countRows(fixture.storage);
  const run = async (query: Record<string, string | string[]>, where: 'query' | 'fragment' = 'query') => {
    const url = expectRedirect(t, await fixture.server.validateAuthorizationRequest(createAuthorizeRequest(query)));
    t.equal(`${url.origin}${url.pathname}`, REDIRECT_URI);
    return errorOf(url, where);
  };
  const { response_type: _rt, ...noType } = base;
  let error = await run(noType);
  t.equal(error['error'], 'invalid_request');
  t.equal(error['state'], 'xyz');
  t.equal(error['iss'], ISSUER);
  t.ok(error['error_description']);

  t.equal((await run({ ...base, response_type: 'id_token' }))['error'], 'unsupported_response_type');
  t.equal((await run({ ...base, scope: 'read admin' }))['error'], 'invalid_scope', 'unknown scope');
  t.equal((await run({ ...base, scope: 'read "' }))['error'], 'invalid_scope', 'malformed scope');
  error = await run({ ...base, scope: ['read', 'write'] });
  t.equal(error['error'], 'invalid_request', 'a repeated parameter');
  error = await run({ ...base, state: ['a', 'b'] });
  t.equal(error['error'], 'invalid_request');
  t.notOk('state' in error, 'a repeated state is not echoed');
  error = await run({ ...base, response_type: 'token' }, 'fragment');
  t.equal(error['error'], 'unsupported_response_type', 'OAuth 2.1 has no implicit grant, answered in the fragment');
  t.match(error['error_description'], /OAuth 2\.1 has no implicit grant/);
  t.same(countRows(fixture.storage), before, 'no error stores anything');

  const legacy = await setup({ profile: 'oauth2.0' });
  const url = expectRedirect(t, await legacy.fixture.server.validateAuthorizationRequest(createAuthorizeRequest({ ...legacy.base, response_type: 'token' })));
  t.equal(errorOf(url, 'fragment')['error'], 'unauthorized_client', 'OAuth 2.0: implicit not enabled for the client, answered in the fragment');
});

t.test('scopes: registered, allowed for the client, defaulting to defaultScopes or the client scopes', async (t) => {
  const scopes = createDefaultScopes().define({ name: 'admin', description: 'everything' });
  const fixture = createFixture({ scopes });
  const client = await fixture.server.registerClient({ name: 'limited', redirectUris: [REDIRECT_URI], scopes: ['write'] });
  const base = { response_type: 'code', client_id: client.client.id, redirect_uri: REDIRECT_URI, code_challenge: CHALLENGE, code_challenge_method: 'S256' };
  const run = (scope?: string) => fixture.server.validateAuthorizationRequest(createAuthorizeRequest(scope === undefined ? base : { ...base, scope }));

  let result = await run('read');
  t.equal(result.kind, 'consent', 'write includes read, so read is allowed');
  result = await run('admin');
  t.equal(errorOf(expectRedirect(t, result))['error'], 'invalid_scope', 'a registered scope beyond the client');
  result = await run();
  t.equal(result.kind, 'consent');
  if (result.kind === 'consent') t.same(result.request.scope, ['write'], 'the client scopes');
  result = await run('');
  if (result.kind === 'consent') t.same(result.request.scope, ['write'], 'an empty scope counts as none');

  const withDefaults = createFixture({ scopes, defaultScopes: ['read'] });
  const other = await withDefaults.server.registerClient({ name: 'x', redirectUris: [REDIRECT_URI], scopes: ['read', 'admin'] });
  result = await withDefaults.server.validateAuthorizationRequest(createAuthorizeRequest({ response_type: 'code', client_id: other.client.id, code_challenge: CHALLENGE, code_challenge_method: 'S256' }));
  if (result.kind === 'consent') t.same(result.request.scope, ['read'], 'the defaultScopes option');
  else t.fail('expected consent');
});

t.test('PKCE at the authorization endpoint', async (t) => {
  const { fixture, base } = await setup();
  const run = (query: Record<string, string>) => fixture.server.validateAuthorizationRequest(createAuthorizeRequest(query));
  const { code_challenge: _c, code_challenge_method: _m, ...noPkce } = base;

  const refused = errorOf(expectRedirect(t, await run(noPkce)));
  t.equal(refused['error'], 'invalid_request', 'OAuth 2.1: required of confidential clients too');
  t.equal(refused['error_description'], 'PKCE is required for every client (OAuth 2.1): send code_challenge with code_challenge_method=S256.');
  t.equal(refused['state'], 'xyz');
  t.equal(errorOf(expectRedirect(t, await run({ ...base, code_challenge: 'too-short' })))['error'], 'invalid_request');
  t.equal(errorOf(expectRedirect(t, await run({ ...base, code_challenge: `${CHALLENGE}+` })))['error'], 'invalid_request', 'outside the unreserved set');
  t.equal(errorOf(expectRedirect(t, await run({ ...base, code_challenge_method: 'plain' })))['error'], 'invalid_request', 'plain refused by default');
  t.equal(errorOf(expectRedirect(t, await run({ ...noPkce, code_challenge: CHALLENGE })))['error'], 'invalid_request', 'no method means plain (RFC 7636), refused');
  t.equal(errorOf(expectRedirect(t, await run({ ...base, code_challenge_method: 'S512' })))['error'], 'invalid_request');
  t.equal(errorOf(expectRedirect(t, await run({ ...noPkce, code_challenge_method: 'S256' })))['error'], 'invalid_request', 'a method without a challenge');

  const plain = await setup({ profile: 'oauth2.0', allowPlainPkce: true });
  const { code_challenge: _pc, code_challenge_method: _pm, ...plainNoPkce } = plain.base;
  let result = await plain.fixture.server.validateAuthorizationRequest(createAuthorizeRequest(plainNoPkce));
  t.equal(result.kind, 'consent', 'OAuth 2.0: optional for confidential clients');
  if (result.kind === 'consent') t.equal(result.request.codeChallenge, null);
  result = await plain.fixture.server.validateAuthorizationRequest(createAuthorizeRequest({ ...plain.base, code_challenge_method: 'plain' }));
  if (result.kind === 'consent') t.equal(result.request.codeChallengeMethod, 'plain');
  else t.fail('plain allowed with allowPlainPkce');
  const { code_challenge_method: _x, ...noMethod } = plain.base;
  result = await plain.fixture.server.validateAuthorizationRequest(createAuthorizeRequest(noMethod));
  if (result.kind === 'consent') t.equal(result.request.codeChallengeMethod, 'plain', 'a missing method is plain');
  else t.fail('expected consent');

  const publicClient = await fixture.server.registerClient({ name: 'spa', type: 'public', redirectUris: [REDIRECT_URI] });
  const error = errorOf(expectRedirect(t, await run({ ...noPkce, client_id: publicClient.client.id })));
  t.equal(error['error'], 'invalid_request', 'public clients must send a challenge');
  t.match(error['error_description'], /PKCE/);
});

async function consent(fixture: Fixture, query: Record<string, string>) {
  const result = await fixture.server.validateAuthorizationRequest(createAuthorizeRequest(query));
  if (result.kind !== 'consent') throw new Error(JSON.stringify(result));
  return result.request;
}

t.test('approval stores the code digest with its TTL, family and PKCE, and redirects with code, state and iss', async (t) => {
  const { fixture, client, base } = await setup();
  const request = await consent(fixture, { ...base, scope: 'read write' });
  const done = await fixture.server.completeAuthorization(request, { userId: 'user-1', approved: true });
  const url = expectRedirect(t, done);
  const code = url.searchParams.get('code') ?? '';
  t.match(code, /^pcc_[0-9A-HJKMNP-TV-Z]{10}[A-Za-z0-9_-]{43}$/);
  t.equal(url.searchParams.get('state'), 'xyz');
  t.equal(url.searchParams.get('iss'), ISSUER);
  const [stored, ...others] = fixture.storage.snapshot().authorizationCodes;
  t.equal(others.length, 0);
  t.ok(stored);
  if (!stored) return;
  t.not(stored.digest, code, 'only the digest is stored');
  t.notMatch(JSON.stringify(fixture.storage.snapshot()), code);
  t.same(
    { ...stored, id: '', familyId: '' },
    {
      id: '',
      digest: stored.digest,
      clientId: client.client.id,
      userId: 'user-1',
      redirectUri: REDIRECT_URI,
      scope: ['read', 'write'],
      codeChallenge: CHALLENGE,
      codeChallengeMethod: 'S256',
      audience: [],
      familyId: '',
      issuedAt: fixture.clock.now,
      expiresAt: new Date(fixture.clock.now.getTime() + 60_000),
      consumedAt: null,
      nonce: null,
      authTime: null,
    },
  );
  t.ok(stored.familyId);
});

t.test('denial redirects with access_denied and stores nothing', async (t) => {
  const { fixture, base } = await setup();
  const request = await consent(fixture, base);
  const before = countRows(fixture.storage);
  const url = expectRedirect(t, await fixture.server.completeAuthorization(request, { userId: 'u', approved: false }));
  t.equal(url.searchParams.get('error'), 'access_denied');
  t.equal(url.searchParams.get('state'), 'xyz');
  t.same(countRows(fixture.storage), before);
});

t.test('the user may narrow the scope, never widen it', async (t) => {
  const { fixture, base } = await setup();
  const request = await consent(fixture, { ...base, scope: 'write' });
  const narrowed = expectRedirect(t, await fixture.server.completeAuthorization(request, { userId: 'u', approved: true, scope: ['read'] }));
  t.ok(narrowed.searchParams.get('code'));
  t.same(fixture.storage.snapshot().authorizationCodes[0]?.scope, ['read']);

  const readOnly = await consent(fixture, { ...base, scope: 'read' });
  const before = countRows(fixture.storage);
  const widened = expectRedirect(t, await fixture.server.completeAuthorization(readOnly, { userId: 'u', approved: true, scope: ['write'] }));
  t.equal(widened.searchParams.get('error'), 'invalid_scope');
  t.same(countRows(fixture.storage), before);
});

t.test('completion re-checks the client and its redirect URI', async (t) => {
  const { fixture, client, base } = await setup();
  const request = await consent(fixture, base);
  const before = countRows(fixture.storage);
  expectErrorPage(t, await fixture.server.completeAuthorization({ ...request, redirectUri: 'https://evil.example/cb' }, { userId: 'u', approved: true }), 'invalid_request');
  await fixture.storage.updateClient(client.client.id, { disabled: true });
  expectErrorPage(t, await fixture.server.completeAuthorization(request, { userId: 'u', approved: true }), 'invalid_client');
  t.same(countRows(fixture.storage), before);
  await t.rejects(fixture.server.completeAuthorization(request, { userId: '', approved: true }), TypeError);
});

t.test('implicit grant: the token goes in the fragment, without a refresh token', async (t) => {
  const fixture = createFixture({ profile: 'oauth2.0' });
  const client = await fixture.server.registerClient({ name: 'implicit', type: 'public', grantTypes: ['implicit', 'refresh_token'], redirectUris: [REDIRECT_URI] });
  const request = await consent(fixture, { response_type: 'token', client_id: client.client.id, state: 's1', scope: 'read' });
  t.equal(request.codeChallenge, null, 'no PKCE for the implicit flow');
  const url = expectRedirect(t, await fixture.server.completeAuthorization(request, { userId: 'user-9', approved: true }));
  t.equal(url.search, '', 'nothing in the query');
  const fragment = new URLSearchParams(url.hash.slice(1));
  t.match(fragment.get('access_token'), /^pca_/);
  t.equal(fragment.get('token_type'), 'Bearer');
  t.equal(fragment.get('expires_in'), '3600');
  t.equal(fragment.get('scope'), 'read');
  t.equal(fragment.get('state'), 's1');
  t.equal(fragment.get('refresh_token'), null);
  const snapshot = fixture.storage.snapshot();
  t.equal(snapshot.accessTokens.length, 1);
  t.equal(snapshot.refreshTokens.length, 0);
  t.equal(snapshot.accessTokens[0]?.userId, 'user-9');
  const grant = await fixture.server.verifyAccessToken(fragment.get('access_token') ?? '', ['read']);
  t.equal(grant.clientId, client.client.id);

  const denied = expectRedirect(t, await fixture.server.completeAuthorization(request, { userId: 'user-9', approved: false }));
  t.equal(new URLSearchParams(denied.hash.slice(1)).get('error'), 'access_denied', 'implicit errors go in the fragment');
});

t.test('storage failures: an error page before the redirect is known, 503 redirect after', async (t) => {
  const { fixture, base } = await setup();
  const request = await consent(fixture, base);
  const failing = fixture.storage;
  const original = failing.findClient.bind(failing);
  failing.findClient = async () => {
    throw new StorageError('connect ECONNREFUSED 10.0.0.1:3306 user root');
  };
  const page = await fixture.server.validateAuthorizationRequest(createAuthorizeRequest(base));
  expectErrorPage(t, page, 'temporarily_unavailable', 503);
  if (page.kind === 'error') t.notMatch(page.error.description ?? '', /ECONNREFUSED/);
  failing.findClient = original;
  failing.saveAuthorizationCode = async () => {
    throw new StorageError('deadlock');
  };
  const url = expectRedirect(t, await fixture.server.completeAuthorization(request, { userId: 'u', approved: true }));
  t.equal(url.searchParams.get('error'), 'temporarily_unavailable');
  t.notMatch(url.href, /deadlock/);
});
