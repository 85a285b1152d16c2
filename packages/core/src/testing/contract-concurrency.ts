import type { ContractCase } from './contract-case.js';
import { race } from './contract-case.js';
import { contractTime } from './storage-fixtures.js';

const countOf = <T>(values: T[], wanted: T): number => values.filter((value) => value === wanted).length;

/**
 * Single use under contention. On a database behind a pool these are real races between
 * connections; a store that reads and then writes fails them.
 */
export const concurrencyCases: ContractCase[] = [
  {
    name: 'fifty concurrent consumeAuthorizationCode of one code: exactly one consumed',
    async run(t, { storage }, fx) {
      const code = fx.authorizationCode();
      await storage.saveAuthorizationCode(code);
      const results = await race(50, (i) => storage.consumeAuthorizationCode(code.digest, contractTime(10 + i)));
      const statuses = results.map((result) => result.status);
      t.equal(countOf(statuses, 'consumed'), 1, 'one winner');
      t.equal(countOf(statuses, 'reused'), 49, 'every other caller sees a replay');
      const winner = results.findIndex((result) => result.status === 'consumed');
      const consumedAt = contractTime(10 + winner).getTime();
      t.ok(
        results.every((result) => result.status !== 'missing' && result.record.consumedAt?.getTime() === consumedAt),
        "every result carries the winner's consumption time",
      );
      const stored = await storage.listAuthorizationCodes({});
      t.equal(stored[0]?.consumedAt?.getTime(), consumedAt, 'and so does the store');
    },
  },
  {
    name: 'fifty concurrent redeemAuthorizationCode of one code: exactly one true, one pair saved',
    async run(t, { storage }, fx) {
      const code = fx.authorizationCode();
      await storage.saveAuthorizationCode(code);
      const candidates = Array.from({ length: 50 }, () => fx.tokenPair({ familyId: code.familyId }));
      const results = await race(50, (i) =>
        storage.redeemAuthorizationCode(code.id, contractTime(10 + i), candidates[i]!.access, candidates[i]!.refresh),
      );
      t.equal(countOf(results, true), 1, 'one winner');
      t.equal(countOf(results, false), 49, 'forty-nine losers');
      const winner = results.indexOf(true);
      const savedAccess = await Promise.all(candidates.map(({ access }) => storage.findAccessToken(access.digest)));
      const savedRefresh = await Promise.all(candidates.map(({ refresh }) => storage.findRefreshToken(refresh.digest)));
      t.equal(savedAccess.filter((token) => token !== null).length, 1, 'exactly one access token');
      t.equal(savedRefresh.filter((token) => token !== null).length, 1, 'exactly one refresh token');
      t.strictSame(savedAccess[winner], candidates[winner]!.access, "and it is the winner's");
      t.strictSame(savedRefresh[winner], candidates[winner]!.refresh);
      t.equal(
        (await storage.findAuthorizationCode(code.digest))?.consumedAt?.getTime(),
        contractTime(10 + winner).getTime(),
        "the code carries the winner's consumption time",
      );
    },
  },
  {
    name: 'twenty concurrent rotateRefreshToken of one token: exactly one true, one new pair saved',
    async run(t, { storage }, fx) {
      const old = fx.tokenPair();
      await storage.saveTokens(old.access, old.refresh);
      const candidates = Array.from({ length: 20 }, () => fx.tokenPair({ familyId: old.access.familyId }));
      const results = await race(20, (i) =>
        storage.rotateRefreshToken(old.refresh.id, contractTime(10 + i), candidates[i]!.access, candidates[i]!.refresh),
      );
      t.equal(countOf(results, true), 1, 'one winner');
      t.equal(countOf(results, false), 19, 'nineteen losers');
      const winner = results.indexOf(true);

      const savedAccess = await Promise.all(candidates.map(({ access }) => storage.findAccessToken(access.digest)));
      const savedRefresh = await Promise.all(candidates.map(({ refresh }) => storage.findRefreshToken(refresh.digest)));
      t.equal(savedAccess.filter((token) => token !== null).length, 1, 'exactly one new access token');
      t.equal(savedRefresh.filter((token) => token !== null).length, 1, 'exactly one new refresh token');
      t.strictSame(savedAccess[winner], candidates[winner]!.access, "and it is the winner's");
      t.strictSame(savedRefresh[winner], candidates[winner]!.refresh);
      t.equal(
        (await storage.findRefreshToken(old.refresh.digest))?.consumedAt?.getTime(),
        contractTime(10 + winner).getTime(),
      );
      t.equal((await storage.listAccessTokens({})).length, 2, 'the old access token and the new one');
    },
  },
  {
    name: 'fifty concurrent recordNonce of one nonce: exactly one true',
    async run(t, { storage }, fx) {
      const nonce = fx.nonce({ token: 'pco_concurrent' });
      const results = await race(50, () => storage.recordNonce({ ...nonce }));
      t.equal(countOf(results, true), 1);
      t.equal(countOf(results, false), 49);
      t.equal(await storage.recordNonce(nonce), false, 'still remembered');
    },
  },
  {
    name: 'fifty concurrent consumeRequestToken and twenty authorizeRequestToken: one winner each',
    async run(t, { storage }, fx) {
      const token = fx.requestToken();
      await storage.saveRequestToken(token);
      const approvals = await race(20, (i) =>
        storage.authorizeRequestToken(token.token, `user-${i}`, fx.verifierDigest(), ['read']),
      );
      t.equal(countOf(approvals, true), 1, 'one approval');
      const approvedBy = `user-${approvals.indexOf(true)}`;
      t.equal((await storage.findRequestToken(token.token))?.userId, approvedBy, "the winner's user is stored");

      const results = await race(50, (i) => storage.consumeRequestToken(token.token, contractTime(10 + i)));
      const statuses = results.map((result) => result.status);
      t.equal(countOf(statuses, 'consumed'), 1);
      t.equal(countOf(statuses, 'reused'), 49);
    },
  },
];
