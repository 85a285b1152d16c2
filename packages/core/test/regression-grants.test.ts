// Regression tests for grant bug classes published against other OAuth servers: PKCE downgrade,
// a code or refresh token used by another client, OAuth 1.0a nonces never checked, and the
// oauth_callback of OAuth 1.0a (free without registered redirect URIs, matched with them).
import t from 'tap';
import { SecretBox } from '../src/crypto.js';
import {
  createOAuth1Provider,
  formatAuthorizationHeader,
  signRequest,
} from '../src/oauth1/index.js';
import type { OAuthRequest } from '../src/http.js';
import { MemoryStorage } from '../src/storage/memory-store.js';
import {
  bodyOf,
  CHALLENGE,
  countRows,
  createAuthorizeRequest,
  createFixture,
  createFormRequest,
  errorLike,
  obtainCode,
  REDIRECT_URI,
  registerTestClient,
  tokenRequest,
  VERIFIER,
} from './oauth2-fixtures.js';

t.test('PKCE downgrade: a code bound to an S256 challenge needs its verifier', async (t) => {
  const fixture = createFixture();
  const client = await registerTestClient(fixture, { grantTypes: ['authorization_code', 'refresh_token'] });
  const attempts: [string, Record<string, string>][] = [
    ['no code_verifier', {}],
    ['the challenge itself as a plain verifier', { code_verifier: CHALLENGE }],
    ['plain claimed at the token endpoint', { code_verifier: CHALLENGE, code_challenge_method: 'plain' }],
    ['an empty verifier', { code_verifier: '' }],
    ['another valid verifier', { code_verifier: 'A'.repeat(43) }],
  ];
  for (const [name, extra] of attempts) {
    const code = await obtainCode(fixture, client);
    const response = await fixture.server.handleTokenRequest(
      tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, ...extra }),
    );
    t.equal(response.status, 400, name);
    t.match(bodyOf(response).error, /^invalid_(grant|request)$/, name);
    t.same(await fixture.storage.listAccessTokens({ clientId: client.client.id }), [], `${name}: no token`);
    // The code is spent by the failed attempt (or, for a malformed verifier, still unused but
    // refused again): the right verifier cannot be tried after a guess went through the store.
    const retry = await fixture.server.handleTokenRequest(
      tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
    );
    if (bodyOf(response).error === 'invalid_grant') {
      t.equal(retry.status, 400, `${name}: the code is spent`);
      t.equal(bodyOf(retry).error, 'invalid_grant');
    }
  }
  t.same(await fixture.storage.listAccessTokens({ clientId: client.client.id }).then((rows) => rows.filter((row) => row.revokedAt === null)), [], 'no live token from any of it');
});

