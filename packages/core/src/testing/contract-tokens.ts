import type { ContractCase } from './contract-case.js';
import { STORAGE_ERROR, tryToChange } from './contract-case.js';
import { contractTime } from './storage-fixtures.js';

export const tokenCases: ContractCase[] = [
  {
    name: 'saveTokens stores an access token with or without a refresh token',
    async run(t, { storage }, fx) {
      const { access, refresh } = fx.tokenPair({ scope: ['read', 'write'] });
      await storage.saveTokens(access, refresh);
      const alone = fx.accessToken({ userId: null, scope: [] });
      await storage.saveTokens(alone, null);

      t.strictSame(await storage.findAccessToken(access.digest), access);
      t.strictSame(await storage.findRefreshToken(refresh.digest), refresh);
      t.strictSame(await storage.findAccessToken(alone.digest), alone, 'null user, empty scope');
      t.equal(await storage.findAccessToken(refresh.digest), null, 'a refresh digest is not an access token');
      t.equal(await storage.findRefreshToken(access.digest), null, 'an access digest is not a refresh token');
      t.equal(await storage.findAccessToken(fx.accessToken().digest), null, 'unknown digest');

      tryToChange(await storage.findAccessToken(access.digest));
      t.strictSame(await storage.findAccessToken(access.digest), access, 'changing a result changes nothing');
    },
  },
  {
    name: 'saveTokens is all or none: a refresh token that collides leaves no access token',
    async run(t, { storage }, fx) {
      const first = fx.tokenPair();
      await storage.saveTokens(first.access, first.refresh);
      const access = fx.accessToken();
      await t.rejects(
        storage.saveTokens(access, fx.refreshToken(access, { digest: first.refresh.digest })),
        STORAGE_ERROR,
      );
      t.equal(await storage.findAccessToken(access.digest), null, 'the access token was not kept');
      const second = fx.accessToken();
      await t.rejects(storage.saveTokens(second, fx.refreshToken(second, { id: first.refresh.id })), STORAGE_ERROR);
      t.equal(await storage.findAccessToken(second.digest), null, 'nor on an id collision');
      await t.rejects(storage.saveTokens(fx.accessToken({ digest: first.access.digest }), null), STORAGE_ERROR);
      t.strictSame(await storage.listAccessTokens({}), [first.access], 'only the first issuance is stored');
    },
  },
  {
    name: 'rotateRefreshToken: consumes the old token and saves the new pair, once',
    async run(t, { storage }, fx) {
      const old = fx.tokenPair();
      await storage.saveTokens(old.access, old.refresh);
      const next = fx.tokenPair({ familyId: old.access.familyId, issuedAt: contractTime(100) });
      t.equal(await storage.rotateRefreshToken(old.refresh.id, contractTime(100), next.access, next.refresh), true);
      t.strictSame(await storage.findRefreshToken(old.refresh.digest), { ...old.refresh, consumedAt: contractTime(100) });
      t.strictSame(await storage.findAccessToken(next.access.digest), next.access);
      t.strictSame(await storage.findRefreshToken(next.refresh.digest), next.refresh);
      t.strictSame(await storage.findAccessToken(old.access.digest), old.access, 'the old access token is left alone');

      const again = fx.tokenPair({ familyId: old.access.familyId });
      t.equal(
        await storage.rotateRefreshToken(old.refresh.id, contractTime(101), again.access, again.refresh),
        false,
        'a consumed token does not rotate twice',
      );
      t.equal(await storage.findAccessToken(again.access.digest), null, 'and the loser saved nothing');
      t.equal(await storage.findRefreshToken(again.refresh.digest), null);
      t.strictSame(
        await storage.findRefreshToken(old.refresh.digest),
        { ...old.refresh, consumedAt: contractTime(100) },
        'the first consumption time stays',
      );
    },
  },
  {
    name: 'rotateRefreshToken of a revoked or unknown token is false and saves nothing',
    async run(t, { storage }, fx) {
      const old = fx.tokenPair();
      await storage.saveTokens(old.access, old.refresh);
      await storage.revokeFamily(old.access.familyId, contractTime(1));
      const next = fx.tokenPair();
      t.equal(await storage.rotateRefreshToken(old.refresh.id, contractTime(2), next.access, next.refresh), false);
      t.equal(await storage.rotateRefreshToken('no-such-id', contractTime(2), next.access, next.refresh), false);
      t.equal(await storage.findAccessToken(next.access.digest), null);
      t.equal(await storage.findRefreshToken(next.refresh.digest), null);
      t.equal((await storage.findRefreshToken(old.refresh.digest))?.consumedAt, null, 'not marked consumed');
    },
  },
  {
    name: 'rotateRefreshToken rolls back when the new tokens collide',
    async run(t, { storage }, fx) {
      const old = fx.tokenPair();
      const other = fx.tokenPair();
      await storage.saveTokens(old.access, old.refresh);
      await storage.saveTokens(other.access, other.refresh);
      const next = fx.tokenPair();
      const clash = { ...next.refresh, digest: other.refresh.digest };
      await t.rejects(storage.rotateRefreshToken(old.refresh.id, contractTime(5), next.access, clash), STORAGE_ERROR);
      t.strictSame(await storage.findRefreshToken(old.refresh.digest), old.refresh, 'old token still unconsumed');
      t.equal(await storage.findAccessToken(next.access.digest), null, 'no new access token');
      t.equal(
        await storage.rotateRefreshToken(old.refresh.id, contractTime(6), next.access, next.refresh),
        true,
        'and it can still rotate afterwards',
      );
    },
  },
  {
    name: 'revokeAccessToken revokes one live token by id, once',
    async run(t, { storage }, fx) {
      const { access, refresh } = fx.tokenPair();
      const other = fx.accessToken({ familyId: access.familyId });
      await storage.saveTokens(access, refresh);
      await storage.saveTokens(other, null);
      t.equal(await storage.revokeAccessToken(access.id, contractTime(9)), true);
      t.equal(await storage.revokeAccessToken(access.id, contractTime(10)), false, 'already revoked');
      t.equal(await storage.revokeAccessToken('no-such-id', contractTime(10)), false, 'unknown');
      t.strictSame(await storage.findAccessToken(access.digest), { ...access, revokedAt: contractTime(9) });
      t.strictSame(await storage.findAccessToken(other.digest), other, 'same family, untouched');
      t.strictSame(await storage.findRefreshToken(refresh.digest), refresh, 'refresh token untouched');
    },
  },
  {
    name: 'revokeFamily revokes every access and refresh token of the family and counts them',
    async run(t, { storage }, fx) {
      const first = fx.tokenPair();
      const { familyId } = first.access;
      const second = fx.tokenPair({ familyId, issuedAt: contractTime(50) });
      const alreadyRevoked = fx.accessToken({ familyId, revokedAt: contractTime(1) });
      // Another family of the same client and user.
      const stranger = fx.tokenPair();
      await storage.saveTokens(first.access, first.refresh);
      await storage.rotateRefreshToken(first.refresh.id, contractTime(50), second.access, second.refresh);
      await storage.saveTokens(alreadyRevoked, null);
      await storage.saveTokens(stranger.access, stranger.refresh);

      const now = contractTime(60);
      t.equal(await storage.revokeFamily(familyId, now), 4, 'two access and two refresh tokens changed');
      t.equal((await storage.findAccessToken(first.access.digest))?.revokedAt?.getTime(), now.getTime());
      t.equal((await storage.findAccessToken(second.access.digest))?.revokedAt?.getTime(), now.getTime());
      t.strictSame(await storage.findRefreshToken(first.refresh.digest), {
        ...first.refresh,
        consumedAt: contractTime(50),
        revokedAt: now,
      });
      t.strictSame(await storage.findRefreshToken(second.refresh.digest), { ...second.refresh, revokedAt: now });
      t.strictSame(await storage.findAccessToken(alreadyRevoked.digest), alreadyRevoked, 'first revocation time kept');
      t.strictSame(await storage.findAccessToken(stranger.access.digest), stranger.access, 'other family untouched');
      t.strictSame(await storage.findRefreshToken(stranger.refresh.digest), stranger.refresh);
      t.equal(await storage.revokeFamily(familyId, contractTime(61)), 0, 'nothing left to revoke');
      t.equal(await storage.revokeFamily('no-such-family', contractTime(61)), 0);
    },
  },
  {
    name: 'revokeFamily revokes a family without a user (client_credentials) and not its client\'s others',
    async run(t, { storage }, fx) {
      const machine = fx.accessToken({ userId: null });
      const sameClient = fx.accessToken({ userId: null });
      await storage.saveTokens(machine, null);
      await storage.saveTokens(sameClient, null);
      const now = contractTime(60);
      t.equal(await storage.revokeFamily(machine.familyId, now), 1);
      t.strictSame(await storage.findAccessToken(machine.digest), { ...machine, revokedAt: now });
      t.strictSame(await storage.findAccessToken(sameClient.digest), sameClient, 'another family of the client');
    },
  },
  {
    name: 'revokeTokens by client, user, null user, scope and accessOnly',
    async run(t, { storage }, fx) {
      const now = contractTime(100);
      // client-a, user-1, [read, write]
      const rw = fx.tokenPair({ scope: ['read', 'write'] });
      // client-a, user-1, [read]
      const r = fx.tokenPair({ scope: ['read'] });
      // client-a, user-2
      const u2 = fx.tokenPair({ userId: 'user-2' });
      // client-a, client_credentials
      const cc = fx.accessToken({ userId: null });
      // client-b, user-1
      const b = fx.tokenPair({ clientId: 'client-b' });
      // client-a, user-1, but already expired or revoked: not live, so not counted
      const expired = fx.accessToken({ expiresAt: contractTime(50) });
      const revoked = fx.accessToken({ revokedAt: contractTime(40) });
      for (const pair of [rw, r, u2, b]) await storage.saveTokens(pair.access, pair.refresh);
      for (const token of [cc, expired, revoked]) await storage.saveTokens(token, null);

      t.equal(
        await storage.revokeTokens({ clientId: 'client-a', userId: 'user-1', scope: ['write', 'read'], accessOnly: true }, now),
        1,
        'scope is matched as a set, in any order; accessOnly leaves refresh tokens',
      );
      t.equal((await storage.findAccessToken(rw.access.digest))?.revokedAt?.getTime(), now.getTime());
      t.equal((await storage.findRefreshToken(rw.refresh.digest))?.revokedAt, null);
      t.equal((await storage.findAccessToken(r.access.digest))?.revokedAt, null, '[read] is another scope');

      t.equal(await storage.revokeTokens({ clientId: 'client-a', userId: null }, now), 1, 'null user: client_credentials');
      t.equal((await storage.findAccessToken(cc.digest))?.revokedAt?.getTime(), now.getTime());
      t.equal((await storage.findAccessToken(u2.access.digest))?.revokedAt, null, 'user-2 untouched by null user');

      t.equal(
        await storage.revokeTokens({ clientId: 'client-a', userId: 'user-1' }, now),
        3,
        "the rest of user-1's live tokens at client-a: r access, r refresh, rw refresh",
      );
      t.equal((await storage.findRefreshToken(r.refresh.digest))?.revokedAt?.getTime(), now.getTime());
      t.equal((await storage.findRefreshToken(rw.refresh.digest))?.revokedAt?.getTime(), now.getTime());
      t.strictSame(await storage.findAccessToken(expired.digest), expired, 'expired token not touched');
      t.strictSame(await storage.findAccessToken(revoked.digest), revoked, 'revocation time kept');
      t.strictSame(await storage.findAccessToken(b.access.digest), b.access, 'other client untouched');

      t.equal(await storage.revokeTokens({ clientId: 'client-a' }, now), 2, 'every user: user-2 access and refresh');
      t.equal(await storage.revokeTokens({ clientId: 'client-a' }, now), 0, 'nothing left');
      t.strictSame(await storage.findRefreshToken(b.refresh.digest), b.refresh);
    },
  },
  {
    name: "revokeGrant ends every credential of a user's grant to a client, and no other",
    async run(t, { storage }, fx) {
      const now = contractTime(100);
      const grant = { clientId: 'client-a', userId: 'user-1' };
      // The grant's live credentials, one of each kind.
      const pair = fx.tokenPair();
      const code = fx.authorizationCode();
      const pending = fx.requestToken();
      const authorized = fx.requestToken();
      const oauth1 = fx.oauth1AccessToken();
      // Other users', other clients' and already ended credentials.
      const otherUser = fx.tokenPair({ userId: 'user-2' });
      const otherClient = fx.tokenPair({ clientId: 'client-b' });
      const otherUserCode = fx.authorizationCode({ userId: 'user-2' });
      const otherClientCode = fx.authorizationCode({ clientId: 'client-b' });
      const usedCode = fx.authorizationCode({ consumedAt: contractTime(10) });
      const otherUserRequest = fx.requestToken();
      const otherClientRequest = fx.requestToken({ clientId: 'client-b' });
      const otherUserOAuth1 = fx.oauth1AccessToken({ userId: 'user-2' });
      const otherClientOAuth1 = fx.oauth1AccessToken({ clientId: 'client-b' });
      const revokedOAuth1 = fx.oauth1AccessToken({ revokedAt: contractTime(20) });
      for (const tokens of [pair, otherUser, otherClient]) await storage.saveTokens(tokens.access, tokens.refresh);
      for (const saved of [code, otherUserCode, otherClientCode, usedCode]) await storage.saveAuthorizationCode(saved);
      for (const saved of [pending, authorized, otherUserRequest, otherClientRequest]) await storage.saveRequestToken(saved);
      for (const saved of [oauth1, otherUserOAuth1, otherClientOAuth1, revokedOAuth1]) await storage.saveOAuth1AccessToken(saved);
      const verifierDigest = fx.verifierDigest();
      t.ok(await storage.authorizeRequestToken(authorized.token, 'user-1', verifierDigest, ['read']));
      t.ok(await storage.authorizeRequestToken(otherUserRequest.token, 'user-2', fx.verifierDigest(), ['read']));
      t.ok(await storage.authorizeRequestToken(otherClientRequest.token, 'user-1', fx.verifierDigest(), ['read']));
      const untouched = {
        accessTokens: await Promise.all([otherUser, otherClient].map((tokens) => storage.findAccessToken(tokens.access.digest))),
        refreshTokens: await Promise.all([otherUser, otherClient].map((tokens) => storage.findRefreshToken(tokens.refresh.digest))),
        codes: await Promise.all([otherUserCode, otherClientCode, usedCode].map((saved) => storage.findAuthorizationCode(saved.digest))),
        requestTokens: await Promise.all([pending, otherUserRequest, otherClientRequest].map((saved) => storage.findRequestToken(saved.token))),
        oauth1: await Promise.all([otherUserOAuth1, otherClientOAuth1, revokedOAuth1].map((saved) => storage.findOAuth1AccessToken(saved.token))),
      };

      t.equal(await storage.revokeGrant(grant, now), 5, 'access, refresh, code, authorized request token, OAuth 1.0a access token');
      t.strictSame(await storage.findAccessToken(pair.access.digest), { ...pair.access, revokedAt: now }, 'the access token is revoked');
      t.strictSame(await storage.findRefreshToken(pair.refresh.digest), { ...pair.refresh, revokedAt: now }, 'the refresh token is revoked');
      t.strictSame(await storage.findAuthorizationCode(code.digest), { ...code, consumedAt: now }, 'the code is spent');
      t.strictSame(
        await storage.findRequestToken(authorized.token),
        { ...authorized, userId: 'user-1', verifierDigest, scope: ['read'], consumedAt: now },
        'the authorized request token is spent',
      );
      t.strictSame(await storage.findOAuth1AccessToken(oauth1.token), { ...oauth1, revokedAt: now }, 'the OAuth 1.0a access token is revoked');
      t.strictSame(await storage.consumeAuthorizationCode(code.digest, contractTime(101)), { status: 'reused', record: { ...code, consumedAt: now } });
      t.equal((await storage.consumeRequestToken(authorized.token, contractTime(101))).status, 'reused');
      t.equal(await storage.rotateRefreshToken(pair.refresh.id, contractTime(101), fx.accessToken(), fx.refreshToken(null)), false, 'no rotation');
      t.strictSame(
        (await storage.listGrants('user-1', contractTime(101))).map((summary) => summary.clientId),
        ['client-b', 'client-b'],
        "user-1's grants to client-b (OAuth 2 and OAuth 1.0a) are all that is left",
      );

      t.strictSame(
        {
          accessTokens: await Promise.all([otherUser, otherClient].map((tokens) => storage.findAccessToken(tokens.access.digest))),
          refreshTokens: await Promise.all([otherUser, otherClient].map((tokens) => storage.findRefreshToken(tokens.refresh.digest))),
          codes: await Promise.all([otherUserCode, otherClientCode, usedCode].map((saved) => storage.findAuthorizationCode(saved.digest))),
          requestTokens: await Promise.all([pending, otherUserRequest, otherClientRequest].map((saved) => storage.findRequestToken(saved.token))),
          oauth1: await Promise.all([otherUserOAuth1, otherClientOAuth1, revokedOAuth1].map((saved) => storage.findOAuth1AccessToken(saved.token))),
        },
        untouched,
        "other users', other clients' and already ended credentials are untouched, and so is a request token no user approved",
      );
      t.equal(await storage.revokeGrant(grant, contractTime(200)), 0, 'nothing left to revoke');
      t.strictSame(await storage.findAccessToken(pair.access.digest), { ...pair.access, revokedAt: now }, 'the revocation time is kept');
    },
  },
  {
    name: 'listAccessTokens filters by client, user and liveness, newest first, with paging',
    async run(t, { storage }, fx) {
      const t1 = fx.accessToken({ issuedAt: contractTime(1) });
      const t2 = fx.accessToken({ issuedAt: contractTime(2), userId: 'user-2' });
      const t3 = fx.accessToken({ issuedAt: contractTime(3), clientId: 'client-b' });
      const expired = fx.accessToken({ issuedAt: contractTime(-7200), expiresAt: contractTime(-3600) });
      const revoked = fx.accessToken({ issuedAt: contractTime(-1), revokedAt: contractTime(0) });
      for (const token of [t1, t2, t3, expired, revoked]) await storage.saveTokens(token, null);

      t.strictSame(await storage.listAccessTokens({}), [t3, t2, t1, revoked, expired]);
      t.strictSame(await storage.listAccessTokens({ clientId: 'client-a' }), [t2, t1, revoked, expired]);
      t.strictSame(await storage.listAccessTokens({ userId: 'user-1' }), [t3, t1, revoked, expired]);
      t.strictSame(await storage.listAccessTokens({ clientId: 'client-a', userId: 'user-1', liveAt: contractTime(10) }), [t1]);
      t.strictSame(
        await storage.listAccessTokens({ liveAt: contractTime(3600) }),
        [],
        'expiresAt equal to the instant is not live',
      );
      t.strictSame(await storage.listAccessTokens({ limit: 2, offset: 1 }), [t2, t1]);
      t.strictSame(await storage.listAccessTokens({ offset: 4 }), [expired]);
      t.strictSame(await storage.listAccessTokens({ limit: 0 }), []);
      for (const bad of [{ limit: -1 }, { offset: -1 }, { limit: 1.5 }, { offset: Number.NaN }]) {
        await t.rejects(storage.listAccessTokens(bad), { name: 'RangeError' }, `access tokens ${JSON.stringify(bad)}`);
        await t.rejects(storage.listAuthorizationCodes(bad), { name: 'RangeError' }, `codes ${JSON.stringify(bad)}`);
      }
    },
  },
  {
    name: 'listGrants: one summary per client and protocol over live OAuth 2 and OAuth 1.0a tokens',
    async run(t, { storage }, fx) {
      const now = contractTime(100);
      // client-a: an access token [read] at 10 and a refresh token [read, write] at 20 (its access expired).
      await storage.saveTokens(fx.accessToken({ scope: ['read'], issuedAt: contractTime(10) }), null);
      const expiredPair = fx.tokenPair({ scope: ['write', 'read'], issuedAt: contractTime(20), expiresAt: contractTime(30) });
      await storage.saveTokens(expiredPair.access, expiredPair.refresh);
      // client-b: only dead tokens (revoked access, consumed refresh, expired access).
      await storage.saveTokens(fx.accessToken({ clientId: 'client-b', revokedAt: contractTime(5) }), null);
      await storage.saveTokens(fx.accessToken({ clientId: 'client-b', expiresAt: contractTime(99) }), null);
      const consumed = fx.tokenPair({ clientId: 'client-b', revokedAt: contractTime(1) });
      await storage.saveTokens(consumed.access, { ...consumed.refresh, consumedAt: contractTime(2) });
      // client-c: live, but another user's; and a client_credentials token.
      await storage.saveTokens(fx.accessToken({ clientId: 'client-c', userId: 'user-2' }), null);
      await storage.saveTokens(fx.accessToken({ clientId: 'client-c', userId: null }), null);
      // OAuth 1.0a: client-a (no expiry) and client-d (expires later), a revoked and an expired one.
      await storage.saveOAuth1AccessToken(fx.oauth1AccessToken({ scope: ['read'], issuedAt: contractTime(40) }));
      await storage.saveOAuth1AccessToken(
        fx.oauth1AccessToken({ clientId: 'client-d', scope: ['write'], issuedAt: contractTime(5), expiresAt: contractTime(200) }),
      );
      await storage.saveOAuth1AccessToken(fx.oauth1AccessToken({ clientId: 'client-e', revokedAt: contractTime(3) }));
      await storage.saveOAuth1AccessToken(fx.oauth1AccessToken({ clientId: 'client-f', expiresAt: contractTime(50) }));

      t.strictSame(await storage.listGrants('user-1', now), [
        { clientId: 'client-a', userId: 'user-1', scope: ['read'], lastIssuedAt: contractTime(40), protocol: 'oauth1' },
        { clientId: 'client-a', userId: 'user-1', scope: ['read', 'write'], lastIssuedAt: contractTime(20), protocol: 'oauth2' },
        { clientId: 'client-d', userId: 'user-1', scope: ['write'], lastIssuedAt: contractTime(5), protocol: 'oauth1' },
      ]);
      t.strictSame(await storage.listGrants('user-3', now), [], 'a user with no tokens has no grants');
      t.strictSame(
        (await storage.listGrants('user-2', now)).map((grant) => grant.clientId),
        ['client-c'],
      );
    },
  },
];
