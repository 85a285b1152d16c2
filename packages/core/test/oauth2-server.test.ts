import t from 'tap';
import { createDefaultScopes } from '@portcullis/scopes';
import { MemoryStorage, OAuthError, SecretBox, createAuthorizationServer, digestSecret } from '../src/index.js';
import { ISSUER, REDIRECT_URI, countRows, createFixture, registerTestClient, errorLike } from './oauth2-fixtures.js';

const KEY = '0'.repeat(63) + '1';

t.test('verifyAccessToken: the grant of a live token, implications counting', async (t) => {
  const fixture = createFixture();
  const client = await registerTestClient(fixture);
  const tokens = await fixture.server.issueTokens({ clientId: client.client.id, userId: 'user-1', scope: ['write'] });
  const grant = await fixture.server.verifyAccessToken(tokens.access_token, ['read']);
  const [record] = fixture.storage.snapshot().accessTokens;
  t.same(grant, {
    clientId: client.client.id,
    userId: 'user-1',
    scope: ['write'],
    audience: [],
    expiresAt: new Date(fixture.clock.now.getTime() + 3600_000),
    tokenId: record?.id,
  });
  t.ok(await fixture.server.verifyAccessToken(tokens.access_token, ['write', 'read']));
  t.ok(await fixture.server.verifyAccessToken(tokens.access_token));
});

t.test('verifyAccessToken: invalid_token 401 with the RFC 6750 challenge', async (t) => {
  const fixture = createFixture({ accessTokenTtl: 5 });
  const client = await registerTestClient(fixture);
  const tokens = await fixture.server.issueTokens({ clientId: client.client.id, userId: 'u', scope: ['read'] });
  const check = async (token: string, description: string) => {
    try {
      await fixture.server.verifyAccessToken(token, ['read']);
      t.fail('should have thrown');
    } catch (error) {
      t.ok(error instanceof OAuthError);
      if (!(error instanceof OAuthError)) return;
      t.equal(error.status, 401);
      t.equal(error.error, 'invalid_token');
      t.equal(error.headers['www-authenticate'], `Bearer realm="${ISSUER}", error="invalid_token", error_description="${description}"`);
    }
  };
  await check('pca_unknown', 'The access token is invalid.');
  await check('', 'The access token is missing.');
  fixture.clock.advance(6);
  await check(tokens.access_token, 'The access token has expired.');
  const fresh = await fixture.server.issueTokens({ clientId: client.client.id, userId: 'u', scope: ['read'] });
  await fixture.server.revokeGrant('u', client.client.id);
  await check(fresh.access_token, 'The access token has been revoked.');
});

t.test('verifyAccessToken: insufficient_scope 403 names the scope needed', async (t) => {
  const scopes = createDefaultScopes().define('polls:vote');
  const fixture = createFixture({ scopes });
  const client = await registerTestClient(fixture);
  const tokens = await fixture.server.issueTokens({ clientId: client.client.id, userId: 'u', scope: ['read'] });
  for (const needed of [['write'], ['read', 'polls:vote'], ['undefined-scope']]) {
    try {
      await fixture.server.verifyAccessToken(tokens.access_token, needed);
      t.fail('should have thrown');
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      t.equal(error.status, 403);
      t.equal(error.error, 'insufficient_scope');
      t.equal(error.scope, needed.join(' '));
      t.match(error.headers['www-authenticate'], new RegExp(`^Bearer realm="${ISSUER}", error="insufficient_scope", error_description="[^"]+", scope="${needed.join(' ')}"$`));
    }
  }
});

t.test('verifyAccessToken reads storage once per call', async (t) => {
  const fixture = createFixture();
  const client = await registerTestClient(fixture);
  const tokens = await fixture.server.issueTokens({ clientId: client.client.id, userId: 'u', scope: ['read'] });
  let reads = 0;
  const find = fixture.storage.findAccessToken.bind(fixture.storage);
  fixture.storage.findAccessToken = async (digest) => {
    reads += 1;
    return find(digest);
  };
  const findClient = fixture.storage.findClient.bind(fixture.storage);
  fixture.storage.findClient = async (id) => {
    reads += 100;
    return findClient(id);
  };
  await fixture.server.verifyAccessToken(tokens.access_token, ['read']);
  await fixture.server.verifyAccessToken(tokens.access_token, ['read']);
  t.equal(reads, 2);
});

