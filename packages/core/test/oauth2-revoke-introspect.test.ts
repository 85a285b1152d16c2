import t from 'tap';
import { digestSecret } from '../src/crypto.js';
import { withClientCache } from '../src/storage/client-cache.js';
import { MemoryStorage } from '../src/storage/memory-store.js';
import { ISSUER, REDIRECT_URI, VERIFIER, basicAuthorization, bodyOf, createFixture, createFormRequest, obtainCode, registerTestClient, tokenRequest, errorLike } from './oauth2-fixtures.js';

async function setup(options: Parameters<typeof createFixture>[0] = {}) {
  const fixture = createFixture(options);
  const client = await registerTestClient(fixture);
  const other = await registerTestClient(fixture);
  const code = await obtainCode(fixture, client, { scope: 'read' });
  const body = bodyOf(await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  ));
  const auth = (as = client) => ({ authorization: basicAuthorization(as.client.id, as.clientSecret ?? '') });
  const revoke = (form: Record<string, string> | undefined, as = client) => fixture.server.handleRevocationRequest(createFormRequest('/oauth/revoke', form, auth(as)));
  const introspect = (form: Record<string, string> | undefined, as = client) =>
    fixture.server.handleIntrospectionRequest(createFormRequest('/oauth/introspect', form, auth(as)));
  return { fixture, client, other, accessToken: String(body['access_token']), refreshToken: String(body['refresh_token']), revoke, introspect };
}

t.test('revoking an access token', async (t) => {
  const { fixture, accessToken, refreshToken, revoke } = await setup();
  const response = await revoke({ token: accessToken, token_type_hint: 'access_token' });
  t.equal(response.status, 200);
  t.equal(response.body, '');
  t.equal(response.headers['cache-control'], 'no-store');
  await t.rejects(fixture.server.verifyAccessToken(accessToken), errorLike({ error: 'invalid_token' }));
  t.equal(fixture.storage.snapshot().refreshTokens[0]?.revokedAt, null, 'the refresh token stays');
  t.equal((await revoke({ token: accessToken })).status, 200, 'revoking again is still 200');
  t.ok(refreshToken);
});

t.test('revoking a refresh token revokes its family, whatever the hint', async (t) => {
  const { fixture, accessToken, refreshToken, revoke } = await setup();
  const response = await revoke({ token: refreshToken, token_type_hint: 'access_token' });
  t.equal(response.status, 200);
  const snapshot = fixture.storage.snapshot();
  t.ok(snapshot.refreshTokens.every((row) => row.revokedAt !== null));
  t.ok(snapshot.accessTokens.every((row) => row.revokedAt !== null), 'the access tokens of the family');
  await t.rejects(fixture.server.verifyAccessToken(accessToken));
});

t.test('unknown tokens and tokens of other clients answer 200 and change nothing', async (t) => {
  const { fixture, other, accessToken, refreshToken, revoke } = await setup();
  const before = fixture.storage.snapshot();
  for (const token of ['pca_unknown', accessToken, refreshToken]) {
    const response = await revoke({ token, token_type_hint: 'refresh_token' }, other);
    t.equal(response.status, 200);
    t.equal(response.body, '');
  }
  t.equal((await revoke({ token: 'pca_x', token_type_hint: 'something_else' })).status, 200, 'an unknown hint is ignored');
  t.same(fixture.storage.snapshot(), before);
});

t.test('revocation errors', async (t) => {
  const { fixture, client, accessToken, revoke } = await setup();
  const before = fixture.storage.snapshot();
  let response = await revoke({});
  t.equal(response.status, 400);
  t.equal(bodyOf(response)['error'], 'invalid_request', 'token missing');
  response = await revoke(undefined);
  t.equal(bodyOf(response)['error'], 'invalid_request', 'not a form body');
  response = await fixture.server.handleRevocationRequest(createFormRequest('/oauth/revoke', { token: accessToken }));
  t.equal(response.status, 401);
  t.equal(bodyOf(response)['error'], 'invalid_client', 'no client authentication');
  response = await fixture.server.handleRevocationRequest(
    createFormRequest('/oauth/revoke', { token: accessToken }, { authorization: basicAuthorization(client.client.id, 'wrong') }),
  );
  t.equal(response.status, 401);
  t.match(response.headers['www-authenticate'], /^Basic realm=/);
  response = await fixture.server.handleRevocationRequest(
    createFormRequest('/oauth/revoke', { token: accessToken }, { authorization: basicAuthorization(client.client.id, client.clientSecret ?? '') }, { secure: false }),
  );
  t.equal(bodyOf(response)['error_description'], 'TLS required');
  t.same(fixture.storage.snapshot(), before);
});

