import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import t, { type Test } from 'tap';
import { EVENT_TYPES, eventChannelName, tokenDigest, type PortcullisEvent } from '../src/index.js';
import { getAccessToken, getRequestToken, setup as setupOAuth1 } from './oauth1-fixtures.js';
import {
  ISSUER,
  REDIRECT_URI,
  VERIFIER,
  basicAuthorization,
  bodyOf,
  createAuthorizeRequest,
  createFixture,
  createFormRequest,
  obtainCode,
  registerTestClient,
  tokenRequest,
} from './oauth2-fixtures.js';

/** A server whose events land in `events`, and a check that none of them carries a secret. */
async function setup(options: Parameters<typeof createFixture>[0] = {}) {
  const events: PortcullisEvent[] = [];
  const fixture = createFixture({ onEvent: (event) => void events.push(event), ...options });
  const client = await registerTestClient(fixture, { scopes: ['read', 'write'], grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'] });
  const secrets: string[] = [client.clientSecret ?? ''];
  /** Events since the last call, every one checked for each secret seen so far and its digest. */
  const take = (t: Test, ...more: string[]): PortcullisEvent[] => {
    secrets.push(...more.filter((secret) => secret !== ''));
    const taken = events.splice(0);
    const text = JSON.stringify(taken);
    for (const secret of secrets) {
      t.notOk(text.includes(secret), 'no event carries a secret');
      t.notOk(text.includes(tokenDigest(secret)), 'no event carries a digest');
    }
    return taken;
  };
  return { fixture, client, events, take, secrets };
}

t.test('every event type has a channel named portcullis:<type>', async (t) => {
  t.equal(eventChannelName('token.issued'), 'portcullis:token.issued');
  t.equal(new Set(EVENT_TYPES).size, EVENT_TYPES.length);
  t.ok(EVENT_TYPES.includes('device_code.approved'));
  t.ok(EVENT_TYPES.includes('consent.revoked'));
});

t.test('a code flow: consent granted, tokens issued, refreshed, replays detected, revoked', async (t) => {
  const { fixture, client, take } = await setup();
  const at = fixture.clock.now;
  t.match(take(t), [{ type: 'client.registered', via: 'admin', clientId: client.client.id }]);

  const code = await obtainCode(fixture, client, { scope: 'read write' });
  t.same(take(t, code), [
    {
      type: 'consent.granted',
      clientId: client.client.id,
      userId: 'user-1',
      scope: ['read', 'write'],
      audience: [],
      remembered: false,
      issuer: ISSUER,
      time: at,
    },
  ]);

  const exchange = () =>
    fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }));
  const first = bodyOf(await exchange());
  const accessToken = String(first['access_token']);
  const refreshToken = String(first['refresh_token']);
  const { accessTokens, refreshTokens, authorizationCodes } = fixture.storage.snapshot();
  const familyId = accessTokens[0]!.familyId;
  t.same(take(t, accessToken, refreshToken), [
    {
      type: 'token.issued',
      grantType: 'authorization_code',
      clientId: client.client.id,
      userId: 'user-1',
      scope: ['read', 'write'],
      audience: [],
      accessTokenId: accessTokens[0]!.id,
      refreshTokenId: refreshTokens[0]!.id,
      familyId,
      accessTokenExpiresAt: new Date(at.getTime() + 3600_000),
      issuer: ISSUER,
      time: at,
    },
  ]);

  fixture.clock.advance(5);
  const refreshed = bodyOf(
    await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'refresh_token', refresh_token: refreshToken, scope: 'read' })),
  );
  const rotated = fixture.storage.snapshot();
  const newAccess = rotated.accessTokens.find((row) => row.digest === tokenDigest(String(refreshed['access_token'])))!;
  const newRefresh = rotated.refreshTokens.find((row) => row.digest === tokenDigest(String(refreshed['refresh_token'])))!;
  t.same(take(t, String(refreshed['access_token']), String(refreshed['refresh_token'])), [
    {
      type: 'token.refreshed',
      clientId: client.client.id,
      userId: 'user-1',
      scope: ['read'],
      audience: [],
      accessTokenId: newAccess.id,
      refreshTokenId: newRefresh.id,
      previousRefreshTokenId: refreshTokens[0]!.id,
      familyId,
      accessTokenExpiresAt: new Date(fixture.clock.now.getTime() + 3600_000),
      issuer: ISSUER,
      time: fixture.clock.now,
    },
  ]);

  // The spent refresh token again: the family goes (two access tokens, one live refresh token).
  const replay = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'refresh_token', refresh_token: refreshToken }));
  t.equal(replay.status, 400);
  const replayEvents = take(t);
  t.same(replayEvents, [
    {
      type: 'refresh_token.replay_detected',
      clientId: client.client.id,
      userId: 'user-1',
      refreshTokenId: refreshTokens[0]!.id,
      familyId,
      revokedCount: 4,
      issuer: ISSUER,
      time: fixture.clock.now,
    },
    { type: 'token.refused', grantType: 'refresh_token', clientId: client.client.id, error: 'invalid_grant', status: 400, issuer: ISSUER, time: fixture.clock.now },
  ]);

  // The spent code again.
  t.equal((await exchange()).status, 400);
  t.same(take(t), [
    {
      type: 'authorization_code.replay_detected',
      clientId: client.client.id,
      userId: 'user-1',
      codeId: authorizationCodes[0]!.id,
      familyId,
      revokedCount: 0,
      issuer: ISSUER,
      time: fixture.clock.now,
    },
    { type: 'token.refused', grantType: 'authorization_code', clientId: client.client.id, error: 'invalid_grant', status: 400, issuer: ISSUER, time: fixture.clock.now },
  ]);
});