t.test('metadata (RFC 8414) from the options', async (t) => {
  const fixture = createFixture({ endpoints: { token: '/o/token' } });
  const response = fixture.server.getMetadata();
  t.equal(response.status, 200);
  t.equal(response.headers['content-type'], 'application/json');
  t.same(response.body, {
    issuer: ISSUER,
    authorization_endpoint: `${ISSUER}/oauth/authorize`,
    token_endpoint: `${ISSUER}/o/token`,
    revocation_endpoint: `${ISSUER}/oauth/revoke`,
    introspection_endpoint: `${ISSUER}/oauth/introspect`,
    device_authorization_endpoint: `${ISSUER}/oauth/device_authorization`,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: ['read', 'write'],
    authorization_response_iss_parameter_supported: true,
  });
  const withPassword = createFixture({ profile: 'oauth2.0', allowPlainPkce: true, issuer: 'https://example.com/tenant/', verifyUser: async () => null });
  t.match(withPassword.server.getMetadata().body, {
    issuer: 'https://example.com/tenant/',
    token_endpoint: 'https://example.com/tenant/oauth/token',
    response_types_supported: ['code', 'token'],
    response_modes_supported: ['query', 'fragment'],
    grant_types_supported: ['authorization_code', 'implicit', 'refresh_token', 'client_credentials', 'password', 'urn:ietf:params:oauth:grant-type:device_code'],
  });
  t.strictSame(
    (withPassword.server.getMetadata().body as Record<string, unknown>).code_challenge_methods_supported,
    ['S256'],
    'plain, accepted from older clients, is never offered',
  );
});

