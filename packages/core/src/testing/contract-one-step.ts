import type { Test } from 'tap';
import type { CodeExpectation, FreshToken, FreshTokens, OAuthStorage } from '../storage/port.js';
import type { AuthorizationCodeRecord, RefreshTokenRecord } from '../storage/records.js';
import { STORAGE_ERROR, race, type ContractCase } from './contract-case.js';
import { contractTime, type StorageFixtures } from './storage-fixtures.js';

// The optional one-step exchanges (redeemAuthorizationCodeByDigest, rotateRefreshTokenByDigest).
// A store without them passes these cases by skipping them; a store with them must exchange
// exactly what the core's checks would accept, and change nothing otherwise.

type RedeemByDigest = NonNullable<OAuthStorage['redeemAuthorizationCodeByDigest']>;
type RotateByDigest = NonNullable<OAuthStorage['rotateRefreshTokenByDigest']>;

function redeemer(t: Test, storage: OAuthStorage): RedeemByDigest | null {
  if (storage.redeemAuthorizationCodeByDigest === undefined) {
    t.pass('the store has no redeemAuthorizationCodeByDigest (optional)');
    return null;
  }
  return storage.redeemAuthorizationCodeByDigest.bind(storage);
}

function rotator(t: Test, storage: OAuthStorage): RotateByDigest | null {
  if (storage.rotateRefreshTokenByDigest === undefined) {
    t.pass('the store has no rotateRefreshTokenByDigest (optional)');
    return null;
  }
  return storage.rotateRefreshTokenByDigest.bind(storage);
}

/** New tokens as the core mints them before it knows their owner. */
function freshTokens(fx: StorageFixtures, at: Date, withRefresh = true): FreshTokens {
  const pair = fx.tokenPair();
  const part = (token: FreshToken): FreshToken => ({
    id: token.id,
    digest: token.digest,
    issuedAt: at,
    expiresAt: new Date(at.getTime() + 3600_000),
  });
  return { access: part(pair.access), refresh: withRefresh ? part(pair.refresh) : null };
}

/** The expectation a code from the fixtures meets: its client, redirect URI and S256 challenge. */
function expectationOf(code: AuthorizationCodeRecord): CodeExpectation {
  return { clientId: code.clientId, redirectUri: code.redirectUri, codeChallenge: code.codeChallenge };
}

async function assertNothingSaved(t: Test, storage: OAuthStorage, fresh: FreshTokens, message: string): Promise<void> {
  t.equal(await storage.findAccessToken(fresh.access.digest), null, `${message}: no access token`);
  if (fresh.refresh) t.equal(await storage.findRefreshToken(fresh.refresh.digest), null, `${message}: no refresh token`);
}

