import t from 'tap';
import { createAuthorizationServer, MemoryStorage, tokenDigest, type AuthorizationRequest, type PortcullisEvent } from '../src/index.js';
import {
  CHALLENGE,
  REDIRECT_URI,
  START,
  VERIFIER,
  basicAuthorization,
  bodyOf,
  createAuthorizeRequest,
  createFixture,
  createFormRequest,
  errorLike,
  obtainCode,
  registerTestClient,
  tokenRequest,
  type Fixture,
} from './oauth2-fixtures.js';

const API = 'https://api.example.com';
const MCP = 'https://auth.example.com/mcp';

/** The validated request of an authorization request for `client`, with `query` added. */
async function validated(fixture: Fixture, clientId: string, query: Record<string, string | string[]> = {}): Promise<AuthorizationRequest> {
  const result = await fixture.server.validateAuthorizationRequest(
    createAuthorizeRequest({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      code_challenge: CHALLENGE,
      code_challenge_method: 'S256',
      ...query,
    }),
  );
  if (result.kind !== 'consent') throw new Error(`expected consent, got ${JSON.stringify(result)}`);
  return result.request;
}

t.test('remembered consent: asking for no more than approved skips the page, asking for more shows what is new', async (t) => {
  const fixture = createFixture({ resources: [API, MCP] });
  const client = await registerTestClient(fixture);
  const id = client.client.id;

  t.strictSame(await fixture.server.reviewConsent(await validated(fixture, id, { scope: 'read' }), 'user-1'), { required: true, grantedScope: [] }, 'nothing approved yet');
  await obtainCode(fixture, client, { scope: 'read', resource: API });
  t.match(fixture.storage.snapshot().consents, [{ clientId: id, userId: 'user-1', scope: ['read'], audience: [API], createdAt: START, updatedAt: START }], 'the approval is remembered');

  t.strictSame(await fixture.server.reviewConsent(await validated(fixture, id, { scope: 'read', resource: API }), 'user-1'), { required: false, grantedScope: ['read'] }, 'the same request');
  t.strictSame(await fixture.server.reviewConsent(await validated(fixture, id, { scope: 'read write', resource: API }), 'user-1'), { required: true, grantedScope: ['read'] }, 'one more scope: write is new');
  t.strictSame(await fixture.server.reviewConsent(await validated(fixture, id, { scope: 'read', resource: MCP }), 'user-1'), { required: true, grantedScope: ['read'] }, 'another resource: asked');
  t.strictSame(await fixture.server.reviewConsent(await validated(fixture, id, { scope: 'read', resource: API }), 'user-2'), { required: true, grantedScope: [] }, 'another user: asked');
  t.strictSame(
    await fixture.server.reviewConsent(await validated(fixture, id, { scope: 'read', resource: API, prompt: 'consent' }), 'user-1'),
    { required: true, grantedScope: ['read'] },
    'prompt=consent always asks',
  );

  fixture.clock.advance(60);
  await obtainCode(fixture, client, { scope: 'read write', resource: MCP });
  t.match(
    fixture.storage.snapshot().consents,
    [{ scope: ['read', 'write'], audience: [API, MCP], createdAt: START, updatedAt: fixture.clock.now }],
    'a wider approval widens the remembered one',
  );
  t.strictSame(await fixture.server.reviewConsent(await validated(fixture, id, { scope: 'write', resource: [API, MCP] }), 'user-1'), { required: false, grantedScope: ['write'] });

  fixture.clock.advance(60);
  await obtainCode(fixture, client, { scope: 'read' , resource: API });
  t.match(fixture.storage.snapshot().consents, [{ updatedAt: new Date(START.getTime() + 60_000) }], 'an approval within it writes nothing');
});

t.test('a narrowed approval is remembered as narrowed', async (t) => {
  const fixture = createFixture();
  const client = await registerTestClient(fixture);
  const request = await validated(fixture, client.client.id, { scope: 'read write' });
  const done = await fixture.server.completeAuthorization(request, { userId: 'user-1', approved: true, scope: ['read'] });
  t.equal(done.kind, 'redirect');
  t.match(fixture.storage.snapshot().consents, [{ scope: ['read'] }]);
  t.strictSame(await fixture.server.reviewConsent(request, 'user-1'), { required: true, grantedScope: ['read'] });

  const denied = await fixture.server.completeAuthorization(await validated(fixture, client.client.id, { scope: 'write' }), { userId: 'user-2', approved: false });
  t.equal(denied.kind, 'redirect');
  t.equal(fixture.storage.snapshot().consents.length, 1, 'a denial remembers nothing');
});