t.test('metadata without an authorization endpoint: only what a machine client can reach', async (t) => {
  const fixture = createFixture({ endpoints: { authorization: null }, profile: 'oauth2.0', allowPlainPkce: true });
  t.strictSame(fixture.server.getMetadata().body, {
    issuer: ISSUER,
    token_endpoint: `${ISSUER}/oauth/token`,
    revocation_endpoint: `${ISSUER}/oauth/revoke`,
    introspection_endpoint: `${ISSUER}/oauth/introspect`,
    response_types_supported: [],
    grant_types_supported: ['refresh_token', 'client_credentials'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    scopes_supported: ['read', 'write'],
  });
  t.equal(fixture.server.options.endpoints.authorization, null);
  const withPassword = createFixture({ endpoints: { authorization: null }, profile: 'oauth2.0', verifyUser: async () => null });
  t.strictSame((withPassword.server.getMetadata().body as Record<string, unknown>).grant_types_supported, ['refresh_token', 'client_credentials', 'password']);
  const storage = new MemoryStorage();
  t.throws(() => createAuthorizationServer({ storage, issuer: ISSUER, endpoints: { token: null as unknown as string } }), /endpoints\.token/);
});

t.test('options: defaults, and clear errors for bad ones', async (t) => {
  const storage = new MemoryStorage();
  const server = createAuthorizationServer({ storage, issuer: ISSUER });
  t.match(server.options, {
    accessTokenTtl: 3600,
    refreshTokenTtl: 30 * 24 * 3600,
    authorizationCodeTtl: 60,
    deleteExpired: false,
    singleAccessToken: false,
    enforceSecure: true,
    profile: 'oauth2.1',
    allowPlainPkce: false,
    allowLocalhostAnyPort: false,
    defaultScopes: [],
    endpoints: { authorization: '/oauth/authorize', token: '/oauth/token', revocation: '/oauth/revoke', introspection: '/oauth/introspect' },
  });
  t.equal(server.secretBox, null);
  t.notOk('secretKey' in server.options, 'the key is not exposed in the options');
  t.same(server.scopes.list().map((s) => s.name), ['read', 'write']);
  t.throws(() => createAuthorizationServer({ storage, issuer: 'not a url' }), /issuer/);
  t.throws(() => createAuthorizationServer({ storage, issuer: `${ISSUER}?x=1` }), /issuer/);
  t.throws(() => createAuthorizationServer({ storage, issuer: ISSUER, accessTokenTtl: 0 }), /accessTokenTtl/);
  t.throws(() => createAuthorizationServer({ storage, issuer: ISSUER, authorizationCodeTtl: 1.5 }), /authorizationCodeTtl/);
  t.throws(() => createAuthorizationServer({ storage, issuer: ISSUER, defaultScopes: ['admin'] }), /defaultScopes/);
  t.throws(() => createAuthorizationServer({ storage, issuer: ISSUER, secretKey: 'short' }), /secretKey/);
  t.throws(() => createAuthorizationServer({ storage, issuer: ISSUER, endpoints: { token: 'token' } }), /endpoints\.token/);
  t.throws(() => createAuthorizationServer({ storage, issuer: ISSUER, profile: 'oauth2' as 'oauth2.0' }), /options\.profile must be 'oauth2\.1' or 'oauth2\.0'/);
  t.throws(() => createAuthorizationServer({ storage, issuer: ISSUER, allowLocalhostAnyPort: 'yes' as unknown as boolean }), /allowLocalhostAnyPort must be a boolean/);
  const keyed = createAuthorizationServer({ storage, issuer: ISSUER, secretKey: KEY });
  t.ok(keyed.secretBox instanceof SecretBox);
});

t.test('registerClient: a confidential client with a secret shown once', async (t) => {
  const fixture = createFixture();
  const registered = await fixture.server.registerClient({ name: ' Polls ', redirectUris: [REDIRECT_URI], ownerId: 'admin' });
  t.match(registered.client.id, /^pci_[A-Za-z0-9_-]{22}$/);
  t.match(registered.clientSecret, /^pcs_[A-Za-z0-9_-]{43}$/);
  const [stored] = fixture.storage.snapshot().clients;
  t.same(stored, registered.client);
  t.match(stored, {
    name: 'Polls',
    type: 'confidential',
    secretDigest: digestSecret(registered.clientSecret ?? ''),
    redirectUris: [REDIRECT_URI],
    scopes: ['read', 'write'],
    grantTypes: ['authorization_code', 'refresh_token'],
    responseTypes: ['code'],
    ownerId: 'admin',
    oauth1Enabled: false,
    oauth1SecretEncrypted: null,
    disabled: false,
  });
  t.notOk(JSON.stringify(fixture.storage.snapshot()).includes(registered.clientSecret ?? 'x'), 'the secret is not stored');
});

t.test('registerClient: public, implicit, given ids and seed-style scopes', async (t) => {
  const fixture = createFixture({ profile: 'oauth2.0', defaultScopes: ['read'] });
  const spa = await fixture.server.registerClient({ name: 'spa', type: 'public', grantTypes: ['authorization_code', 'implicit'], redirectUris: ['com.example.app:/cb'] });
  t.equal(spa.clientSecret, null);
  t.equal(spa.client.secretDigest, null);
  t.same(spa.client.responseTypes, ['code', 'token']);
  t.same(spa.client.scopes, ['read'], 'defaultScopes when none given');
  const seeded = await fixture.server.registerClient({ name: 'seed', clientId: '1234', redirectUris: ['http://localhost:8000/cb'], scopes: ['read', 'write'] });
  t.equal(seeded.client.id, '1234');
  const service = await fixture.server.registerClient({ name: 'svc', grantTypes: ['client_credentials'] });
  t.same(service.client.redirectUris, []);
  t.same(service.client.responseTypes, []);
});

t.test('registerClient refuses bad input and stores nothing', async (t) => {
  const fixture = createFixture();
  await fixture.server.registerClient({ name: 'first', clientId: 'taken', redirectUris: [REDIRECT_URI] });
  const before = countRows(fixture.storage);
  const bad: [string, Parameters<typeof fixture.server.registerClient>[0]][] = [
    ['no name', { name: '  ', redirectUris: [REDIRECT_URI] }],
    ['javascript: redirect', { name: 'x', redirectUris: ['javascript:alert(1)'] }],
    ['data: redirect', { name: 'x', redirectUris: ['data:text/html,x'] }],
    ['fragment', { name: 'x', redirectUris: ['https://a.example/cb#f'] }],
    ['http off loopback', { name: 'x', redirectUris: ['http://a.example/cb'] }],
    ['relative', { name: 'x', redirectUris: ['/cb'] }],
    ['no redirect for the code grant', { name: 'x' }],
    ['unknown scope', { name: 'x', redirectUris: [REDIRECT_URI], scopes: ['admin'] }],
    ['unknown grant', { name: 'x', redirectUris: [REDIRECT_URI], grantTypes: ['device_code' as 'password'] }],
    ['no grant', { name: 'x', redirectUris: [REDIRECT_URI], grantTypes: [] }],
    ['public client_credentials', { name: 'x', type: 'public', grantTypes: ['client_credentials'] }],
    ['bad type', { name: 'x', type: 'secret' as 'public', redirectUris: [REDIRECT_URI] }],
    ['taken id', { name: 'x', clientId: 'taken', redirectUris: [REDIRECT_URI] }],
    ['id with a newline', { name: 'x', clientId: 'a\nb', redirectUris: [REDIRECT_URI] }],
    ['implicit under OAuth 2.1', { name: 'x', redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code', 'implicit'] }],
    ['password under OAuth 2.1', { name: 'x', redirectUris: [REDIRECT_URI], grantTypes: ['password'] }],
  ];
  for (const [label, input] of bad) {
    await t.rejects(fixture.server.registerClient(input), errorLike({ error: 'invalid_request' }), label);
  }
  t.same(countRows(fixture.storage), before);
});

t.test('registerClient: a misspelt scope is refused with its name and the known scopes', async (t) => {
  const fixture = createFixture();
  const before = countRows(fixture.storage);
  await t.rejects(
    fixture.server.registerClient({ name: 'x', redirectUris: [REDIRECT_URI], scopes: ['read', 'wirte', 'raed'] }),
    errorLike({ error: 'invalid_request', description: 'The scope registry does not define \'wirte\', \'raed\'; known scopes: read, write.' }),
  );
  t.same(countRows(fixture.storage), before, 'nothing stored');
});

t.test('registerClient with oauth1Enabled keeps the secret encrypted, and needs a key', async (t) => {
  const fixture = createFixture({ secretKey: KEY });
  const registered = await fixture.server.registerClient({ name: 'legacy', redirectUris: [REDIRECT_URI], oauth1Enabled: true });
  const sealed = registered.client.oauth1SecretEncrypted;
  t.match(sealed, /^v1\./);
  t.equal(fixture.server.secretBox?.decrypt(sealed ?? ''), registered.clientSecret);
  t.equal(new SecretBox(KEY).decrypt(sealed ?? ''), registered.clientSecret);
  await t.rejects(fixture.server.registerClient({ name: 'x', type: 'public', redirectUris: [REDIRECT_URI], oauth1Enabled: true }), errorLike({ error: 'invalid_request' }));

  const keyless = createFixture();
  await t.rejects(keyless.server.registerClient({ name: 'legacy', redirectUris: [REDIRECT_URI], oauth1Enabled: true }), /secretKey/);
  t.equal(countRows(keyless.storage)['clients'], 0);
});

t.test('http redirect URIs anywhere when enforceSecure is off', async (t) => {
  const fixture = createFixture({ enforceSecure: false });
  const client = await fixture.server.registerClient({ name: 'dev', redirectUris: ['http://polls.test/cb'] });
  t.same(client.client.redirectUris, ['http://polls.test/cb']);
});

t.test('issueTokens by hand', async (t) => {
  const fixture = createFixture();
  const client = await registerTestClient(fixture);
  const tokens = await fixture.server.issueTokens({ clientId: client.client.id, userId: 'u', withRefreshToken: true });
  t.match(tokens, { token_type: 'Bearer', expires_in: 3600, scope: 'read write' });
  t.match(tokens.refresh_token, /^pcr_/);
  const snapshot = fixture.storage.snapshot();
  t.equal(snapshot.accessTokens[0]?.familyId, snapshot.refreshTokens[0]?.familyId);
  await t.rejects(fixture.server.issueTokens({ clientId: 'nobody', userId: 'u' }), errorLike({ error: 'invalid_client' }));
  await t.rejects(fixture.server.issueTokens({ clientId: client.client.id, userId: 'u', scope: ['admin'] }), errorLike({ error: 'invalid_scope' }));
  await t.rejects(fixture.server.issueTokens({ clientId: client.client.id, userId: null, withRefreshToken: true }), errorLike({ error: 'invalid_request' }));
  t.equal(fixture.storage.snapshot().accessTokens.length, 1);
});

t.test('issueTokens by hand records the client\'s use, at most once an hour, and refuses a disabled client', async (t) => {
  const fixture = createFixture();
  const client = await registerTestClient(fixture);
  const lastUsed = async () => (await fixture.storage.findClient(client.client.id))?.lastUsedAt;
  t.equal(await lastUsed(), null);
  await fixture.server.issueTokens({ clientId: client.client.id, userId: 'u' });
  const first = fixture.clock.now;
  t.same(await lastUsed(), first, 'recorded');
  fixture.clock.advance(3599);
  await fixture.server.issueTokens({ clientId: client.client.id, userId: 'u' });
  t.same(await lastUsed(), first, 'not written again within the hour');
  fixture.clock.advance(1);
  await fixture.server.issueTokens({ clientId: client.client.id, userId: 'u' });
  t.same(await lastUsed(), fixture.clock.now, 'moved after an hour');
  await fixture.storage.updateClient(client.client.id, { disabled: true });
  await t.rejects(fixture.server.issueTokens({ clientId: client.client.id, userId: 'u' }), errorLike({ error: 'invalid_client' }));
  t.equal(fixture.storage.snapshot().accessTokens.length, 3, 'nothing issued to a disabled client');
});

t.test('revokeGrant revokes what a user gave a client, and only that', async (t) => {
  const fixture = createFixture();
  const client = await registerTestClient(fixture);
  const mine = await fixture.server.issueTokens({ clientId: client.client.id, userId: 'u', withRefreshToken: true });
  const others = await fixture.server.issueTokens({ clientId: client.client.id, userId: 'v' });
  t.equal(await fixture.server.revokeGrant('u', client.client.id), 2, 'the access and the refresh token');
  await t.rejects(fixture.server.verifyAccessToken(mine.access_token));
  t.ok(await fixture.server.verifyAccessToken(others.access_token));
});

t.test('purgeExpired deletes expired rows', async (t) => {
  const fixture = createFixture({ accessTokenTtl: 10 });
  const client = await registerTestClient(fixture);
  await fixture.server.issueTokens({ clientId: client.client.id, userId: 'u' });
  fixture.clock.advance(11);
  const live = await fixture.server.issueTokens({ clientId: client.client.id, userId: 'u' });
  const result = await fixture.server.purgeExpired();
  t.equal(result.accessTokens, 1);
  t.equal(fixture.storage.snapshot().accessTokens.length, 1);
  t.ok(await fixture.server.verifyAccessToken(live.access_token));
});

t.test('an expired token met with deleteExpired is purged', async (t) => {
  const fixture = createFixture({ accessTokenTtl: 10, deleteExpired: true });
  const client = await registerTestClient(fixture);
  const tokens = await fixture.server.issueTokens({ clientId: client.client.id, userId: 'u' });
  fixture.clock.advance(11);
  await t.rejects(fixture.server.verifyAccessToken(tokens.access_token), errorLike({ error: 'invalid_token' }));
  t.equal(fixture.storage.snapshot().accessTokens.length, 0);
});