export const oneStepCases: ContractCase[] = [
  {
    name: 'redeemAuthorizationCodeByDigest: a matching code is consumed and its grant owns the fresh tokens',
    async run(t, { storage }, fx) {
      const redeem = redeemer(t, storage);
      if (redeem === null) return;
      const code = fx.authorizationCode({ scope: ['read', 'write'] });
      await storage.saveAuthorizationCode(code);
      const fresh = freshTokens(fx, contractTime(5));
      const result = await redeem(code.digest, expectationOf(code), contractTime(5), fresh);
      t.equal(result.exchanged, true);
      t.strictSame(result.record, code, 'the code as it was found');
      t.strictSame(await storage.findAuthorizationCode(code.digest), { ...code, consumedAt: contractTime(5) });
      const owner = { clientId: code.clientId, userId: code.userId, scope: ['read', 'write'], familyId: code.familyId };
      t.strictSame(await storage.findAccessToken(fresh.access.digest), { ...fresh.access, ...owner, revokedAt: null });
      t.strictSame(await storage.findRefreshToken(fresh.refresh!.digest), { ...fresh.refresh!, ...owner, consumedAt: null, revokedAt: null });

      const again = freshTokens(fx, contractTime(6));
      const replay = await redeem(code.digest, expectationOf(code), contractTime(6), again);
      t.equal(replay.exchanged, false, 'not twice');
      t.strictSame(replay.record, { ...code, consumedAt: contractTime(5) }, 'the replay sees the first consumption');
      await assertNothingSaved(t, storage, again, 'a replay');
    },
  },
  {
    name: 'redeemAuthorizationCodeByDigest without a refresh token, and for a code without challenge or redirect URI',
    async run(t, { storage }, fx) {
      const redeem = redeemer(t, storage);
      if (redeem === null) return;
      const code = fx.authorizationCode({ redirectUri: null, codeChallenge: null, codeChallengeMethod: null });
      await storage.saveAuthorizationCode(code);
      const fresh = freshTokens(fx, contractTime(5), false);
      const expected = { clientId: code.clientId, redirectUri: null, codeChallenge: null };
      t.equal((await redeem(code.digest, expected, contractTime(5), fresh)).exchanged, true);
      t.equal((await storage.findAccessToken(fresh.access.digest))?.familyId, code.familyId);
      t.equal((await storage.listAccessTokens({})).length, 1);
    },
  },
  {
    name: 'redeemAuthorizationCodeByDigest changes nothing for a code that does not match, is expired, or is unknown',
    async run(t, { storage }, fx) {
      const redeem = redeemer(t, storage);
      if (redeem === null) return;
      const code = fx.authorizationCode();
      const plain = fx.authorizationCode({ codeChallenge: 'a'.repeat(43), codeChallengeMethod: 'plain' });
      for (const saved of [code, plain]) await storage.saveAuthorizationCode(saved);
      const expected = expectationOf(code);
      const mismatches: [string, AuthorizationCodeRecord, CodeExpectation, Date][] = [
        ['another client', code, { ...expected, clientId: 'client-b' }, contractTime(5)],
        ['another redirect URI', code, { ...expected, redirectUri: 'https://client.example/other' }, contractTime(5)],
        ['no redirect URI', code, { ...expected, redirectUri: null }, contractTime(5)],
        ['another challenge', code, { ...expected, codeChallenge: 'x'.repeat(43) }, contractTime(5)],
        ['no verifier for a challenged code', code, { ...expected, codeChallenge: null }, contractTime(5)],
        ['expired', code, expected, contractTime(60)],
        ['a plain challenge, even if equal', plain, expectationOf(plain), contractTime(5)],
      ];
      for (const [why, target, expectation, at] of mismatches) {
        const fresh = freshTokens(fx, at);
        const result = await redeem(target.digest, expectation, at, fresh);
        t.equal(result.exchanged, false, why);
        t.strictSame(result.record, target, `${why}: the code as found`);
        await assertNothingSaved(t, storage, fresh, why);
      }
      t.strictSame(await storage.findAuthorizationCode(code.digest), code, 'still unconsumed');
      t.strictSame(await storage.findAuthorizationCode(plain.digest), plain);
      const unknown = await redeem('no-such-digest', expected, contractTime(5), freshTokens(fx, contractTime(5)));
      t.strictSame(unknown, { exchanged: false, record: null });
    },
  },
  {
    name: 'redeemAuthorizationCodeByDigest rolls back when a fresh token collides',
    async run(t, { storage }, fx) {
      const redeem = redeemer(t, storage);
      if (redeem === null) return;
      const code = fx.authorizationCode();
      const other = fx.tokenPair();
      await storage.saveAuthorizationCode(code);
      await storage.saveTokens(other.access, other.refresh);
      const fresh = freshTokens(fx, contractTime(5));
      const clash = { ...fresh, refresh: { ...fresh.refresh!, digest: other.refresh.digest } };
      await t.rejects(redeem(code.digest, expectationOf(code), contractTime(5), clash), STORAGE_ERROR);
      t.strictSame(await storage.findAuthorizationCode(code.digest), code, 'still unconsumed');
      t.equal(await storage.findAccessToken(fresh.access.digest), null, 'no access token');
      t.equal((await redeem(code.digest, expectationOf(code), contractTime(6), fresh)).exchanged, true, 'and it can still be redeemed');
    },
  },
  {
    name: 'rotateRefreshTokenByDigest: a live token of the client is consumed and its grant owns the fresh tokens',
    async run(t, { storage }, fx) {
      const rotate = rotator(t, storage);
      if (rotate === null) return;
      const old = fx.tokenPair({ scope: ['read', 'write'], userId: null });
      await storage.saveTokens(old.access, old.refresh);
      const fresh = freshTokens(fx, contractTime(5));
      const result = await rotate(old.refresh.digest, old.refresh.clientId, contractTime(5), fresh);
      t.equal(result.exchanged, true);
      t.strictSame(result.record, old.refresh, 'the token as it was found');
      t.strictSame(await storage.findRefreshToken(old.refresh.digest), { ...old.refresh, consumedAt: contractTime(5) });
      const owner = { clientId: old.refresh.clientId, userId: null, scope: ['read', 'write'], familyId: old.refresh.familyId };
      t.strictSame(await storage.findAccessToken(fresh.access.digest), { ...fresh.access, ...owner, revokedAt: null });
      t.strictSame(await storage.findRefreshToken(fresh.refresh!.digest), { ...fresh.refresh!, ...owner, consumedAt: null, revokedAt: null });

      const again = freshTokens(fx, contractTime(6));
      const replay = await rotate(old.refresh.digest, old.refresh.clientId, contractTime(6), again);
      t.equal(replay.exchanged, false, 'not twice');
      t.strictSame(replay.record, { ...old.refresh, consumedAt: contractTime(5) });
      await assertNothingSaved(t, storage, again, 'a replay');
    },
  },
  {
    name: 'rotateRefreshTokenByDigest changes nothing for another client, a revoked, expired or unknown token',
    async run(t, { storage }, fx) {
      const rotate = rotator(t, storage);
      if (rotate === null) return;
      const live = fx.tokenPair();
      const revoked = fx.tokenPair({}, { revokedAt: contractTime(1) });
      for (const pair of [live, revoked]) await storage.saveTokens(pair.access, pair.refresh);
      const cases: [string, RefreshTokenRecord, string, Date][] = [
        ['another client', live.refresh, 'client-b', contractTime(5)],
        ['expired', live.refresh, live.refresh.clientId, live.refresh.expiresAt],
        ['revoked', revoked.refresh, revoked.refresh.clientId, contractTime(5)],
      ];
      for (const [why, token, clientId, at] of cases) {
        const fresh = freshTokens(fx, at);
        const result = await rotate(token.digest, clientId, at, fresh);
        t.equal(result.exchanged, false, why);
        t.strictSame(result.record, token, `${why}: the token as found`);
        await assertNothingSaved(t, storage, fresh, why);
      }
      t.strictSame(await storage.findRefreshToken(live.refresh.digest), live.refresh, 'still unconsumed');
      const unknown = await rotate('no-such-digest', 'client-a', contractTime(5), freshTokens(fx, contractTime(5)));
      t.strictSame(unknown, { exchanged: false, record: null });
    },
  },
  {
    name: 'rotateRefreshTokenByDigest rolls back when a fresh token collides',
    async run(t, { storage }, fx) {
      const rotate = rotator(t, storage);
      if (rotate === null) return;
      const old = fx.tokenPair();
      const other = fx.tokenPair();
      for (const pair of [old, other]) await storage.saveTokens(pair.access, pair.refresh);
      const fresh = freshTokens(fx, contractTime(5));
      const clash = { ...fresh, access: { ...fresh.access, digest: other.access.digest } };
      await t.rejects(rotate(old.refresh.digest, old.refresh.clientId, contractTime(5), clash), STORAGE_ERROR);
      t.strictSame(await storage.findRefreshToken(old.refresh.digest), old.refresh, 'still unconsumed');
      t.equal(await storage.findRefreshToken(fresh.refresh!.digest), null, 'no refresh token');
      t.equal((await rotate(old.refresh.digest, old.refresh.clientId, contractTime(6), fresh)).exchanged, true, 'and it can still rotate');
    },
  },
  {
    name: 'twenty concurrent one-step exchanges of one code and of one refresh token: exactly one each',
    async run(t, { storage }, fx) {
      const redeem = redeemer(t, storage);
      const rotate = rotator(t, storage);
      if (redeem !== null) {
        const code = fx.authorizationCode();
        await storage.saveAuthorizationCode(code);
        const candidates = Array.from({ length: 20 }, (_, i) => freshTokens(fx, contractTime(10 + i)));
        const results = await race(20, (i) => redeem(code.digest, expectationOf(code), contractTime(10 + i), candidates[i]!));
        t.equal(results.filter((result) => result.exchanged).length, 1, 'one code redemption');
        t.equal((await storage.listAccessTokens({})).length, 1, 'one access token saved');
      }
      if (rotate !== null) {
        const old = fx.tokenPair({ clientId: 'client-r' });
        await storage.saveTokens(old.access, old.refresh);
        const candidates = Array.from({ length: 20 }, (_, i) => freshTokens(fx, contractTime(10 + i)));
        const results = await race(20, (i) => rotate(old.refresh.digest, 'client-r', contractTime(10 + i), candidates[i]!));
        t.equal(results.filter((result) => result.exchanged).length, 1, 'one rotation');
        t.equal((await storage.listAccessTokens({ clientId: 'client-r' })).length, 2, 'the old access token and one new one');
      }
    },
  },
];