t.test("revokeGrant forgets the consent with the tokens; revokeConsent forgets only the consent", async (t) => {
  const fixture = createFixture();
  const client = await registerTestClient(fixture);
  const code = await obtainCode(fixture, client, { scope: 'read' });
  const tokens = bodyOf(await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  ));
  const request = await validated(fixture, client.client.id, { scope: 'read' });
  t.equal((await fixture.server.reviewConsent(request, 'user-1')).required, false);

  t.equal(await fixture.server.revokeConsent('user-1', client.client.id), true);
  t.equal(await fixture.server.revokeConsent('user-1', client.client.id), false, 'nothing left to forget');
  t.equal((await fixture.server.reviewConsent(request, 'user-1')).required, true, 'asked again');
  t.ok(await fixture.server.verifyAccessToken(String(tokens['access_token'])), 'the tokens still work');

  await obtainCode(fixture, client, { scope: 'read' });
  t.equal(fixture.storage.snapshot().consents.length, 1);
  // Access, refresh, the unredeemed second code (the consent is not counted).
  t.equal(await fixture.server.revokeGrant('user-1', client.client.id), 3);
  t.strictSame(fixture.storage.snapshot().consents, [], 'the consent is gone');
  t.equal((await fixture.server.reviewConsent(request, 'user-1')).required, true, 'asked again');
  await t.rejects(fixture.server.verifyAccessToken(String(tokens['access_token'])), errorLike({ error: 'invalid_token' }));
});

t.test('skipConsent: a first-party client is not asked, unless the request says prompt=consent', async (t) => {
  const fixture = createFixture();
  const firstParty = await registerTestClient(fixture, { skipConsent: true });
  t.equal(firstParty.client.skipConsent, true);
  t.strictSame(await fixture.server.reviewConsent(await validated(fixture, firstParty.client.id, { scope: 'read write' }), 'user-1'), { required: false, grantedScope: [] });
  t.strictSame(
    await fixture.server.reviewConsent(await validated(fixture, firstParty.client.id, { scope: 'read', prompt: 'login consent' }), 'user-1'),
    { required: true, grantedScope: [] },
  );
  const thirdParty = await registerTestClient(fixture);
  t.equal(thirdParty.client.skipConsent, false, 'off by default');
  await obtainCode(fixture, firstParty, { scope: 'read write' });
  t.strictSame(fixture.storage.snapshot().consents, [], "a first-party client's approvals are not remembered");

  const pending = await validated(fixture, firstParty.client.id, { scope: 'read' });
  await fixture.storage.updateClient(firstParty.client.id, { disabled: true });
  t.strictSame(await fixture.server.reviewConsent(pending, 'user-1'), { required: true, grantedScope: [] }, 'a disabled client is asked about (and the decision refused)');
  await t.rejects(registerTestClient(fixture, { skipConsent: 'yes' as unknown as boolean }), errorLike({ error: 'invalid_request' }));
});

t.test('dynamic registration cannot make a client skip consent (RFC 7591 input)', async (t) => {
  const fixture = createFixture({ registration: { enabled: true } });
  const metadata = { redirect_uris: [REDIRECT_URI], skip_consent: true, skipConsent: true, client_name: 'Sneaky' };
  const response = await fixture.server.handleClientRegistration(createFormRequest('/oauth/register', undefined, { 'content-type': 'application/json' }), metadata);
  t.equal(response.status, 201);
  const body = bodyOf(response);
  t.notOk('skip_consent' in body, 'not echoed as registered metadata');
  const stored = await fixture.storage.findClient(String(body['client_id']));
  t.equal(stored?.skipConsent, false, 'stored without it');

  const policyFixture = createFixture({ registration: { enabled: true, policy: (input) => ({ ...input, skip_consent: true }) as typeof input } });
  const viaPolicy = await policyFixture.server.handleClientRegistration(createFormRequest('/oauth/register', undefined), { redirect_uris: [REDIRECT_URI] });
  t.equal(viaPolicy.status, 201);
  t.equal((await policyFixture.storage.findClient(String(bodyOf(viaPolicy)['client_id'])))?.skipConsent, false, 'nor through a policy');

  const update = await fixture.server.handleClientConfiguration(
    createFormRequest(`/oauth/register/${String(body['client_id'])}`, undefined, { authorization: `Bearer ${String(body['registration_access_token'])}` }, { method: 'PUT' }),
    String(body['client_id']),
    { client_id: body['client_id'], redirect_uris: [REDIRECT_URI], skip_consent: true },
  );
  t.equal(update.status, 200);
  t.equal((await fixture.storage.findClient(String(body['client_id'])))?.skipConsent, false, 'nor through an update (RFC 7592)');
});

