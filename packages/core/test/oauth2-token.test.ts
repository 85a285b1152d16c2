import t from 'tap';
import { StorageError, tokenDigest, type OAuthResponse } from '../src/index.js';
import { withClientCache } from '../src/storage/client-cache.js';
import { MemoryStorage } from '../src/storage/memory-store.js';
import {
  CHALLENGE,
  REDIRECT_URI,
  VERIFIER,
  basicAuthorization,
  bodyOf,
  countRows,
  createFixture,
  createFormRequest,
  obtainCode,
  registerTestClient,
  tokenRequest,
  errorLike,
} from './oauth2-fixtures.js';

/** The assertions the helper needs; a subtest has them as the root test does. */
type Asserts = Pick<typeof t, 'equal' | 'match'>;

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache', 'content-type': 'application/json' };

/** Asserts an RFC 6749 section 5.2 answer. */
function assertError(t: Asserts, response: OAuthResponse, status: number, error: string, message?: string): void {
  t.equal(response.status, status, message ?? `${error} status`);
  t.match(response.headers, NO_STORE, 'no-store headers on errors');
  t.equal(bodyOf(response)['error'], error, message ?? error);
}

async function setup(options: Parameters<typeof createFixture>[0] = {}) {
  const fixture = createFixture(options);
  const client = await registerTestClient(fixture);
  return { fixture, client };
}

