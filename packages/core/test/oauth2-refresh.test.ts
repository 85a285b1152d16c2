import t from 'tap';
import { tokenDigest } from '../src/index.js';
import { REDIRECT_URI, VERIFIER, bodyOf, countRows, createFixture, obtainCode, registerTestClient, tokenRequest, errorLike } from './oauth2-fixtures.js';

async function setup(options: Parameters<typeof createFixture>[0] = {}) {
  const fixture = createFixture(options);
  const client = await registerTestClient(fixture);
  const code = await obtainCode(fixture, client, { scope: 'read write' });
  const response = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  );
  const body = bodyOf(response);
  const refresh = (token: string, extra: Record<string, string> = {}, as = client) =>
    fixture.server.handleTokenRequest(tokenRequest(as, { grant_type: 'refresh_token', refresh_token: token, ...extra }));
  return { fixture, client, accessToken: String(body['access_token']), refreshToken: String(body['refresh_token']), refresh };
}

t.test('every use rotates: new tokens in the same family, the old refresh token consumed', async (t) => {
  const { fixture, refreshToken, refresh } = await setup();
  fixture.clock.advance(10);
  const response = await refresh(refreshToken);
  t.equal(response.status, 200);
  t.same(response.headers, { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' });
  const body = bodyOf(response);
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
  t.equal(body['scope'], 'read write');
  t.not(body['refresh_token'], refreshToken);
  const snapshot = fixture.storage.snapshot();
  const old = snapshot.refreshTokens.find((row) => row.digest === tokenDigest(refreshToken));
  const fresh = snapshot.refreshTokens.find((row) => row.digest === tokenDigest(String(body['refresh_token'])));
  t.same(old?.consumedAt, fixture.clock.now);
  t.equal(fresh?.familyId, old?.familyId);
  t.equal(fresh?.consumedAt, null);
  t.equal(snapshot.accessTokens.length, 2);
  t.ok(await fixture.server.verifyAccessToken(String(body['access_token']), ['write']));
});

t.test('the scope may narrow, and the new refresh token keeps the original scope (RFC 6749 section 6)', async (t) => {
  const { fixture, refreshToken, refresh } = await setup();
  const before = countRows(fixture.storage);
  let response = await refresh(refreshToken, { scope: 'read admin' });
  t.equal(response.status, 400);
  t.equal(bodyOf(response)['error'], 'invalid_scope', 'unknown scope');
  t.same(countRows(fixture.storage), before);

  response = await refresh(refreshToken, { scope: 'read' });
  t.equal(response.status, 200);
  t.equal(bodyOf(response)['scope'], 'read');
  const access = await fixture.server.verifyAccessToken(String(bodyOf(response)['access_token']));
  t.same(access.scope, ['read']);
  const next = String(bodyOf(response)['refresh_token']);
  t.same(fixture.storage.snapshot().refreshTokens.find((row) => row.digest === tokenDigest(next))?.scope, ['read', 'write']);
  response = await refresh(next);
  t.equal(bodyOf(response)['scope'], 'read write', 'the full scope comes back on the next refresh');
});

t.test('a wider scope is invalid_scope and spends nothing', async (t) => {
  const fixture = createFixture();
  const client = await registerTestClient(fixture);
  const code = await obtainCode(fixture, client, { scope: 'read' });
  const tokens = bodyOf(await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  ));
  const before = fixture.storage.snapshot();
  const response = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'refresh_token', refresh_token: String(tokens['refresh_token']), scope: 'write' }),
  );
  t.equal(response.status, 400);
  t.equal(bodyOf(response)['error'], 'invalid_scope');
  t.same(fixture.storage.snapshot(), before, 'storage unchanged');
});