t.test('revocation: at the endpoint by the client, by the user and by an administrator', async (t) => {
  const { fixture, client, take } = await setup();
  const code = await obtainCode(fixture, client, { scope: 'read' });
  const body = bodyOf(
    await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER })),
  );
  const accessToken = String(body['access_token']);
  const refreshToken = String(body['refresh_token']);
  take(t, code, accessToken, refreshToken);
  const { accessTokens, refreshTokens } = fixture.storage.snapshot();
  const revoke = (token: string) =>
    fixture.server.handleRevocationRequest(
      createFormRequest('/oauth/revoke', { token }, { authorization: basicAuthorization(client.client.id, client.clientSecret ?? '') }),
    );

  t.equal((await revoke(accessToken)).status, 200);
  const base = { clientId: client.client.id, userId: 'user-1', issuer: ISSUER, time: fixture.clock.now };
  t.same(take(t), [
    { type: 'token.revoked', revokedBy: 'revocation_endpoint', tokenKind: 'access_token', tokenId: accessTokens[0]!.id, familyId: null, count: 1, ...base },
  ]);
  t.equal((await revoke(accessToken)).status, 200);
  t.same(take(t), [], 'revoking a revoked token again is no event');
  t.equal((await revoke(refreshToken)).status, 200);
  t.same(take(t), [
    {
      type: 'token.revoked',
      revokedBy: 'revocation_endpoint',
      tokenKind: 'refresh_token',
      tokenId: refreshTokens[0]!.id,
      familyId: accessTokens[0]!.familyId,
      count: 1,
      ...base,
    },
  ]);

  await obtainCode(fixture, client, { scope: 'read' });
  take(t);
  t.equal(await fixture.server.revokeGrant('user-1', client.client.id), 1);
  t.same(take(t), [
    { type: 'token.revoked', revokedBy: 'user', tokenKind: null, tokenId: null, familyId: null, count: 1, ...base },
    // The code's approval was remembered; the revocation forgets it.
    { type: 'consent.revoked', revokedBy: 'user', ...base },
  ]);
  t.equal(await fixture.server.revokeGrant('user-1', client.client.id, { revokedBy: 'admin' }), 0);
  t.same(take(t), [{ type: 'token.revoked', revokedBy: 'admin', tokenKind: null, tokenId: null, familyId: null, count: 0, ...base }]);
});