t.test('the transport rules of the token endpoint', async (t) => {
  const { fixture, client } = await setup();
  const auth = { authorization: basicAuthorization(client.client.id, client.clientSecret ?? '') };
  const before = countRows(fixture.storage);

  let response = await fixture.server.handleTokenRequest(createFormRequest('/oauth/token', undefined, auth));
  assertError(t, response, 400, 'invalid_request');
  t.equal(bodyOf(response)['error_description'], 'The token endpoint expects application/x-www-form-urlencoded');

  response = await fixture.server.handleTokenRequest(createFormRequest('/oauth/token', { grant_type: 'client_credentials' }, auth, { method: 'GET' }));
  assertError(t, response, 405, 'invalid_request');

  response = await fixture.server.handleTokenRequest(createFormRequest('/oauth/token', { grant_type: 'client_credentials' }, auth, { secure: false }));
  assertError(t, response, 400, 'invalid_request');
  t.equal(bodyOf(response)['error_description'], 'TLS required');

  response = await fixture.server.handleTokenRequest(createFormRequest('/oauth/token', {}, auth));
  assertError(t, response, 400, 'invalid_request', 'grant_type missing');
  response = await fixture.server.handleTokenRequest(createFormRequest('/oauth/token', { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer' }, auth));
  assertError(t, response, 400, 'unsupported_grant_type');
  response = await fixture.server.handleTokenRequest(createFormRequest('/oauth/token', { grant_type: 'password', username: 'a', password: 'b' }, auth));
  assertError(t, response, 400, 'unsupported_grant_type', 'no password grant without verifyUser');
  response = await fixture.server.handleTokenRequest(createFormRequest('/oauth/token', { grant_type: 'client_credentials', scope: ['read', 'write'] }, auth));
  assertError(t, response, 400, 'invalid_request', 'a repeated parameter');
  t.same(countRows(fixture.storage), before, 'no error stored anything');
});

t.test('client authentication', async (t) => {
  const { fixture, client } = await setup();
  await fixture.storage.updateClient(client.client.id, { grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'] });
  const id = client.client.id;
  const secret = client.clientSecret ?? '';
  const publicClient = await fixture.server.registerClient({ name: 'public', type: 'public', redirectUris: [REDIRECT_URI] });
  const send = (body: Record<string, string>, headers: Record<string, string> = {}) =>
    fixture.server.handleTokenRequest(createFormRequest('/oauth/token', { grant_type: 'client_credentials', ...body }, headers));
  const before = countRows(fixture.storage);

  let response = await send({}, { authorization: basicAuthorization(id, `${secret}x`) });
  assertError(t, response, 401, 'invalid_client', 'wrong secret in Basic');
  t.equal(response.headers['www-authenticate'], 'Basic realm="https://auth.example.com"');
  response = await send({}, { authorization: basicAuthorization('nobody', secret) });
  assertError(t, response, 401, 'invalid_client', 'unknown client in Basic');
  t.ok(response.headers['www-authenticate']);
  response = await send({}, { authorization: 'Basic %%%' });
  assertError(t, response, 401, 'invalid_client', 'malformed Basic');
  t.ok(response.headers['www-authenticate']);

  response = await send({ client_id: id, client_secret: 'wrong' });
  assertError(t, response, 401, 'invalid_client', 'wrong secret in the body');
  t.equal(response.headers['www-authenticate'], undefined, 'no Basic challenge when Basic was not used');
  response = await send({ client_id: id });
  assertError(t, response, 401, 'invalid_client', 'a confidential client without its secret');
  response = await send({ client_id: publicClient.client.id, client_secret: 'anything' });
  assertError(t, response, 401, 'invalid_client', 'a public client has no secret to send');
  response = await send({});
  assertError(t, response, 401, 'invalid_client', 'no authentication at all');
  response = await send({ client_secret: secret });
  assertError(t, response, 401, 'invalid_client', 'a secret without a client_id');

  response = await send({ client_secret: secret }, { authorization: basicAuthorization(id, secret) });
  assertError(t, response, 400, 'invalid_request', 'two methods');
  response = await send({ client_id: publicClient.client.id }, { authorization: basicAuthorization(id, secret) });
  assertError(t, response, 400, 'invalid_request', 'client_id differing from Basic');

  await fixture.storage.updateClient(id, { disabled: true });
  response = await send({}, { authorization: basicAuthorization(id, secret) });
  assertError(t, response, 401, 'invalid_client', 'a disabled client');
  await fixture.storage.updateClient(id, { disabled: false });
  t.same(countRows(fixture.storage), before, 'failed authentication stored nothing');

  response = await send({}, { authorization: basicAuthorization(id, secret) });
  t.equal(response.status, 200, 'client_secret_basic');
  response = await send({ client_id: id, client_secret: secret });
  t.equal(response.status, 200, 'client_secret_post');
  response = await send({ client_id: id }, { authorization: basicAuthorization(id, secret) });
  t.equal(response.status, 200, 'client_id repeated in the body with Basic is fine when equal');
});

t.test('Basic credentials with reserved characters are form-urlencoded', async (t) => {
  const fixture = createFixture();
  const client = await fixture.server.registerClient({ name: 'odd', clientId: 'my client:1+%&', grantTypes: ['client_credentials'] });
  const response = await fixture.server.handleTokenRequest(
    createFormRequest('/oauth/token', { grant_type: 'client_credentials' }, { authorization: basicAuthorization(client.client.id, client.clientSecret ?? '') }),
  );
  t.equal(response.status, 200);
});

t.test('authorization_code: the RFC 6749 5.1 response, digests at rest, the code family', async (t) => {
  const { fixture, client } = await setup();
  const code = await obtainCode(fixture, client, { scope: 'read write' });
  const response = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  );
  t.equal(response.status, 200);
  t.same(response.headers, NO_STORE);
  const body = bodyOf(response);
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
  t.match(body, { token_type: 'Bearer', expires_in: 3600, scope: 'read write' });
  t.match(body['access_token'], /^pca_[0-9A-HJKMNP-TV-Z]{10}[A-Za-z0-9_-]{43}$/);
  t.match(body['refresh_token'], /^pcr_[0-9A-HJKMNP-TV-Z]{10}[A-Za-z0-9_-]{43}$/);

  const snapshot = fixture.storage.snapshot();
  const dump = JSON.stringify(snapshot);
  for (const secret of [code, body['access_token'], body['refresh_token'], client.clientSecret]) t.notOk(dump.includes(String(secret)), 'no credential in clear at rest');
  const [access] = snapshot.accessTokens;
  const [refresh] = snapshot.refreshTokens;
  const [storedCode] = snapshot.authorizationCodes;
  t.equal(access?.digest, tokenDigest(String(body['access_token'])));
  t.equal(refresh?.digest, tokenDigest(String(body['refresh_token'])));
  t.equal(access?.familyId, storedCode?.familyId);
  t.equal(refresh?.familyId, storedCode?.familyId);
  t.same(storedCode?.consumedAt, fixture.clock.now);
  t.equal(access?.userId, 'user-1');
  t.same(access?.expiresAt, new Date(fixture.clock.now.getTime() + 3600_000));
  t.same(refresh?.expiresAt, new Date(fixture.clock.now.getTime() + 30 * 24 * 3600_000));
});

t.test('authorization_code: a reused code is invalid_grant and revokes what it gave', async (t) => {
  const { fixture, client } = await setup();
  const code = await obtainCode(fixture, client);
  const request = tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER });
  const first = await fixture.server.handleTokenRequest(request);
  t.equal(first.status, 200);
  const accessToken = String(bodyOf(first)['access_token']);
  t.ok(await fixture.server.verifyAccessToken(accessToken));

  const second = await fixture.server.handleTokenRequest(request);
  assertError(t, second, 400, 'invalid_grant');
  const snapshot = fixture.storage.snapshot();
  t.equal(snapshot.accessTokens.length, 1, 'nothing new issued');
  t.ok(snapshot.accessTokens.every((token) => token.revokedAt !== null), 'the access token is revoked');
  t.ok(snapshot.refreshTokens.every((token) => token.revokedAt !== null), 'the refresh token is revoked');
  await t.rejects(fixture.server.verifyAccessToken(accessToken), errorLike({ error: 'invalid_token' }));
});

t.test('authorization_code: every check of the code', async (t) => {
  const { fixture, client } = await setup();
  const other = await registerTestClient(fixture);
  const exchange = async (body: Record<string, string>, as = client) =>
    fixture.server.handleTokenRequest(tokenRequest(as, { grant_type: 'authorization_code', ...body }));
  const tokensBefore = () => fixture.storage.snapshot().accessTokens.length;

  assertError(t, await exchange({ redirect_uri: REDIRECT_URI }), 400, 'invalid_request', 'code missing');
  assertError(t, await exchange({ code: 'pcc_nonsense', redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }), 400, 'invalid_grant', 'unknown code');

  let code = await obtainCode(fixture, client);
  assertError(t, await exchange({ code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }, other), 400, 'invalid_grant', 'another client');

  code = await obtainCode(fixture, client);
  fixture.clock.advance(61);
  assertError(t, await exchange({ code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }), 400, 'invalid_grant', 'expired after 60 s');

  code = await obtainCode(fixture, client);
  assertError(t, await exchange({ code, code_verifier: VERIFIER }), 400, 'invalid_grant', 'redirect_uri sent at authorize but not now');
  code = await obtainCode(fixture, client);
  assertError(t, await exchange({ code, redirect_uri: `${REDIRECT_URI}?x`, code_verifier: VERIFIER }), 400, 'invalid_grant', 'redirect_uri differs');

  code = await obtainCode(fixture, client);
  assertError(t, await exchange({ code, redirect_uri: REDIRECT_URI, code_verifier: 'a'.repeat(43) }), 400, 'invalid_grant', 'wrong verifier');
  code = await obtainCode(fixture, client);
  assertError(t, await exchange({ code, redirect_uri: REDIRECT_URI }), 400, 'invalid_grant', 'challenge stored, no verifier');
  const legacy = await setup({ profile: 'oauth2.0' });
  code = await obtainCode(legacy.fixture, legacy.client, { code_challenge: '', code_challenge_method: '' });
  const withVerifier = tokenRequest(legacy.client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER });
  assertError(t, await legacy.fixture.server.handleTokenRequest(withVerifier), 400, 'invalid_grant', 'a verifier without a stored challenge');

  code = await obtainCode(fixture, client);
  const consumedBefore = fixture.storage.snapshot().authorizationCodes.filter((row) => row.consumedAt !== null).length;
  assertError(t, await exchange({ code, redirect_uri: REDIRECT_URI, code_verifier: 'short' }), 400, 'invalid_request', 'a malformed verifier');
  t.equal(fixture.storage.snapshot().authorizationCodes.filter((row) => row.consumedAt !== null).length, consumedBefore, 'a malformed request does not spend the code');
  t.equal(tokensBefore(), 0, 'no error issued a token');
  t.equal((await exchange({ code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER })).status, 200, 'the code still works');
});

t.test('authorization_code: redirect_uri left out at authorize may be left out at the token endpoint', async (t) => {
  const { fixture, client } = await setup();
  const code = await obtainCode(fixture, client, { redirect_uri: '' });
  t.equal(fixture.storage.snapshot().authorizationCodes[0]?.redirectUri, null);
  const response = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'authorization_code', code, code_verifier: VERIFIER }));
  t.equal(response.status, 200);
  const code2 = await obtainCode(fixture, client, { redirect_uri: '' });
  const wrong = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code: code2, code_verifier: VERIFIER, redirect_uri: 'https://evil.example/cb' }),
  );
  assertError(t, wrong, 400, 'invalid_grant', 'but if sent it must be registered');
});

