import type { Test } from 'tap';
import type { CodeExpectation, FreshTokens, OAuthStorage } from '../storage/port.js';
import type { AuthorizationCodeRecord, RefreshTokenRecord } from '../storage/records.js';
import { STORAGE_ERROR, race, type ContractCase } from './contract-case.js';
import { contractTime } from './storage-fixtures.js';

// The optional one-step methods: the exchanges (redeemAuthorizationCodeByDigest,
// rotateRefreshTokenByDigest) and a signed request's token lookup with its nonce record
// (findOAuth1AccessTokenRecordingNonce, forgetNonce). A store without them passes these cases by
// skipping them; a store with them must exchange or record exactly what the core's checks would
// accept, and change nothing otherwise.

type RedeemByDigest = NonNullable<OAuthStorage['redeemAuthorizationCodeByDigest']>;
type RotateByDigest = NonNullable<OAuthStorage['rotateRefreshTokenByDigest']>;
type NonceRecording = {
  find: NonNullable<OAuthStorage['findOAuth1AccessTokenRecordingNonce']>;
  forget: NonNullable<OAuthStorage['forgetNonce']>;
};

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

function nonceRecording(t: Test, storage: OAuthStorage): NonceRecording | null {
  if (storage.findOAuth1AccessTokenRecordingNonce === undefined || storage.forgetNonce === undefined) {
    t.pass('the store has no findOAuth1AccessTokenRecordingNonce (optional)');
    return null;
  }
  return { find: storage.findOAuth1AccessTokenRecordingNonce.bind(storage), forget: storage.forgetNonce.bind(storage) };
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
      const fresh = fx.freshTokens(contractTime(5));
      const result = await redeem(code.digest, expectationOf(code), contractTime(5), fresh);
      t.equal(result.exchanged, true);
      t.strictSame(result.record, code, 'the code as it was found');
      t.strictSame(await storage.findAuthorizationCode(code.digest), { ...code, consumedAt: contractTime(5) });
      const owner = { clientId: code.clientId, userId: code.userId, scope: ['read', 'write'], familyId: code.familyId };
      t.strictSame(await storage.findAccessToken(fresh.access.digest), { ...fresh.access, ...owner, revokedAt: null });
      t.strictSame(await storage.findRefreshToken(fresh.refresh!.digest), { ...fresh.refresh!, ...owner, consumedAt: null, revokedAt: null });

      const again = fx.freshTokens(contractTime(6));
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
      const fresh = fx.freshTokens(contractTime(5), false);
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
        const fresh = fx.freshTokens(at);
        const result = await redeem(target.digest, expectation, at, fresh);
        t.equal(result.exchanged, false, why);
        t.strictSame(result.record, target, `${why}: the code as found`);
        await assertNothingSaved(t, storage, fresh, why);
      }
      t.strictSame(await storage.findAuthorizationCode(code.digest), code, 'still unconsumed');
      t.strictSame(await storage.findAuthorizationCode(plain.digest), plain);
      const unknown = await redeem('no-such-digest', expected, contractTime(5), fx.freshTokens(contractTime(5)));
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
      const fresh = fx.freshTokens(contractTime(5));
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
      const fresh = fx.freshTokens(contractTime(5));
      const result = await rotate(old.refresh.digest, old.refresh.clientId, contractTime(5), fresh);
      t.equal(result.exchanged, true);
      t.strictSame(result.record, old.refresh, 'the token as it was found');
      t.strictSame(await storage.findRefreshToken(old.refresh.digest), { ...old.refresh, consumedAt: contractTime(5) });
      const owner = { clientId: old.refresh.clientId, userId: null, scope: ['read', 'write'], familyId: old.refresh.familyId };
      t.strictSame(await storage.findAccessToken(fresh.access.digest), { ...fresh.access, ...owner, revokedAt: null });
      t.strictSame(await storage.findRefreshToken(fresh.refresh!.digest), { ...fresh.refresh!, ...owner, consumedAt: null, revokedAt: null });

      const again = fx.freshTokens(contractTime(6));
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
        const fresh = fx.freshTokens(at);
        const result = await rotate(token.digest, clientId, at, fresh);
        t.equal(result.exchanged, false, why);
        t.strictSame(result.record, token, `${why}: the token as found`);
        await assertNothingSaved(t, storage, fresh, why);
      }
      t.strictSame(await storage.findRefreshToken(live.refresh.digest), live.refresh, 'still unconsumed');
      const unknown = await rotate('no-such-digest', 'client-a', contractTime(5), fx.freshTokens(contractTime(5)));
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
      const fresh = fx.freshTokens(contractTime(5));
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
        const candidates = Array.from({ length: 20 }, (_, i) => fx.freshTokens(contractTime(10 + i)));
        const results = await race(20, (i) => redeem(code.digest, expectationOf(code), contractTime(10 + i), candidates[i]!));
        t.equal(results.filter((result) => result.exchanged).length, 1, 'one code redemption');
        t.equal((await storage.listAccessTokens({})).length, 1, 'one access token saved');
      }
      if (rotate !== null) {
        const old = fx.tokenPair({ clientId: 'client-r' });
        await storage.saveTokens(old.access, old.refresh);
        const candidates = Array.from({ length: 20 }, (_, i) => fx.freshTokens(contractTime(10 + i)));
        const results = await race(20, (i) => rotate(old.refresh.digest, 'client-r', contractTime(10 + i), candidates[i]!));
        t.equal(results.filter((result) => result.exchanged).length, 1, 'one rotation');
        t.equal((await storage.listAccessTokens({ clientId: 'client-r' })).length, 2, 'the old access token and one new one');
      }
    },
  },
  {
    name: 'one-step exchanges asked for at once each get the answer they would get alone',
    async run(t, { storage }, fx) {
      const redeem = redeemer(t, storage);
      const rotate = rotator(t, storage);
      if (redeem === null || rotate === null) return;
      // Codes: two that match (one without a refresh token), mismatches, an unknown digest, and
      // one redeemed twice, all in the same turn.
      const codes = Array.from({ length: 7 }, () => fx.authorizationCode());
      codes.push(fx.authorizationCode({ codeChallenge: 'a'.repeat(43), codeChallengeMethod: 'plain' }));
      for (const code of codes) await storage.saveAuthorizationCode(code);
      const at = contractTime(5);
      const fresh = Array.from({ length: 9 }, (_, i) => fx.freshTokens(at, i !== 1));
      const redemptions = await Promise.all([
        redeem(codes[0]!.digest, expectationOf(codes[0]!), at, fresh[0]!),
        redeem(codes[1]!.digest, expectationOf(codes[1]!), at, fresh[1]!),
        redeem(codes[2]!.digest, { ...expectationOf(codes[2]!), clientId: 'client-b' }, at, fresh[2]!),
        redeem(codes[3]!.digest, { ...expectationOf(codes[3]!), codeChallenge: null }, at, fresh[3]!),
        redeem('no-such-digest', expectationOf(codes[0]!), at, fresh[4]!),
        redeem(codes[4]!.digest, expectationOf(codes[4]!), at, fresh[5]!),
        redeem(codes[4]!.digest, expectationOf(codes[4]!), at, fresh[6]!),
        redeem(codes[5]!.digest, { ...expectationOf(codes[5]!), redirectUri: 'https://client.example/other' }, at, fresh[7]!),
        redeem(codes[7]!.digest, expectationOf(codes[7]!), at, fresh[8]!),
      ]);
      // The two redemptions of one code race: exactly one wins, whichever, and the other sees it consumed.
      const [won, lost] = redemptions[5]!.exchanged ? [5, 6] : [6, 5];
      t.strictSame(
        redemptions.map((result) => [result.exchanged, result.record !== null]),
        [[true, true], [true, true], [false, true], [false, true], [false, false], ...(won === 5 ? [[true, true], [false, true]] : [[false, true], [true, true]]), [false, true], [false, true]],
        'codes: each its own answer',
      );
      t.strictSame(redemptions[0]!.record, codes[0], 'the code as it was found');
      t.strictSame(redemptions[lost]!.record, { ...codes[4], consumedAt: at }, 'the losing redemption of a code sees the winner\'s');
      for (const [index, consumed] of [[0, true], [1, true], [2, false], [3, false], [4, true], [5, false], [7, false]] as const) {
        t.strictSame((await storage.findAuthorizationCode(codes[index]!.digest))?.consumedAt ?? null, consumed ? at : null, `code ${index}`);
      }
      for (const [index, saved] of [[0, true], [1, true], [2, false], [3, false], [4, false], [won, true], [lost, false], [7, false], [8, false]] as const) {
        t.equal((await storage.findAccessToken(fresh[index]!.access.digest)) !== null, saved, `fresh access token ${index}`);
      }
      t.equal((await storage.findRefreshToken(fresh[0]!.refresh!.digest))?.familyId, codes[0]!.familyId, 'the grant owns the fresh tokens');

      // A fresh token that collides fails its own exchange only.
      const other = fx.tokenPair();
      await storage.saveTokens(other.access, other.refresh);
      const late = fx.freshTokens(at);
      const clash = { ...fx.freshTokens(at), refresh: { ...late.refresh!, digest: other.refresh.digest } };
      const settled = await Promise.allSettled([
        redeem(codes[6]!.digest, expectationOf(codes[6]!), at, clash),
        redeem(codes[5]!.digest, expectationOf(codes[5]!), at, late),
      ]);
      t.equal(settled[0]!.status, 'rejected');
      t.match((settled[0] as PromiseRejectedResult).reason, STORAGE_ERROR);
      t.equal(settled[1]!.status === 'fulfilled' && settled[1].value.exchanged, true, 'the other exchange of the turn stands');
      t.equal(await storage.findAccessToken(clash.access.digest), null, 'nothing of the colliding one saved');
      t.equal((await storage.findAuthorizationCode(codes[6]!.digest))?.consumedAt, null, 'its code unconsumed');

      // Refresh tokens: a live one, another client's, a revoked and an expired one, an unknown
      // digest, one rotated twice.
      const pairs = [fx.tokenPair(), fx.tokenPair(), fx.tokenPair({}, { revokedAt: contractTime(1) }), fx.tokenPair({}, { expiresAt: contractTime(4) }), fx.tokenPair()];
      for (const pair of pairs) await storage.saveTokens(pair.access, pair.refresh);
      const next = Array.from({ length: 6 }, () => fx.freshTokens(at));
      const rotations = await Promise.all([
        rotate(pairs[0]!.refresh.digest, pairs[0]!.refresh.clientId, at, next[0]!),
        rotate(pairs[1]!.refresh.digest, 'client-b', at, next[1]!),
        rotate(pairs[2]!.refresh.digest, pairs[2]!.refresh.clientId, at, next[2]!),
        rotate(pairs[3]!.refresh.digest, pairs[3]!.refresh.clientId, at, next[3]!),
        rotate('no-such-digest', 'client-a', at, next[4]!),
        rotate(pairs[4]!.refresh.digest, pairs[4]!.refresh.clientId, at, next[5]!),
        rotate(pairs[4]!.refresh.digest, pairs[4]!.refresh.clientId, at, fx.freshTokens(at)),
      ]);
      t.strictSame(
        rotations.slice(0, 5).map((result) => result.exchanged),
        [true, false, false, false, false],
        'refresh tokens: each its own answer',
      );
      t.strictSame(rotations.slice(0, 4).map((result) => result.record), pairs.slice(0, 4).map((pair) => pair.refresh), 'each token as it was found');
      t.equal(rotations[4]!.record, null);
      t.equal(Number(rotations[5]!.exchanged) + Number(rotations[6]!.exchanged), 1, 'a token rotated twice at once: exactly once');
      const losing = rotations[5]!.exchanged ? rotations[6]! : rotations[5]!;
      t.strictSame(losing.record, { ...pairs[4]!.refresh, consumedAt: at }, 'the losing rotation sees the winner\'s');
      for (const [index, saved] of [[0, true], [1, false], [2, false], [3, false], [4, false], [5, rotations[5]!.exchanged]] as const) {
        t.equal((await storage.findRefreshToken(next[index]!.refresh!.digest)) !== null, saved, `fresh refresh token ${index}`);
      }
      t.strictSame(await storage.findRefreshToken(pairs[1]!.refresh.digest), pairs[1]!.refresh, "another client's token unchanged");
    },
  },
  {
    name: 'findOAuth1AccessTokenRecordingNonce: the token as stored, its nonce recorded once, as recordNonce keys it',
    async run(t, { storage }, fx) {
      const recording = nonceRecording(t, storage);
      if (recording === null) return;
      const live = fx.oauth1AccessToken();
      // The store reports revocation and expiry as stored; judging them is the core's part.
      const revoked = fx.oauth1AccessToken({ revokedAt: contractTime(1), expiresAt: contractTime(2) });
      await storage.saveOAuth1AccessToken(live);
      await storage.saveOAuth1AccessToken(revoked);

      const nonce = fx.nonce({ token: live.token });
      t.strictSame(await recording.find(nonce), { record: live, nonceRecorded: true });
      t.strictSame(await recording.find({ ...nonce }), { record: live, nonceRecorded: false }, 'the same nonce again');
      t.equal(await storage.recordNonce({ ...nonce }), false, 'recordNonce sees it');
      t.strictSame(
        await recording.find({ ...nonce, timestamp: nonce.timestamp + 1 }),
        { record: live, nonceRecorded: true },
        'another timestamp is another nonce',
      );
      const earlier = fx.nonce({ token: live.token });
      t.equal(await storage.recordNonce(earlier), true);
      t.strictSame(await recording.find(earlier), { record: live, nonceRecorded: false }, 'one recordNonce made');
      t.strictSame(await recording.find(fx.nonce({ token: revoked.token })), { record: revoked, nonceRecorded: true });
    },
  },
  {
    name: "findOAuth1AccessTokenRecordingNonce records nothing for an unknown token or another client's",
    async run(t, { storage }, fx) {
      const recording = nonceRecording(t, storage);
      if (recording === null) return;
      const theirs = fx.oauth1AccessToken({ clientId: 'client-b' });
      await storage.saveOAuth1AccessToken(theirs);

      const unknown = fx.nonce({ token: 'pco_unknown' });
      t.strictSame(await recording.find(unknown), { record: null, nonceRecorded: false });
      t.equal(await storage.recordNonce(unknown), true, 'the nonce was not recorded');
      const foreign = fx.nonce({ token: theirs.token });
      t.strictSame(await recording.find(foreign), { record: theirs, nonceRecorded: false }, 'the token as stored, for the core to refuse');
      t.equal(await storage.recordNonce(foreign), true, 'the nonce was not recorded');
    },
  },
  {
    name: 'forgetNonce removes the nonce it is given, and only that one',
    async run(t, { storage }, fx) {
      const recording = nonceRecording(t, storage);
      if (recording === null) return;
      const token = fx.oauth1AccessToken();
      await storage.saveOAuth1AccessToken(token);
      const forgotten = fx.nonce({ token: token.token });
      const kept = fx.nonce({ token: token.token });
      t.equal((await recording.find(forgotten)).nonceRecorded, true);
      t.equal((await recording.find(kept)).nonceRecorded, true);

      await recording.forget({ ...forgotten, expiresAt: contractTime(999) });
      t.equal((await recording.find(forgotten)).nonceRecorded, true, 'usable again');
      t.equal(await storage.recordNonce(kept), false, 'the other nonce stays');
      await recording.forget(fx.nonce({ token: 'pco_unknown' }));
      t.pass('forgetting a nonce never recorded is no error');
      t.strictSame(await storage.findOAuth1AccessToken(token.token), token, 'the token untouched');
    },
  },
  {
    name: 'twenty concurrent findOAuth1AccessTokenRecordingNonce calls with one nonce: exactly one records it',
    async run(t, { storage }, fx) {
      const recording = nonceRecording(t, storage);
      if (recording === null) return;
      const token = fx.oauth1AccessToken();
      await storage.saveOAuth1AccessToken(token);
      const nonce = fx.nonce({ token: token.token });
      const results = await race(20, () => recording.find({ ...nonce }));
      t.equal(results.filter((result) => result.nonceRecorded).length, 1);
      t.ok(results.every((result) => result.record?.id === token.id), 'every call found the token');
    },
  },
];
