// The one-step exchanges: with a store that has rotateRefreshTokenByDigest and
// redeemAuthorizationCodeByDigest, a refresh or a code redemption is one store call; when the
// store declines, or has no such method, the grants fall back to find-then-exchange and answer
// the same; a store that exchanges what the checks refuse leaves nobody with tokens.
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

async function setup(options: { oneStep: boolean; singleAccessToken?: boolean }) {
  const inner = new MemoryStorage();
  const counted = countingFacade(inner, { without: (name) => !options.oneStep && name.endsWith('ByDigest') });
  const fixture = createFixture({ storage: counted.storage, singleAccessToken: options.singleAccessToken ?? false, allowPlainPkce: true });
  const client = await registerTestClient(fixture);
  const snapshot = () => inner.snapshot();
  return { fixture, client, counted, snapshot };
}

for (const oneStep of [true, false]) {
  const label = oneStep ? 'one step' : 'find, then exchange';

  t.test(`${label}: a code redeems, then its refresh token rotates, with the same answers`, async (t) => {
    const { fixture, client, counted, snapshot } = await setup({ oneStep });
    const code = await obtainCode(fixture, client, { scope: 'read write' });
    counted.calls.clear();
    let response = await fixture.server.handleTokenRequest(
      tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
    );
    t.equal(response.status, 200);
    t.equal(bodyOf(response)['scope'], 'read write');
    t.equal(counted.count('redeemAuthorizationCodeByDigest'), oneStep ? 1 : 0);
    t.equal(counted.count('findAuthorizationCode'), oneStep ? 0 : 1);
    t.equal(counted.count('redeemAuthorizationCode'), oneStep ? 0 : 1, 'no second call in one step');
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
    t.equal(counted.count('rotateRefreshTokenByDigest'), oneStep ? 1 : 0);
    t.equal(counted.count('findRefreshToken'), oneStep ? 0 : 1);
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

  t.test(`${label}: each refusal keeps its own answer`, async (t) => {
    const { fixture, client, snapshot } = await setup({ oneStep });
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
}

t.test('codes the one-step redemption declines are redeemed by id: plain PKCE, a redirect URI sent only here', async (t) => {
  const { fixture, client, counted } = await setup({ oneStep: true });
  const spa = await registerTestClient(fixture, { type: 'public', name: 'SPA' });
  let code = await obtainCode(fixture, spa, { code_challenge: VERIFIER, code_challenge_method: 'plain' });
  counted.calls.clear();
  let response = await fixture.server.handleTokenRequest(
    createFormRequest('/oauth/token', { grant_type: 'authorization_code', client_id: spa.client.id, code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  );
  t.equal(response.status, 200, 'plain PKCE');
  t.equal(counted.count('redeemAuthorizationCodeByDigest'), 1);
  t.equal(counted.count('redeemAuthorizationCode'), 1, 'declined, then redeemed by id');

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

t.test('singleAccessToken and a narrowed scope rotate by id, since they need the token first', async (t) => {
  const { fixture, client, counted } = await setup({ oneStep: true, singleAccessToken: true });
  const code = await obtainCode(fixture, client, { scope: 'read write' });
  let response = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
  );
  t.equal(response.status, 200);
  t.equal(counted.count('redeemAuthorizationCodeByDigest'), 0);
  counted.calls.clear();
  response = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'refresh_token', refresh_token: String(bodyOf(response)['refresh_token']), scope: 'read' }),
  );
  t.equal(response.status, 200);
  t.equal(bodyOf(response)['scope'], 'read');
  t.equal(counted.count('rotateRefreshTokenByDigest'), 0);
  t.equal(counted.count('rotateRefreshToken'), 1);
});

t.test('a store that exchanges what the checks refuse leaves nobody with tokens', async (t) => {
  const inner = new MemoryStorage();
  // A broken store: it rotates whoever asks, and redeems whatever the expectation says.
  const broken = countingFacade(inner).storage;
  broken.rotateRefreshTokenByDigest = async (digest, _clientId, now, fresh) => {
    const found = await inner.findRefreshToken(digest);
    return inner.rotateRefreshTokenByDigest(digest, found?.clientId ?? '', now, fresh);
  };
  const fixture = createFixture({ storage: broken });
  const client = await registerTestClient(fixture);
  const thief = await registerTestClient(fixture, { name: 'Thief' });
  const code = await obtainCode(fixture, client);
  const issued = bodyOf(
    await fixture.server.handleTokenRequest(
      tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }),
    ),
  );
  const response = await fixture.server.handleTokenRequest(
    tokenRequest(thief, { grant_type: 'refresh_token', refresh_token: String(issued['refresh_token']) }),
  );
  t.equal(response.status, 400);
  t.same(bodyOf(response), { error: 'invalid_grant', error_description: 'The refresh token was issued to another client.' });
  const rows = inner.snapshot();
  t.equal(rows.accessTokens.length, 2, 'the broken store did save new tokens');
  t.ok(rows.accessTokens.every((row) => row.revokedAt !== null), 'but the whole family is revoked');
  t.ok(rows.refreshTokens.every((row) => row.revokedAt !== null));
});