t.test('authorization_code: public clients with PKCE, plain PKCE, and no refresh token without the grant', async (t) => {
  const fixture = createFixture({ profile: 'oauth2.0', allowPlainPkce: true });
  const spa = await fixture.server.registerClient({ name: 'spa', type: 'public', redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code'] });
  let code = await obtainCode(fixture, spa);
  let response = await fixture.server.handleTokenRequest(
    createFormRequest('/oauth/token', { grant_type: 'authorization_code', client_id: spa.client.id, code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  );
  t.equal(response.status, 200, 'client authentication none');
  t.notOk('refresh_token' in bodyOf(response), 'no refresh_token grant, no refresh token');
  t.equal(fixture.storage.snapshot().refreshTokens.length, 0);

  code = await obtainCode(fixture, spa, { code_challenge: VERIFIER, code_challenge_method: 'plain' });
  response = await fixture.server.handleTokenRequest(
    createFormRequest('/oauth/token', { grant_type: 'authorization_code', client_id: spa.client.id, code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  );
  t.equal(response.status, 200, 'plain verifier');
});

t.test('a client without the grant type is unauthorized_client', async (t) => {
  const { fixture, client } = await setup();
  const before = countRows(fixture.storage);
  const response = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'client_credentials' }));
  assertError(t, response, 400, 'unauthorized_client');
  t.same(countRows(fixture.storage), before);
});

t.test('client_credentials: confidential clients only, no refresh token, no user', async (t) => {
  const fixture = createFixture({ accessTokenTtl: 120 });
  const service = await fixture.server.registerClient({ name: 'service', grantTypes: ['client_credentials', 'refresh_token'], scopes: ['read'] });
  let response = await fixture.server.handleTokenRequest(tokenRequest(service, { grant_type: 'client_credentials' }));
  t.equal(response.status, 200);
  t.same(Object.keys(bodyOf(response)).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
  t.match(bodyOf(response), { expires_in: 120, scope: 'read' });
  t.equal(fixture.storage.snapshot().accessTokens[0]?.userId, null);
  t.equal(fixture.storage.snapshot().refreshTokens.length, 0);

  const before = countRows(fixture.storage);
  response = await fixture.server.handleTokenRequest(tokenRequest(service, { grant_type: 'client_credentials', scope: 'write' }));
  assertError(t, response, 400, 'invalid_scope', 'beyond the client scopes');
  response = await fixture.server.handleTokenRequest(tokenRequest(service, { grant_type: 'client_credentials', scope: 'nope' }));
  assertError(t, response, 400, 'invalid_scope', 'unknown scope');

  const publicClient = await fixture.server.registerClient({ name: 'public', type: 'public', grantTypes: ['refresh_token'] });
  await fixture.storage.updateClient(publicClient.client.id, { grantTypes: ['client_credentials'] });
  response = await fixture.server.handleTokenRequest(createFormRequest('/oauth/token', { grant_type: 'client_credentials', client_id: publicClient.client.id }));
  assertError(t, response, 400, 'unauthorized_client', 'a public client');
  t.same(countRows(fixture.storage), { ...before, clients: (before['clients'] ?? 0) + 1 });
});

t.test('password grant through verifyUser', async (t) => {
  const fixture = createFixture({
    profile: 'oauth2.0',
    verifyUser: async (username, password) => (username === 'alice' && password === 'wonder land' ? { id: 'user-alice', username } : null),
  });
  const app = await fixture.server.registerClient({ name: 'app', grantTypes: ['password', 'refresh_token'] });
  const plain = await registerTestClient(fixture);
  let response = await fixture.server.handleTokenRequest(tokenRequest(app, { grant_type: 'password', username: 'alice', password: 'wonder land', scope: 'read' }));
  t.equal(response.status, 200);
  t.match(bodyOf(response), { scope: 'read', token_type: 'Bearer' });
  t.ok(bodyOf(response)['refresh_token']);
  t.equal(fixture.storage.snapshot().accessTokens[0]?.userId, 'user-alice');

  const before = countRows(fixture.storage);
  response = await fixture.server.handleTokenRequest(tokenRequest(app, { grant_type: 'password', username: 'alice', password: 'wrong' }));
  assertError(t, response, 400, 'invalid_grant', 'wrong password');
  response = await fixture.server.handleTokenRequest(tokenRequest(app, { grant_type: 'password', username: 'alice' }));
  assertError(t, response, 400, 'invalid_request', 'password missing');
  response = await fixture.server.handleTokenRequest(tokenRequest(plain, { grant_type: 'password', username: 'alice', password: 'wonder land' }));
  assertError(t, response, 400, 'unauthorized_client', 'the client has no password grant');
  t.same(countRows(fixture.storage), before);
});

t.test('singleAccessToken revokes the live token of the same user, client and scope', async (t) => {
  const fixture = createFixture({ singleAccessToken: true });
  const service = await fixture.server.registerClient({ name: 'service', grantTypes: ['client_credentials'] });
  const first = bodyOf(await fixture.server.handleTokenRequest(tokenRequest(service, { grant_type: 'client_credentials', scope: 'read' })));
  const other = bodyOf(await fixture.server.handleTokenRequest(tokenRequest(service, { grant_type: 'client_credentials', scope: 'write' })));
  const second = bodyOf(await fixture.server.handleTokenRequest(tokenRequest(service, { grant_type: 'client_credentials', scope: 'read' })));
  await t.rejects(fixture.server.verifyAccessToken(String(first['access_token'])), errorLike({ error: 'invalid_token' }), 'the old one is revoked');
  t.ok(await fixture.server.verifyAccessToken(String(second['access_token'])));
  t.ok(await fixture.server.verifyAccessToken(String(other['access_token'])), 'another scope is left alone');

  const relaxed = createFixture();
  const service2 = await relaxed.server.registerClient({ name: 'service', grantTypes: ['client_credentials'] });
  const a = bodyOf(await relaxed.server.handleTokenRequest(tokenRequest(service2, { grant_type: 'client_credentials', scope: 'read' })));
  await relaxed.server.handleTokenRequest(tokenRequest(service2, { grant_type: 'client_credentials', scope: 'read' }));
  t.ok(await relaxed.server.verifyAccessToken(String(a['access_token'])), 'off by default');
});

t.test('failures of storage and of the application never leak', async (t) => {
  const fixture = createFixture({
    profile: 'oauth2.0',
    verifyUser: async () => {
      throw new Error('SELECT password FROM users failed at db-7.internal');
    },
  });
  const app = await fixture.server.registerClient({ name: 'app', grantTypes: ['password', 'client_credentials'] });
  let response = await fixture.server.handleTokenRequest(tokenRequest(app, { grant_type: 'password', username: 'a', password: 'b' }));
  assertError(t, response, 500, 'server_error');
  t.notMatch(JSON.stringify(response.body), /db-7/);

  fixture.storage.saveTokens = async () => {
    throw new StorageError('ER_LOCK_DEADLOCK on host db-7.internal');
  };
  response = await fixture.server.handleTokenRequest(tokenRequest(app, { grant_type: 'client_credentials' }));
  assertError(t, response, 503, 'temporarily_unavailable');
  t.equal(response.headers['retry-after'], '1');
  t.notMatch(JSON.stringify(response.body), /db-7|DEADLOCK/);
});

t.test('the PKCE challenge of the fixtures is the RFC 7636 vector', async (t) => {
  const { fixture, client } = await setup();
  const code = await obtainCode(fixture, client);
  t.equal(fixture.storage.snapshot().authorizationCodes[0]?.codeChallenge, CHALLENGE);
  const response = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  );
  t.equal(response.status, 200, 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk redeems the code');
});

t.test('two concurrent redemptions of one code: one wins, the replay revokes what it gave', async (t) => {
  const { fixture, client } = await setup();
  const code = await obtainCode(fixture, client);
  const request = tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER });
  const results = await Promise.all([fixture.server.handleTokenRequest(request), fixture.server.handleTokenRequest(request)]);
  t.same(results.map((response) => response.status).sort(), [200, 400]);
  const snapshot = fixture.storage.snapshot();
  t.equal(snapshot.accessTokens.length, 1, 'one issuance');
  t.ok(snapshot.accessTokens.every((row) => row.revokedAt !== null), 'revoked by the replay');
});

t.test('every grant behind the client cache works on the kept client and leaves it as it was', async (t) => {
  const storage = withClientCache(new MemoryStorage());
  const fixture = createFixture({
    storage,
    profile: 'oauth2.0',
    verifyUser: async (username, password) => (username === 'alice' && password === 'wonderland' ? { id: 'user-1', username } : null),
  });
  const client = await registerTestClient(fixture, {
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials', 'password'],
    scopes: ['read', 'write'],
  });
  const token = (form: Record<string, string>) => fixture.server.handleTokenRequest(tokenRequest(client, form));

  for (const round of ['a lookup', 'the kept record']) {
    const credentials = await token({ grant_type: 'client_credentials', scope: 'read' });
    t.equal(credentials.status, 200, `client_credentials, ${round}`);
    const code = await obtainCode(fixture, client, { scope: 'read write' });
    const redeemed = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER });
    t.equal(redeemed.status, 200, `authorization_code, ${round}`);
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: String(bodyOf(redeemed)['refresh_token']), scope: 'read' });
    t.equal(refreshed.status, 200, `refresh_token, ${round}`);
    t.equal(bodyOf(refreshed)['scope'], 'read');
    t.equal((await token({ grant_type: 'password', username: 'alice', password: 'wonderland' })).status, 200, `password, ${round}`);
    const revoked = await fixture.server.handleRevocationRequest(
      createFormRequest('/oauth/revoke', { token: String(bodyOf(refreshed)['access_token']) }, { authorization: basicAuthorization(client.client.id, client.clientSecret ?? '') }),
    );
    t.equal(revoked.status, 200, `revocation, ${round}`);
    const wrong = await fixture.server.handleTokenRequest(
      createFormRequest('/oauth/token', { grant_type: 'client_credentials' }, { authorization: basicAuthorization(client.client.id, 'wrong') }),
    );
    t.equal(wrong.status, 401, `a wrong secret, ${round}`);
  }
  t.same(
    await storage.findClient(client.client.id),
    { ...client.client, lastUsedAt: fixture.clock.now },
    'the kept record is the registered one, unchanged but for when it was last used',
  );
});