t.test('per-client lifetimes: tokens, codes, expires_in and introspection follow them, the server options otherwise', async (t) => {
  const fixture = createFixture({ accessTokenTtl: 3600, refreshTokenTtl: 86400, authorizationCodeTtl: 60 });
  const short = await registerTestClient(fixture, { accessTokenTtl: 300, refreshTokenTtl: 7200, authorizationCodeTtl: 20 });
  t.match(short.client, { accessTokenTtl: 300, refreshTokenTtl: 7200, authorizationCodeTtl: 20 });
  const plain = await registerTestClient(fixture);
  t.match(plain.client, { accessTokenTtl: null, refreshTokenTtl: null, authorizationCodeTtl: null });

  for (const [client, access, refresh, code] of [[short, 300, 7200, 20], [plain, 3600, 86400, 60]] as const) {
    const issued = await obtainCode(fixture, client, { scope: 'read' });
    t.equal(
      fixture.storage.snapshot().authorizationCodes.find((row) => row.digest === tokenDigest(issued))?.expiresAt.getTime(),
      START.getTime() + code * 1000,
      `${client.client.name}: the code lives ${code} seconds`,
    );
    const response = await fixture.server.handleTokenRequest(
      tokenRequest(client, { grant_type: 'authorization_code', code: issued, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
    );
    t.equal(response.status, 200);
    const body = bodyOf(response);
    t.equal(body['expires_in'], access, 'expires_in');
    const snapshot = fixture.storage.snapshot();
    t.equal(snapshot.refreshTokens.find((row) => row.digest === tokenDigest(String(body['refresh_token'])))?.expiresAt.getTime(), START.getTime() + refresh * 1000);
    const introspection = await fixture.server.handleIntrospectionRequest(
      createFormRequest('/oauth/introspect', { token: String(body['access_token']) }, { authorization: basicAuthorization(client.client.id, client.clientSecret ?? '') }),
    );
    t.match(bodyOf(introspection), { active: true, exp: START.getTime() / 1000 + access }, 'introspection reports the same expiry');
    const refreshed = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'refresh_token', refresh_token: String(body['refresh_token']) }));
    t.equal(bodyOf(refreshed)['expires_in'], access, 'and a refresh');
  }

  for (const bad of [0, -1, 1.5, '60', Number.MAX_SAFE_INTEGER]) {
    await t.rejects(registerTestClient(fixture, { accessTokenTtl: bad as number }), errorLike({ error: 'invalid_request' }), `accessTokenTtl ${String(bad)}`);
  }
  const updated = await fixture.storage.updateClient(short.client.id, { accessTokenTtl: null });
  t.equal(updated?.accessTokenTtl, null, 'back to the server option');
  const tokens = await fixture.server.issueTokens({ clientId: short.client.id, userId: 'user-1', withRefreshToken: true });
  t.equal(tokens.expires_in, 3600);
});

/** A grant for refresh tests, under server `options`. */
async function refreshSetup(options: Parameters<typeof createFixture>[0]) {
  const fixture = createFixture(options);
  const client = await registerTestClient(fixture);
  const other = await registerTestClient(fixture, { name: 'Other client' });
  const code = await obtainCode(fixture, client, { scope: 'read' });
  const body = bodyOf(await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  ));
  const refresh = (token: string, as = client) =>
    fixture.server.handleTokenRequest(tokenRequest(as, { grant_type: 'refresh_token', refresh_token: token }));
  return { fixture, client, other, refreshToken: String(body['refresh_token']), refresh };
}