t.test('a public client revokes its own tokens with its client_id', async (t) => {
  const fixture = createFixture();
  const spa = await fixture.server.registerClient({ name: 'spa', type: 'public', redirectUris: [REDIRECT_URI] });
  const code = await obtainCode(fixture, spa);
  const tokens = bodyOf(await fixture.server.handleTokenRequest(
    createFormRequest('/oauth/token', { grant_type: 'authorization_code', client_id: spa.client.id, code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  ));
  const response = await fixture.server.handleRevocationRequest(createFormRequest('/oauth/revoke', { token: String(tokens['refresh_token']), client_id: spa.client.id }));
  t.equal(response.status, 200);
  t.ok(fixture.storage.snapshot().refreshTokens.every((row) => row.revokedAt !== null));
});

t.test('introspection of an active access token', async (t) => {
  const { fixture, client, accessToken, introspect } = await setup({ findUsername: async (id) => (id === 'user-1' ? 'alice' : null) });
  const response = await introspect({ token: accessToken });
  t.equal(response.status, 200);
  t.match(response.headers, { 'cache-control': 'no-store', 'content-type': 'application/json' });
  const now = Math.floor(fixture.clock.now.getTime() / 1000);
  t.same(response.body, {
    active: true,
    scope: 'read',
    client_id: client.client.id,
    token_type: 'Bearer',
    exp: now + 3600,
    iat: now,
    iss: 'https://auth.example.com',
    sub: 'user-1',
    username: 'alice',
  });
});

t.test('introspection of a refresh token by its own client', async (t) => {
  const { refreshToken, introspect } = await setup();
  const response = await introspect({ token: refreshToken, token_type_hint: 'refresh_token' });
  t.match(response.body, { active: true, token_type: 'refresh_token', sub: 'user-1' });
  t.notOk('username' in (response.body as object), 'no username without findUsername');
});

t.test("another client learns nothing of a token unless introspectionPolicy admits it (RFC 7662 section 4)", async (t) => {
  const { other, accessToken, refreshToken, introspect } = await setup();
  for (const token of [accessToken, refreshToken]) {
    const response = await introspect({ token }, other);
    t.equal(response.status, 200);
    t.same(response.body, { active: false }, "another client's token reads as inactive");
    const unknown = await introspect({ token: 'pca_unknown' }, other);
    t.same(response, unknown, 'exactly the answer to an unknown token');
  }

  const asked: unknown[] = [];
  const admitted = await setup({
    introspectionPolicy: (client, token) => {
      asked.push({ client: client.id, token });
      return client.name === 'Resource server';
    },
  });
  const resourceServer = await registerTestClient(admitted.fixture, { name: 'Resource server' });
  const response = await admitted.introspect({ token: admitted.accessToken }, resourceServer);
  t.match(response.body, { active: true, client_id: admitted.client.client.id, sub: 'user-1', scope: 'read' }, 'the policy admits it');
  t.same(asked, [{
    client: resourceServer.client.id,
    token: {
      kind: 'access_token',
      clientId: admitted.client.client.id,
      userId: 'user-1',
      scope: ['read'],
      audience: [],
      issuedAt: admitted.fixture.clock.now,
      expiresAt: new Date(admitted.fixture.clock.now.getTime() + 3600_000),
    },
  }], 'the policy sees the client and the token\'s public facts, no digest');
  t.same((await admitted.introspect({ token: admitted.refreshToken }, admitted.other)).body, { active: false }, 'and refuses whom it does not admit');
  t.match((await admitted.introspect({ token: admitted.accessToken })).body, { active: true }, 'its own client without asking the policy');
  t.equal(asked.length, 2, 'the policy was asked for other clients only');

  const asynchronous = await setup({ introspectionPolicy: async () => true });
  t.match((await asynchronous.introspect({ token: asynchronous.refreshToken }, asynchronous.other)).body, { active: true, token_type: 'refresh_token' });
});

t.test('introspectionPolicy must be a function', async (t) => {
  t.throws(() => createFixture({ introspectionPolicy: true as unknown as () => boolean }), { name: 'TypeError', message: /introspectionPolicy/ });
});

t.test('inactive tokens say only active: false', async (t) => {
  const { fixture, accessToken, refreshToken, revoke, introspect } = await setup({ accessTokenTtl: 10 });
  t.same((await introspect({ token: 'pca_unknown' })).body, { active: false }, 'unknown');
  fixture.clock.advance(11);
  t.same((await introspect({ token: accessToken })).body, { active: false }, 'expired');
  await revoke({ token: refreshToken });
  const response = await introspect({ token: refreshToken });
  t.equal(response.status, 200);
  t.same(response.body, { active: false }, 'revoked');
});

t.test('a rotated refresh token is inactive', async (t) => {
  const { fixture, client, refreshToken, introspect } = await setup();
  await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'refresh_token', refresh_token: refreshToken }));
  t.same((await introspect({ token: refreshToken })).body, { active: false });
});