t.test('PKCE plain is refused at the authorization endpoint unless allowed', async (t) => {
  const strict = createFixture();
  const client = await registerTestClient(strict);
  const before = countRows(strict.storage);
  for (const method of ['plain', undefined, 'PLAIN', 's256', 'S512']) {
    const result = await strict.server.validateAuthorizationRequest(
      createAuthorizeRequest({
        response_type: 'code',
        client_id: client.client.id,
        redirect_uri: REDIRECT_URI,
        state: 's',
        code_challenge: VERIFIER,
        ...(method === undefined ? {} : { code_challenge_method: method }),
      }),
    );
    t.equal(result.kind, 'redirect', `method ${String(method)} is refused back to the client`);
    if (result.kind === 'redirect') t.equal(new URL(result.location).searchParams.get('error'), 'invalid_request');
  }
  t.same(countRows(strict.storage), before);
  const lenient = createFixture({ profile: 'oauth2.0', allowPlainPkce: true });
  const lenientClient = await registerTestClient(lenient);
  const code = await obtainCode(lenient, lenientClient, { code_challenge: VERIFIER, code_challenge_method: 'plain' });
  const ok = await lenient.server.handleTokenRequest(
    tokenRequest(lenientClient, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  );
  t.equal(ok.status, 200, 'plain works when allowed');
});

t.test('a public client cannot skip PKCE', async (t) => {
  const fixture = createFixture();
  const client = await registerTestClient(fixture, { type: 'public' });
  const result = await fixture.server.validateAuthorizationRequest(
    createAuthorizeRequest({ response_type: 'code', client_id: client.client.id, redirect_uri: REDIRECT_URI, state: 's' }),
  );
  t.equal(result.kind, 'redirect');
  if (result.kind === 'redirect') t.equal(new URL(result.location).searchParams.get('error'), 'invalid_request');
});

// With and without singleAccessToken, which revokes the client's live tokens before it issues.
for (const singleAccessToken of [false, true]) {
  const path = singleAccessToken ? 'singleAccessToken' : 'default options';

  t.test(`a code presented by another client is refused and changes nothing (${path})`, async (t) => {
    const fixture = createFixture({ singleAccessToken });
    const owner = await registerTestClient(fixture, { grantTypes: ['authorization_code', 'refresh_token'] });
    const thief = await registerTestClient(fixture, { name: 'Thief' });
    const code = await obtainCode(fixture, owner);
    const before = fixture.storage.snapshot();
    const stolen = await fixture.server.handleTokenRequest(
      tokenRequest(thief, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
    );
    t.equal(stolen.status, 400);
    t.same(bodyOf(stolen), { error: 'invalid_grant', error_description: 'The authorization code was issued to another client.' });
    t.same(fixture.storage.snapshot(), before, 'nothing changed: the code is not spent by a client it was not issued to');
    const own = await fixture.server.handleTokenRequest(
      tokenRequest(owner, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
    );
    t.equal(own.status, 200, 'its own client still redeems it');
  });

  t.test(`a used code replayed under another client's id revokes nothing (${path})`, async (t) => {
    const fixture = createFixture({ singleAccessToken });
    const owner = await registerTestClient(fixture, { grantTypes: ['authorization_code', 'refresh_token'] });
    const confidential = await registerTestClient(fixture, { name: 'Other' });
    const publicClient = await registerTestClient(fixture, { name: 'Public', type: 'public' });
    const code = await obtainCode(fixture, owner);
    const issued = bodyOf(
      await fixture.server.handleTokenRequest(
        tokenRequest(owner, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
      ),
    );
    const before = fixture.storage.snapshot();
    const replays = [
      ['a confidential client', tokenRequest(confidential, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER })],
      ['a public client, with no secret', createFormRequest('/oauth/token', {
        grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER, client_id: publicClient.client.id,
      })],
    ] as const;
    for (const [name, request] of replays) {
      const replay = await fixture.server.handleTokenRequest(request);
      t.equal(replay.status, 400, name);
      t.same(bodyOf(replay), { error: 'invalid_grant', error_description: 'The authorization code was issued to another client.' }, name);
    }
    t.same(fixture.storage.snapshot(), before, 'nothing changed: the owner\'s tokens are not revoked');
    const grant = await fixture.server.verifyAccessToken(String(issued.access_token));
    t.equal(grant.clientId, owner.client.id, 'the owner\'s access token still works');
    const refreshed = await fixture.server.handleTokenRequest(
      tokenRequest(owner, { grant_type: 'refresh_token', refresh_token: String(issued.refresh_token) }),
    );
    t.equal(refreshed.status, 200, 'the owner\'s refresh token still works');
  });
}

t.test('a refresh token used by another client is refused and changes nothing', async (t) => {
  const fixture = createFixture();
  const owner = await registerTestClient(fixture, { grantTypes: ['authorization_code', 'refresh_token'] });
  const thief = await registerTestClient(fixture, { name: 'Thief', grantTypes: ['authorization_code', 'refresh_token'] });
  const code = await obtainCode(fixture, owner);
  const issued = bodyOf(
    await fixture.server.handleTokenRequest(
      tokenRequest(owner, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
    ),
  );
  const before = fixture.storage.snapshot();
  const stolen = await fixture.server.handleTokenRequest(
    tokenRequest(thief, { grant_type: 'refresh_token', refresh_token: issued.refresh_token as string }),
  );
  t.equal(stolen.status, 400);
  t.equal(bodyOf(stolen).error, 'invalid_grant');
  t.same(fixture.storage.snapshot(), before, 'nothing changed');
  const own = await fixture.server.handleTokenRequest(
    tokenRequest(owner, { grant_type: 'refresh_token', refresh_token: issued.refresh_token as string }),
  );
  t.equal(own.status, 200, 'the owner still refreshes');
  // Without client authentication at all, a confidential client's token is no use either.
  const anonymous = await fixture.server.handleTokenRequest({
    method: 'POST',
    url: new URL('/oauth/token', 'https://auth.example.com'),
    headers: {},
    body: { grant_type: 'refresh_token', refresh_token: bodyOf(own).refresh_token as string, client_id: owner.client.id },
    secure: true,
  });
  t.equal(anonymous.status, 401);
  t.equal(bodyOf(anonymous).error, 'invalid_client');
});

async function createOAuth1Harness(redirectUris: string[] = []) {
  const storage = new MemoryStorage();
  const key = Buffer.alloc(32, 9);
  const box = new SecretBox(key);
  const at = new Date(0);
  await storage.createClient({
    id: 'consumer', name: 'Consumer', type: 'confidential', secretDigest: null, redirectUris, scopes: ['read'],
    grantTypes: ['authorization_code'], responseTypes: ['code'], ownerId: null, oauth1Enabled: true,
    oauth1SecretEncrypted: box.encrypt('consumer-secret'), rsaPublicKey: null, resources: null, disabled: false, createdAt: at, updatedAt: at,
  });
  const now = 1_800_000_000;
  const provider = createOAuth1Provider({ storage, issuer: 'https://auth.example.com', secretKey: key, clock: () => new Date(now * 1000) });
  function requestToken(callback: string, nonce: string): OAuthRequest {
    const url = new URL('https://auth.example.com/oauth1/request_token');
    const parameters = signRequest({
      method: 'POST', url, consumerKey: 'consumer', signatureMethod: 'HMAC-SHA1',
      credentials: { consumerSecret: 'consumer-secret' }, timestamp: now, nonce, extra: { oauth_callback: callback },
    });
    return { method: 'POST', url, headers: { authorization: formatAuthorizationHeader(parameters) }, secure: true };
  }
  return { storage, provider, requestToken };
}

t.test('OAuth 1.0a: the same signed request twice, the second is refused as a replay', async (t) => {
  const { storage, provider, requestToken } = await createOAuth1Harness();
  const request = requestToken('oob', 'once-only');
  const first = await provider.handleRequestTokenRequest(request);
  t.equal(first.status, 200);
  const afterFirst = storage.snapshot();
  t.equal(afterFirst.nonces.length, 1, 'the nonce is recorded');
  t.equal(afterFirst.requestTokens.length, 1);
  const replay = await provider.handleRequestTokenRequest(requestToken('oob', 'once-only'));
  t.equal(replay.status, 401);
  t.match(replay.body, { error: 'nonce_used' });
  t.same(storage.snapshot(), afterFirst, 'the replay stored nothing');
});

t.test('OAuth 1.0a oauth_callback: a consumer with registered redirect URIs gets verifiers there only', async (t) => {
  const { storage, provider, requestToken } = await createOAuth1Harness(['https://consumer.example/cb', 'http://127.0.0.1/cb']);
  const before = storage.snapshot();
  for (const [index, callback] of [
    'https://elsewhere.example/steal',
    'https://consumer.example/cb/../steal',
    'https://consumer.example/cb?next=https://elsewhere.example',
    'https://consumer.example/CB',
  ].entries()) {
    const response = await provider.handleRequestTokenRequest(requestToken(callback, `unregistered-${index}`));
    t.equal(response.status, 400, callback);
    t.match(response.body, { error: 'parameter_rejected', error_description: /not one of the redirect URIs registered/ });
  }
  t.same(storage.snapshot(), before, 'a refused callback stores nothing, not even the nonce');
  for (const [index, callback] of ['https://consumer.example/cb', 'http://127.0.0.1:49152/cb', 'oob'].entries()) {
    const response = await provider.handleRequestTokenRequest(requestToken(callback, `registered-${index}`));
    t.equal(response.status, 200, `${callback} is accepted (exact, loopback with any port, out of band)`);
  }
});

t.test('OAuth 1.0a oauth_callback: without registered redirect URIs, any http(s) URI', async (t) => {
  const { provider, requestToken } = await createOAuth1Harness();
  // Script and local schemes are refused outright.
  for (const [index, callback] of ['javascript:alert(1)', 'data:text/html,x', 'file:///etc/passwd', 'not a uri'].entries()) {
    const response = await provider.handleRequestTokenRequest(requestToken(callback, `bad-${index}`));
    t.equal(response.status, 400, callback);
    t.match(response.body, { error: 'parameter_rejected' });
  }
  // With no redirect URI registered, any absolute http(s) URI is accepted: the consumer signs its
  // callback with its own secret, so only the consumer chooses it (django-oauth-plus behaves the same way),
  // and the user sees the consumer's name on the consent page before being sent there.
  const response = await provider.handleRequestTokenRequest(requestToken('https://elsewhere.example/steal?x=1', 'cb-1'));
  t.equal(response.status, 200);
  const token = new URLSearchParams(response.body as string).get('oauth_token')!;
  const done = await provider.completeAuthorization(token, { userId: 'user-1', approved: true });
  t.equal(done.kind, 'redirect');
  if (done.kind === 'redirect') {
    const location = new URL(done.location);
    t.equal(`${location.origin}${location.pathname}`, 'https://elsewhere.example/steal');
    t.equal(location.searchParams.get('x'), '1', 'the callback query is kept');
    t.equal(location.searchParams.get('oauth_token'), token);
    t.match(location.searchParams.get('oauth_verifier'), /.+/);
  }
});

t.test('the password grant needs a confidential client (RFC 9700 section 2.4)', async (t) => {
  let verified = 0;
  const fixture = createFixture({
    profile: 'oauth2.0',
    verifyUser: async (username, password) => {
      verified += 1;
      return username === 'alice' && password === 'wonderland' ? { id: 'user-alice', username } : null;
    },
  });
  const before = countRows(fixture.storage);
  await t.rejects(
    fixture.server.registerClient({ name: 'Public app', type: 'public', grantTypes: ['password'] }),
    errorLike({ error: 'invalid_request', description: 'A public client cannot use the password grant: it has no secret to prove itself with.' }),
    'registration refuses a public client with the password grant',
  );
  t.same(countRows(fixture.storage), before, 'the refused registration stored nothing');

  // A public client's record carrying the password grant, as an older registration or a store
  // edited by hand could hold it: the token endpoint refuses it all the same.
  const at = new Date(0);
  await fixture.storage.createClient({
    id: 'public-legacy', name: 'Public legacy', type: 'public', secretDigest: null, redirectUris: [], scopes: ['read'],
    grantTypes: ['password'], responseTypes: [], ownerId: null, oauth1Enabled: false, oauth1SecretEncrypted: null,
    rsaPublicKey: null, resources: null, disabled: false, createdAt: at, updatedAt: at,
  });
  const stored = countRows(fixture.storage);
  const response = await fixture.server.handleTokenRequest(
    createFormRequest('/oauth/token', { grant_type: 'password', client_id: 'public-legacy', username: 'alice', password: 'wonderland' }),
  );
  t.equal(response.status, 400);
  t.equal(response.headers['cache-control'], 'no-store');
  t.same(bodyOf(response), {
    error: 'unauthorized_client',
    error_description: 'The password grant needs a confidential client authenticated with its secret.',
  });
  t.equal(verified, 0, 'the password was never checked');
  t.same(countRows(fixture.storage), stored, 'nothing was issued');

  const confidential = await registerTestClient(fixture, { grantTypes: ['password'] });
  const granted = await fixture.server.handleTokenRequest(
    tokenRequest(confidential, { grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'read' }),
  );
  t.equal(granted.status, 200, 'a confidential client still uses it');
});