const liveTokens = (fixture: Fixture) => {
  const snapshot = fixture.storage.snapshot();
  return {
    access: snapshot.accessTokens.filter((row) => row.revokedAt === null).length,
    refresh: snapshot.refreshTokens.filter((row) => row.revokedAt === null && row.consumedAt === null).length,
  };
};

t.test('refreshTokenReuseInterval: a retry within it gets a fresh pair; after it, a replay revokes the family', async (t) => {
  const { fixture, other, refreshToken, refresh } = await refreshSetup({ refreshTokenReuseInterval: 10 });
  const first = await refresh(refreshToken);
  t.equal(first.status, 200);
  fixture.clock.advance(10);
  const retry = await refresh(refreshToken);
  t.equal(retry.status, 200, 'presented again 10 seconds after its rotation');
  t.not(bodyOf(retry)['refresh_token'], bodyOf(first)['refresh_token'], 'a fresh pair');
  t.not(bodyOf(retry)['access_token'], bodyOf(first)['access_token']);
  t.strictSame(liveTokens(fixture), { access: 3, refresh: 2 }, 'nothing revoked: both successors live');
  const family = fixture.storage.snapshot().refreshTokens.map((row) => row.familyId);
  t.equal(new Set(family).size, 1, 'all in one family');

  const stolen = await refresh(refreshToken, other);
  t.equal(stolen.status, 400, 'another client within the interval');
  t.equal(bodyOf(stolen)['error'], 'invalid_grant');
  t.strictSame(liveTokens(fixture), { access: 3, refresh: 2 }, 'is refused without revoking anything');

  fixture.clock.advance(0.001);
  const replay = await refresh(refreshToken);
  t.equal(replay.status, 400, 'after the interval');
  t.match(bodyOf(replay), { error: 'invalid_grant', error_description: 'The refresh token was already used.' });
  t.strictSame(liveTokens(fixture), { access: 0, refresh: 0 }, 'the family is revoked');
  t.equal((await refresh(String(bodyOf(retry)['refresh_token']))).status, 400, "and the retry's refresh token with it");
});

t.test('refreshTokenReuseInterval: concurrent presentations within it each get a pair, and none revokes the family', async (t) => {
  const { fixture, refreshToken, refresh } = await refreshSetup({ refreshTokenReuseInterval: 5 });
  const responses = await Promise.all(Array.from({ length: 6 }, () => refresh(refreshToken)));
  t.strictSame(responses.map((response) => response.status), [200, 200, 200, 200, 200, 200]);
  t.equal(new Set(responses.map((response) => bodyOf(response)['refresh_token'])).size, 6, 'six different pairs');
  t.strictSame(liveTokens(fixture), { access: 7, refresh: 6 });
  const old = fixture.storage.snapshot().refreshTokens.find((row) => row.digest === tokenDigest(refreshToken));
  t.same(old?.consumedAt, START, 'consumed once, by the first');
});

t.test('refreshTokenReuseInterval 0 (the default): concurrent presentations have exactly one winner and revoke the family', async (t) => {
  const { fixture, refreshToken, refresh } = await refreshSetup({});
  const responses = await Promise.all(Array.from({ length: 4 }, () => refresh(refreshToken)));
  t.equal(responses.filter((response) => response.status === 200).length, 1, 'one winner');
  t.strictSame(liveTokens(fixture), { access: 0, refresh: 0 }, 'the losers revoke the family');
});

t.test('a revoked family is not revived by a retry within the interval', async (t) => {
  const { fixture, client, refreshToken, refresh } = await refreshSetup({ refreshTokenReuseInterval: 60 });
  t.equal((await refresh(refreshToken)).status, 200);
  // The user revokes the app: the consumed token is revoked too, not only the live ones.
  t.equal(await fixture.server.revokeGrant('user-1', client.client.id), 4, 'two access tokens, two refresh tokens');
  t.strictSame(fixture.storage.snapshot().consents, [], 'and the consent is forgotten');
  const retry = await refresh(refreshToken);
  t.equal(retry.status, 400);
  t.match(bodyOf(retry), { error: 'invalid_grant', error_description: 'The refresh token has been revoked.' });
  t.strictSame(liveTokens(fixture), { access: 0, refresh: 0 });
});