t.test('client authentication failures name the client, the method and the reason, never the secret', async (t) => {
  const { fixture, client, take } = await setup();
  take(t);
  const id = client.client.id;
  const token = (headers: Record<string, string>, body: Record<string, string> = {}) =>
    fixture.server.handleTokenRequest(createFormRequest('/oauth/token', { grant_type: 'client_credentials', ...body }, headers));
  const base = { issuer: ISSUER, time: fixture.clock.now };
  const refused = (clientId: string | null) => ({ type: 'token.refused', grantType: 'client_credentials', clientId, error: 'invalid_client', status: 401, ...base });

  t.equal((await token({ authorization: basicAuthorization(id, 'wrong-secret-value') })).status, 401);
  t.same(take(t, 'wrong-secret-value'), [
    { type: 'client.authentication_failed', clientId: id, method: 'client_secret_basic', reason: 'invalid_secret', ...base },
    refused(null),
  ]);
  t.equal((await token({}, { client_id: 'nobody', client_secret: 'guessed-secret-value' })).status, 401);
  t.same(take(t, 'guessed-secret-value'), [
    { type: 'client.authentication_failed', clientId: 'nobody', method: 'client_secret_post', reason: 'unknown_client', ...base },
    { ...refused(null), status: 401 },
  ]);
  t.equal((await token({}, { client_id: id })).status, 401);
  t.same(take(t), [{ type: 'client.authentication_failed', clientId: id, method: 'none', reason: 'secret_required', ...base }, refused(null)]);
  t.equal((await token({ authorization: 'Basic !!!' })).status, 401);
  t.same(take(t), [{ type: 'client.authentication_failed', clientId: null, method: 'client_secret_basic', reason: 'credentials_malformed', ...base }, refused(null)]);
  t.equal((await token({})).status, 401);
  t.same(take(t), [{ type: 'client.authentication_failed', clientId: null, method: null, reason: 'credentials_missing', ...base }, refused(null)]);

  await fixture.storage.updateClient(id, { disabled: true });
  t.equal((await token({ authorization: basicAuthorization(id, client.clientSecret ?? '') })).status, 401);
  t.same(take(t), [{ type: 'client.authentication_failed', clientId: id, method: 'client_secret_basic', reason: 'client_disabled', ...base }, refused(null)]);
});

t.test('client credentials, tokens issued by hand, and a denied consent', async (t) => {
  const { fixture, client, take } = await setup();
  take(t);
  const response = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'client_credentials', scope: 'read' }));
  t.equal(response.status, 200);
  const [row] = fixture.storage.snapshot().accessTokens;
  t.same(take(t, String(bodyOf(response)['access_token'])), [
    {
      type: 'token.issued',
      grantType: 'client_credentials',
      clientId: client.client.id,
      userId: null,
      scope: ['read'],
      audience: [],
      accessTokenId: row!.id,
      refreshTokenId: null,
      familyId: row!.familyId,
      accessTokenExpiresAt: row!.expiresAt,
      issuer: ISSUER,
      time: fixture.clock.now,
    },
  ]);

  const manual = await fixture.server.issueTokens({ clientId: client.client.id, userId: 'user-2', scope: ['write'], withRefreshToken: true });
  t.match(take(t, manual.access_token, manual.refresh_token ?? ''), [{ type: 'token.issued', grantType: 'manual', userId: 'user-2', scope: ['write'] }]);

  const validated = await fixture.server.validateAuthorizationRequest(
    createAuthorizeRequest({ response_type: 'code', client_id: client.client.id, redirect_uri: REDIRECT_URI, scope: 'read', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }),
  );
  if (validated.kind !== 'consent') throw new Error('expected consent');
  const denied = await fixture.server.completeAuthorization(validated.request, { userId: 'user-3', approved: false });
  t.match(denied, { kind: 'redirect' });
  t.same(take(t), [{ type: 'consent.denied', clientId: client.client.id, userId: 'user-3', scope: ['read'], issuer: ISSUER, time: fixture.clock.now }]);
});