t.test('reuse of a rotated refresh token revokes the whole family', async (t) => {
  const { fixture, refreshToken, accessToken, refresh } = await setup();
  const rotated = bodyOf(await refresh(refreshToken));
  const replay = await refresh(refreshToken);
  t.equal(replay.status, 400);
  t.equal(bodyOf(replay)['error'], 'invalid_grant');
  const snapshot = fixture.storage.snapshot();
  t.ok(snapshot.accessTokens.every((row) => row.revokedAt !== null), 'every access token of the family');
  t.ok(snapshot.refreshTokens.every((row) => row.revokedAt !== null), 'every refresh token of the family');
  await t.rejects(fixture.server.verifyAccessToken(accessToken), errorLike({ error: 'invalid_token' }));
  await t.rejects(fixture.server.verifyAccessToken(String(rotated['access_token'])), errorLike({ error: 'invalid_token' }));
  const afterRevocation = await refresh(String(rotated['refresh_token']));
  t.equal(bodyOf(afterRevocation)['error'], 'invalid_grant', 'the newest refresh token is dead too');
});

t.test('two concurrent refreshes: exactly one wins, and the loser revokes the family', async (t) => {
  const { fixture, refreshToken, refresh } = await setup();
  const results = await Promise.all([refresh(refreshToken), refresh(refreshToken)]);
  t.same(results.map((r) => r.status).sort(), [200, 400]);
  const loser = results.find((r) => r.status === 400);
  t.equal(loser && bodyOf(loser)['error'], 'invalid_grant');
  const snapshot = fixture.storage.snapshot();
  t.equal(snapshot.refreshTokens.length, 2, 'one rotation saved');
  t.ok(snapshot.refreshTokens.every((row) => row.revokedAt !== null), 'family revoked');
});

t.test('unknown, foreign, revoked and expired refresh tokens are invalid_grant', async (t) => {
  const { fixture, client, refreshToken, refresh } = await setup({ refreshTokenTtl: 100 });
  const other = await registerTestClient(fixture);
  const before = fixture.storage.snapshot();

  let response = await refresh('pcr_unknown');
  t.equal(bodyOf(response)['error'], 'invalid_grant', 'unknown');
  response = await refresh(refreshToken, {}, other);
  t.equal(bodyOf(response)['error'], 'invalid_grant', 'issued to another client');
  response = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'refresh_token' }));
  t.equal(bodyOf(response)['error'], 'invalid_request', 'refresh_token missing');
  t.same(fixture.storage.snapshot(), before, 'nothing changed, not even a revocation');

  fixture.clock.advance(101);
  response = await refresh(refreshToken);
  t.equal(response.status, 400);
  t.equal(bodyOf(response)['error'], 'invalid_grant', 'expired');
  t.equal(fixture.storage.snapshot().refreshTokens[0]?.consumedAt, null, 'an expired token is not rotated');

  const second = await setup();
  await second.fixture.server.revokeGrant('user-1', second.client.client.id);
  response = await second.refresh(second.refreshToken);
  t.equal(bodyOf(response)['error'], 'invalid_grant', 'revoked');
});

t.test('deleteExpired purges the expired rows it meets', async (t) => {
  const { fixture, refreshToken, refresh } = await setup({ deleteExpired: true, refreshTokenTtl: 100, accessTokenTtl: 50 });
  fixture.clock.advance(101);
  const response = await refresh(refreshToken);
  t.equal(bodyOf(response)['error'], 'invalid_grant');
  const snapshot = fixture.storage.snapshot();
  t.equal(snapshot.refreshTokens.length, 0, 'the expired refresh token is gone');
  t.equal(snapshot.accessTokens.length, 0, 'and the expired access token');
  t.equal(snapshot.authorizationCodes.length, 0, 'and the expired code');

  const kept = await setup({ refreshTokenTtl: 100 });
  kept.fixture.clock.advance(101);
  await kept.refresh(kept.refreshToken);
  t.equal(kept.fixture.storage.snapshot().refreshTokens.length, 1, 'kept when deleteExpired is off');
});

t.test('the refresh_token grant needs the grant type on the client', async (t) => {
  const { fixture, client, refreshToken, refresh } = await setup();
  await fixture.storage.updateClient(client.client.id, { grantTypes: ['authorization_code'] });
  const response = await refresh(refreshToken);
  t.equal(response.status, 400);
  t.equal(bodyOf(response)['error'], 'unauthorized_client');
});