t.test('refreshTokenMaxLifetime: rotation never takes a family past it', async (t) => {
  const { fixture, refreshToken, refresh } = await refreshSetup({ refreshTokenTtl: 3600, refreshTokenMaxLifetime: 5000 });
  const expiryOf = (token: string) => fixture.storage.snapshot().refreshTokens.find((row) => row.digest === tokenDigest(token));
  t.equal(expiryOf(refreshToken)?.expiresAt.getTime(), START.getTime() + 3600_000, 'the sliding expiry, within the family limit');
  t.same(expiryOf(refreshToken)?.familyIssuedAt, START);

  fixture.clock.advance(3000);
  const second = String(bodyOf(await refresh(refreshToken))['refresh_token']);
  t.equal(expiryOf(second)?.expiresAt.getTime(), START.getTime() + 5000_000, 'capped at the family start plus the limit');
  t.same(expiryOf(second)?.familyIssuedAt, START, 'the family start is carried on');

  fixture.clock.advance(1999);
  const third = String(bodyOf(await refresh(second))['refresh_token']);
  t.equal(expiryOf(third)?.expiresAt.getTime(), START.getTime() + 5000_000);

  fixture.clock.advance(1);
  const late = await refresh(third);
  t.equal(late.status, 400, 'the family has ended');
  t.match(bodyOf(late), { error: 'invalid_grant', error_description: 'The refresh token has expired.' });
});

t.test('the options are checked', async (t) => {
  const storage = new MemoryStorage();
  const base = { storage, issuer: 'https://auth.example.com' };
  for (const value of [-1, 1.5, Number.NaN]) {
    t.throws(() => createAuthorizationServer({ ...base, refreshTokenReuseInterval: value }), /refreshTokenReuseInterval/);
    t.throws(() => createAuthorizationServer({ ...base, refreshTokenMaxLifetime: value }), /refreshTokenMaxLifetime/);
  }
  t.throws(() => createAuthorizationServer({ ...base, refreshTokenMaxLifetime: 0 }), /refreshTokenMaxLifetime/);
  const server = createAuthorizationServer({ ...base, refreshTokenReuseInterval: 0, refreshTokenMaxLifetime: null });
  t.equal(server.options.refreshTokenReuseInterval, 0);
  t.equal(server.options.refreshTokenMaxLifetime, null);
  t.equal(createAuthorizationServer(base).options.refreshTokenReuseInterval, 0, 'off by default');
});

t.test('events: a remembered consent, forgotten consents, and a retry within the reuse interval', async (t) => {
  const events: PortcullisEvent[] = [];
  const fixture = createFixture({ onEvent: (event) => void events.push(event), refreshTokenReuseInterval: 10 });
  const client = await registerTestClient(fixture);
  const of = (type: PortcullisEvent['type']) => events.splice(0).filter((event) => event.type === type);

  await obtainCode(fixture, client, { scope: 'read' });
  t.match(of('consent.granted'), [{ clientId: client.client.id, userId: 'user-1', scope: ['read'], remembered: false }], 'asked');
  const code = await obtainCode(fixture, client, { scope: 'read' });
  t.match(of('consent.granted'), [{ remembered: true }], 'answered by the remembered consent');
  await obtainCode(fixture, client, { scope: 'read', prompt: 'consent' });
  t.match(of('consent.granted'), [{ remembered: false }], 'asked again: prompt=consent');

  const tokens = bodyOf(await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  ));
  const refresh = () => fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'refresh_token', refresh_token: String(tokens['refresh_token']) }));
  events.splice(0);
  t.equal((await refresh()).status, 200);
  t.equal((await refresh()).status, 200);
  t.equal(of('token.refreshed').length, 2, 'the rotation and the retry are both refreshes');
  t.strictSame(events.filter((event) => event.type === 'refresh_token.replay_detected'), [], 'and no replay');

  t.equal(await fixture.server.revokeConsent('user-1', client.client.id, { revokedBy: 'admin' }), true);
  t.match(of('consent.revoked'), [{ clientId: client.client.id, userId: 'user-1', revokedBy: 'admin' }]);
  t.equal(await fixture.server.revokeConsent('user-1', client.client.id), false);
  t.strictSame(of('consent.revoked'), [], 'nothing forgotten, nothing told');
  await obtainCode(fixture, client, { scope: 'read' });
  events.splice(0);
  await fixture.server.revokeGrant('user-1', client.client.id);
  t.match(of('consent.revoked'), [{ revokedBy: 'user' }], 'revokeGrant forgets the consent, and says so');
});