t.test('dynamic registration emits client events and still calls onClientRegistration', async (t) => {
  const legacy: string[] = [];
  const { fixture, take } = await setup({ registration: { enabled: true, onClientRegistration: (event) => void legacy.push(event.action) } });
  take(t);
  const response = await fixture.server.handleClientRegistration(createFormRequest('/oauth/register', undefined, { 'content-type': 'application/json' }), {
    redirect_uris: [REDIRECT_URI],
    client_name: 'Dynamic',
    software_id: 'sw-1',
  });
  t.equal(response.status, 201);
  const body = bodyOf(response);
  t.same(take(t, String(body['client_secret']), String(body['registration_access_token'])), [
    {
      type: 'client.registered',
      via: 'registration_endpoint',
      clientId: body['client_id'],
      clientName: 'Dynamic',
      clientType: 'confidential',
      redirectUris: [REDIRECT_URI],
      grantTypes: ['authorization_code'],
      scopes: ['read', 'write'],
      softwareId: 'sw-1',
      issuer: ISSUER,
      time: fixture.clock.now,
    },
  ]);
  t.same(legacy, ['registered']);

  // RFC 7592: the client changes and leaves itself.
  let registrationToken = String(body['registration_access_token']);
  const manage = (method: string, metadata?: unknown) =>
    fixture.server.handleClientConfiguration(
      createFormRequest(`/oauth/register/${String(body['client_id'])}`, undefined, { authorization: `Bearer ${registrationToken}`, 'content-type': 'application/json' }, { method }),
      String(body['client_id']),
      metadata,
    );
  const updated = await manage('PUT', { client_id: body['client_id'], redirect_uris: [REDIRECT_URI], client_name: 'Renamed' });
  t.equal(updated.status, 200);
  t.match(take(t), [{ type: 'client.updated', via: 'registration_endpoint', clientId: body['client_id'], clientName: 'Renamed', softwareId: null }]);
  // The update issued a new registration access token (RFC 7592 section 2.2).
  registrationToken = String((updated.body as Record<string, unknown>)['registration_access_token']);
  t.equal((await manage('DELETE')).status, 204);
  t.match(take(t), [{ type: 'client.deleted', via: 'registration_endpoint', clientId: body['client_id'], clientName: 'Renamed' }]);
  t.same(legacy, ['registered', 'updated', 'deleted']);

  // An administrator deletes a client through the server's API.
  const byHand = await fixture.server.registerClient({ name: 'By hand', redirectUris: [REDIRECT_URI] });
  take(t);
  t.equal(await fixture.server.deleteClient(byHand.client.id), true);
  t.match(take(t), [{ type: 'client.deleted', via: 'admin', clientId: byHand.client.id, clientName: 'By hand' }]);
  t.equal(await fixture.server.deleteClient(byHand.client.id), false, 'a second delete finds nothing');
  t.same(take(t), [], 'and reports nothing');
});

t.test('an administrator disables and enables a client: its tokens are revoked, with events', async (t) => {
  const { fixture, client, take } = await setup();
  const issued = await fixture.server.issueTokens({ clientId: client.client.id, userId: 'user-1', scope: ['read'], withRefreshToken: true });
  take(t, issued.access_token, issued.refresh_token ?? '');

  t.equal(await fixture.server.setClientDisabled(client.client.id, true), 2, 'its access and refresh token are revoked');
  t.equal(fixture.storage.snapshot().clients.find((row) => row.id === client.client.id)?.disabled, true);
  await t.rejects(fixture.server.verifyAccessToken(issued.access_token), { error: 'invalid_token' } as unknown as Error, 'the access token stops working at once');
  t.match(take(t), [
    { type: 'client.disabled', via: 'admin', clientId: client.client.id, issuer: ISSUER },
    { type: 'token.revoked', revokedBy: 'client_disabled', clientId: client.client.id, userId: null, count: 2 },
  ]);
  const refused = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'client_credentials', scope: 'read' }));
  t.equal(refused.status, 401, 'a disabled client cannot authenticate');
  t.match(take(t), [{ type: 'client.authentication_failed', reason: 'client_disabled' }, { type: 'token.refused', error: 'invalid_client' }]);

  t.equal(await fixture.server.setClientDisabled(client.client.id, false), 0);
  t.match(take(t), [{ type: 'client.updated', via: 'admin', clientId: client.client.id }]);
  const again = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'client_credentials', scope: 'read' }));
  t.equal(again.status, 200, 'enabled again');
  take(t, String(bodyOf(again)['access_token']));
  t.equal(await fixture.server.setClientDisabled('no-such-client', true), null, 'an unknown client');
  t.same(take(t), [], 'and no event for it');
});

