// The exchanges' store calls: a code redemption and a refresh are each a find, the core's checks,
// then one call that consumes and saves; each refusal keeps its own answer; and a store call that
// reports another caller won is a replay, which revokes the family.
import t from 'tap';
import { MemoryStorage, tokenDigest } from '../src/index.js';
import {
  CHALLENGE,
  REDIRECT_URI,
  VERIFIER,
  createAuthorizeRequest,
  createFormRequest,
  bodyOf,
  createFixture,
  obtainCode,
  registerTestClient,
  tokenRequest,
} from './oauth2-fixtures.js';
import { countingFacade } from './storage-facade.js';

async function setup(options: { singleAccessToken?: boolean } = {}) {
  const inner = new MemoryStorage();
  const counted = countingFacade(inner);
  const fixture = createFixture({ storage: counted.storage, singleAccessToken: options.singleAccessToken ?? false, profile: 'oauth2.0', allowPlainPkce: true });
  const client = await registerTestClient(fixture);
  const snapshot = () => inner.snapshot();
  return { fixture, client, counted, snapshot, inner };
}

  t.test('a code redeems, then its refresh token rotates: find, then one exchange call each', async (t) => {
    const { fixture, client, counted, snapshot } = await setup();
    const code = await obtainCode(fixture, client, { scope: 'read write' });
    counted.calls.clear();
    let response = await fixture.server.handleTokenRequest(
      tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
    );
    t.equal(response.status, 200);
    t.equal(bodyOf(response)['scope'], 'read write');
    t.equal(counted.count('findAuthorizationCode'), 1);
    t.equal(counted.count('redeemAuthorizationCode'), 1);
    t.equal(counted.count('consumeAuthorizationCode'), 0);
    const codeRow = snapshot().authorizationCodes.find((row) => row.digest === tokenDigest(code));
    t.same(codeRow?.consumedAt, fixture.clock.now, 'the code is spent');

    const first = bodyOf(response);
    const access = await fixture.server.verifyAccessToken(String(first['access_token']));
    t.equal(access.clientId, client.client.id);
    t.equal(access.userId, 'user-1');
    t.same(access.scope, ['read', 'write']);
    const accessRow = snapshot().accessTokens.find((row) => row.digest === tokenDigest(String(first['access_token'])));
    t.equal(accessRow?.familyId, codeRow?.familyId, 'the tokens join the code family');
    t.same(accessRow?.issuedAt, fixture.clock.now);

    fixture.clock.advance(5);
    counted.calls.clear();
    response = await fixture.server.handleTokenRequest(
      tokenRequest(client, { grant_type: 'refresh_token', refresh_token: String(first['refresh_token']) }),
    );
    t.equal(response.status, 200);
    t.same(Object.keys(bodyOf(response)).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
    t.equal(bodyOf(response)['scope'], 'read write');
    t.equal(counted.count('findRefreshToken'), 1);
    t.equal(counted.count('rotateRefreshToken'), 1);
    const rows = snapshot();
    const old = rows.refreshTokens.find((row) => row.digest === tokenDigest(String(first['refresh_token'])));
    const next = rows.refreshTokens.find((row) => row.digest === tokenDigest(String(bodyOf(response)['refresh_token'])));
    t.same(old?.consumedAt, fixture.clock.now);
    t.match(next, { clientId: client.client.id, userId: 'user-1', scope: ['read', 'write'], familyId: old?.familyId, consumedAt: null, revokedAt: null });
    t.same(next?.issuedAt, fixture.clock.now);
    t.equal(rows.accessTokens.length, 2);

    // The rotated token again: a replay, and the family goes.
    response = await fixture.server.handleTokenRequest(
      tokenRequest(client, { grant_type: 'refresh_token', refresh_token: String(first['refresh_token']) }),
    );
    t.equal(response.status, 400);
    t.same(bodyOf(response), { error: 'invalid_grant', error_description: 'The refresh token was already used.' });
    t.ok(snapshot().accessTokens.every((row) => row.revokedAt !== null), 'every access token of the family is revoked');
    t.ok(snapshot().refreshTokens.every((row) => row.revokedAt !== null), 'and every refresh token');
  });

  t.test('each refusal keeps its own answer', async (t) => {
    const { fixture, client, snapshot } = await setup();
    const other = await registerTestClient(fixture, { name: 'Other' });
    const code = await obtainCode(fixture, client, { scope: 'read' });
    const redeem = (as: typeof client, extra: Record<string, string>) =>
      fixture.server.handleTokenRequest(tokenRequest(as, { grant_type: 'authorization_code', code, ...extra }));

    let response = await redeem(client, { redirect_uri: REDIRECT_URI, code_verifier: 'x'.repeat(43) });
    t.equal(response.status, 400);
    t.same(bodyOf(response), { error: 'invalid_grant', error_description: 'The code_verifier does not match the code_challenge.' });
    t.not(snapshot().authorizationCodes[0]?.consumedAt, null, 'a failed check spends the code');
    t.equal(snapshot().accessTokens.length, 0);
    response = await redeem(client, { redirect_uri: REDIRECT_URI, code_verifier: VERIFIER });
    t.same(bodyOf(response), { error: 'invalid_grant', error_description: 'The authorization code was already used.' });

    const second = await obtainCode(fixture, client, { scope: 'read' });
    response = await fixture.server.handleTokenRequest(
      tokenRequest(other, { grant_type: 'authorization_code', code: second, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
    );
    t.same(bodyOf(response), { error: 'invalid_grant', error_description: 'The authorization code was issued to another client.' });

    response = await fixture.server.handleTokenRequest(
      tokenRequest(client, { grant_type: 'authorization_code', code: 'no-such-code', redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
    );
    t.same(bodyOf(response), { error: 'invalid_grant', error_description: 'The authorization code is invalid.' });

    const third = await obtainCode(fixture, client, { scope: 'read' });
    response = await fixture.server.handleTokenRequest(
      tokenRequest(client, { grant_type: 'authorization_code', code: third, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
    );
    const refreshToken = String(bodyOf(response)['refresh_token']);
    const refresh = (as: typeof client, token = refreshToken) =>
      fixture.server.handleTokenRequest(tokenRequest(as, { grant_type: 'refresh_token', refresh_token: token }));
    response = await refresh(other);
    t.same(bodyOf(response), { error: 'invalid_grant', error_description: 'The refresh token was issued to another client.' });
    t.equal(snapshot().refreshTokens.find((row) => row.digest === tokenDigest(refreshToken))?.consumedAt, null, 'another client spends nothing');
    response = await refresh(client, 'no-such-token');
    t.same(bodyOf(response), { error: 'invalid_grant', error_description: 'The refresh token is invalid.' });
    fixture.clock.advance(31 * 24 * 3600);
    const before = snapshot().accessTokens.length;
    response = await refresh(client);
    t.same(bodyOf(response), { error: 'invalid_grant', error_description: 'The refresh token has expired.' });
    t.equal(snapshot().refreshTokens.find((row) => row.digest === tokenDigest(refreshToken))?.consumedAt ?? null, null);
    t.ok(snapshot().accessTokens.length <= before, 'nothing issued');
  });

t.test('plain PKCE, and a redirect URI sent to the token endpoint only, redeem', async (t) => {
  const { fixture, client, counted } = await setup();
  const spa = await registerTestClient(fixture, { type: 'public', name: 'SPA' });
  let code = await obtainCode(fixture, spa, { code_challenge: VERIFIER, code_challenge_method: 'plain' });
  counted.calls.clear();
  let response = await fixture.server.handleTokenRequest(
    createFormRequest('/oauth/token', { grant_type: 'authorization_code', client_id: spa.client.id, code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  );
  t.equal(response.status, 200, 'plain PKCE');
  t.equal(counted.count('redeemAuthorizationCode'), 1);

  // Without redirect_uri at the authorization endpoint, a registered one may still be sent here.
  const asked = await fixture.server.validateAuthorizationRequest(
    createAuthorizeRequest({ response_type: 'code', client_id: client.client.id, code_challenge: CHALLENGE, code_challenge_method: 'S256' }),
  );
  if (asked.kind !== 'consent') throw new Error(`expected consent, got ${JSON.stringify(asked)}`);
  const done = await fixture.server.completeAuthorization(asked.request, { userId: 'user-1', approved: true });
  if (done.kind !== 'redirect') throw new Error(`expected a redirect, got ${JSON.stringify(done)}`);
  code = new URL(done.location).searchParams.get('code') ?? '';
  counted.calls.clear();
  response = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  );
  t.equal(response.status, 200, 'a registered redirect URI sent only to the token endpoint');
  t.equal(counted.count('redeemAuthorizationCode'), 1);
});

t.test('singleAccessToken and a narrowed scope take the same path', async (t) => {
  const { fixture, client, counted } = await setup({ singleAccessToken: true });
  const code = await obtainCode(fixture, client, { scope: 'read write' });
  let response = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  );
  t.equal(response.status, 200);
  t.equal(counted.count('redeemAuthorizationCode'), 1);
  counted.calls.clear();
  response = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'refresh_token', refresh_token: String(bodyOf(response)['refresh_token']), scope: 'read' }),
  );
  t.equal(response.status, 200);
  t.equal(bodyOf(response)['scope'], 'read');
  t.equal(counted.count('findRefreshToken'), 1);
  t.equal(counted.count('rotateRefreshToken'), 1);
});

t.test('a redemption another request won between find and exchange is a replay: the family is revoked', async (t) => {
  const { fixture, client, counted, snapshot, inner } = await setup();
  const code = await obtainCode(fixture, client);
  const winner = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  );
  t.equal(winner.status, 200);
  // The loser read the code before the winner consumed it: the store's redemption then says no.
  const unconsumed = { ...snapshot().authorizationCodes[0]!, consumedAt: null };
  counted.storage.findAuthorizationCode = async () => unconsumed;
  const loser = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  );
  t.equal(loser.status, 400);
  t.same(bodyOf(loser), { error: 'invalid_grant', error_description: 'The authorization code was already used.' });
  t.equal(inner.snapshot().accessTokens.length, 1, 'the loser saved nothing');
  t.ok(inner.snapshot().accessTokens.every((row) => row.revokedAt !== null), "the winner's tokens are revoked");
  t.ok(inner.snapshot().refreshTokens.every((row) => row.revokedAt !== null));
});

t.test('a rotation another request won between find and exchange is a replay: the family is revoked', async (t) => {
  const { fixture, client, counted, snapshot, inner } = await setup();
  const code = await obtainCode(fixture, client);
  const issued = bodyOf(
    await fixture.server.handleTokenRequest(
      tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
    ),
  );
  const refreshToken = String(issued['refresh_token']);
  const winner = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'refresh_token', refresh_token: refreshToken }));
  t.equal(winner.status, 200);
  const unconsumed = { ...snapshot().refreshTokens.find((row) => row.digest === tokenDigest(refreshToken))!, consumedAt: null };
  counted.storage.findRefreshToken = async () => unconsumed;
  const loser = await fixture.server.handleTokenRequest(tokenRequest(client, { grant_type: 'refresh_token', refresh_token: refreshToken }));
  t.equal(loser.status, 400);
  t.same(bodyOf(loser), { error: 'invalid_grant', error_description: 'The refresh token was already used.' });
  t.equal(inner.snapshot().accessTokens.length, 2, 'the loser saved nothing');
  t.ok(inner.snapshot().accessTokens.every((row) => row.revokedAt !== null), 'every access token of the family is revoked');
  t.ok(inner.snapshot().refreshTokens.every((row) => row.revokedAt !== null), 'and every refresh token');
});