t.test('introspection needs client authentication with a secret', async (t) => {
  const { fixture, accessToken, introspect } = await setup();
  const spa = await fixture.server.registerClient({ name: 'spa', type: 'public', redirectUris: [REDIRECT_URI] });
  let response = await fixture.server.handleIntrospectionRequest(createFormRequest('/oauth/introspect', { token: accessToken }));
  t.equal(response.status, 401);
  t.equal(bodyOf(response)['error'], 'invalid_client');
  response = await fixture.server.handleIntrospectionRequest(createFormRequest('/oauth/introspect', { token: accessToken, client_id: spa.client.id }));
  t.equal(response.status, 401);
  t.equal(bodyOf(response)['error'], 'invalid_client', 'a public client');
  response = await introspect({});
  t.equal(response.status, 400);
  t.equal(bodyOf(response)['error'], 'invalid_request', 'token missing');
  t.equal(response.headers['cache-control'], 'no-store');
});

t.test('introspection refuses plain http when enforceSecure is on', async (t) => {
  const { fixture, client, accessToken } = await setup();
  const response = await fixture.server.handleIntrospectionRequest(
    createFormRequest('/oauth/introspect', { token: accessToken }, { authorization: basicAuthorization(client.client.id, client.clientSecret ?? '') }, { secure: false }),
  );
  t.equal(response.status, 400);
  t.same(response.body, { error: 'invalid_request', error_description: 'TLS required' });
});

t.test('introspection behind the client cache answers alike whether the client is kept or not', async (t) => {
  const storage = withClientCache(new MemoryStorage());
  const fixture = createFixture({ storage });
  const client = await registerTestClient(fixture);
  const spa = await fixture.server.registerClient({ name: 'spa', type: 'public', redirectUris: [REDIRECT_URI] });
  const { access_token: token } = await fixture.server.issueTokens({ clientId: client.client.id, userId: 'user-1', scope: ['read'] });
  const secret = client.clientSecret ?? '';
  const introspect = (headers: Record<string, string>, form: Record<string, string> = {}) =>
    fixture.server.handleIntrospectionRequest(createFormRequest('/oauth/introspect', { token, ...form }, headers));
  const basic = { authorization: basicAuthorization(client.client.id, secret) };
  const wrong = { authorization: basicAuthorization(client.client.id, `${secret}x`) };

  for (const round of ['a lookup', 'the kept record']) {
    t.match((await introspect(basic)).body, { active: true, client_id: client.client.id, sub: 'user-1' }, `Basic, ${round}`);
    t.match((await introspect({}, { client_id: client.client.id, client_secret: secret })).body, { active: true }, `client_secret_post, ${round}`);
    const refused = await introspect(wrong);
    t.equal(refused.status, 401, `a wrong secret, ${round}`);
    t.same(refused.body, { error: 'invalid_client', error_description: 'Client authentication failed.' });
    t.equal(refused.headers['www-authenticate'], `Basic realm="${ISSUER}"`);
    const publicClient = await introspect({}, { client_id: spa.client.id });
    t.equal(publicClient.status, 401, `a public client, ${round}`);
    t.equal(bodyOf(publicClient)['error'], 'invalid_client');
    t.equal(publicClient.headers['www-authenticate'], undefined, 'no Basic challenge when Basic was not tried');
  }
  // A stored digest other than digestSecret's exact spelling (here padded) matches nothing,
  // looked up or kept.
  await storage.updateClient(client.client.id, { secretDigest: `${digestSecret(secret)}=` });
  t.equal((await introspect(basic)).status, 401, 'a padded stored digest, looked up');
  t.equal((await introspect(basic)).status, 401, 'a padded stored digest, kept');
  await storage.updateClient(client.client.id, { secretDigest: digestSecret(secret) });
  t.equal((await introspect(basic)).status, 200, 'the exact digest again');
  t.match((await introspect(basic)).body, { active: true }, 'and kept');
  await storage.updateClient(client.client.id, { disabled: true });
  t.equal((await introspect(basic)).status, 401, 'a client disabled through the cached storage, at once');
  t.equal((await introspect(basic)).status, 401, 'and once its record is kept again');
});