t.test('a listener that throws or rejects changes no answer', async (t) => {
  for (const onEvent of [
    () => {
      throw new Error('listener broke');
    },
    () => Promise.reject(new Error('listener rejected')),
  ]) {
    const fixture = createFixture({ onEvent });
    const client = await registerTestClient(fixture, { grantTypes: ['client_credentials'] });
    const ok = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'client_credentials' }));
    t.equal(ok.status, 200);
    t.equal(bodyOf(ok)['token_type'], 'Bearer');
    const refused = await fixture.server.handleTokenRequest(tokenRequest({ ...client, clientSecret: 'wrong' }, { grant_type: 'client_credentials' }));
    t.equal(refused.status, 401);
    t.equal(bodyOf(refused)['error'], 'invalid_client');
    t.equal(fixture.storage.snapshot().accessTokens.length, 1);
  }
  t.throws(() => createFixture({ onEvent: 'log' as never }), new TypeError('options.onEvent must be a function (event) => void'));
});

t.test('diagnostics_channel subscribers get the same frozen event as onEvent', async (t) => {
  const seen: unknown[] = [];
  const onMessage = (message: unknown, name: string | symbol) => void seen.push([name, message]);
  subscribe('portcullis:token.issued', onMessage);
  t.teardown(() => unsubscribe('portcullis:token.issued', onMessage));
  const { fixture, client, events } = await setup();
  events.length = 0;
  const response = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'client_credentials' }));
  t.equal(response.status, 200);
  t.equal(seen.length, 1);
  const [name, message] = seen[0] as [string, PortcullisEvent];
  t.equal(name, 'portcullis:token.issued');
  t.equal(message, events.find((event) => event.type === 'token.issued'), 'the very object onEvent got');
  t.ok(Object.isFrozen(message));
  t.match(message, { type: 'token.issued', grantType: 'client_credentials', issuer: ISSUER });

  // Without any listener the channel alone still hears it.
  const quiet = createFixture();
  const other = await registerTestClient(quiet, { grantTypes: ['client_credentials'] });
  await quiet.server.handleTokenRequest(tokenRequest(other, { grant_type: 'client_credentials' }));
  t.equal(seen.length, 2);
});

t.test('OAuth 1.0a: a bad signature and a replayed nonce are refused with an event', async (t) => {
  const events: PortcullisEvent[] = [];
  const all: PortcullisEvent[] = [];
  const h = await setupOAuth1({ onEvent: (event) => {
      events.push(event);
      all.push(event);
    }, });
  const bad = await h.provider.handleRequestTokenRequest(
    h.signed({ url: 'https://auth.example/oauth1/request_token', consumerSecret: 'not-the-secret', extra: { oauth_callback: 'oob' } }),
  );
  t.equal(bad.status, 401);
  const time = new Date(h.clock.now * 1000);
  t.same(events.splice(0), [
    { type: 'oauth1.signature_refused', clientId: 'consumer-1', signatureMethod: 'HMAC-SHA1', reason: 'signature_invalid', path: '/oauth1/request_token', issuer: 'https://auth.example', time },
  ]);
  const granted = await getAccessToken(h);
  const temporary = await getRequestToken(h);
  t.same(events, [], 'granted requests are no refusal');
  const request = h.signed({ method: 'GET', url: 'https://auth.example/api', token: granted.token, tokenSecret: granted.secret, nonce: 'once' });
  await h.provider.verifySignedRequest(request);
  await t.rejects(h.provider.verifySignedRequest(request));
  t.same(events.splice(0), [
    { type: 'oauth1.signature_refused', clientId: 'consumer-1', signatureMethod: 'HMAC-SHA1', reason: 'nonce_used', path: '/api', issuer: 'https://auth.example', time },
  ]);
  const text = JSON.stringify(all);
  t.equal(all.length, 2);
  for (const secret of ['consumer-secret', granted.token, granted.secret, temporary.secret]) t.notOk(text.includes(secret), 'no secret in the events');
});
