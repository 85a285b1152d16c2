import type { ContractCase } from './contract-case.js';
import { race } from './contract-case.js';
import { contractTime } from './storage-fixtures.js';

export const deviceCodeCases: ContractCase[] = [
  {
    name: 'saveDeviceCode: found by device code digest and by user code digest; a taken digest or user code is refused',
    async run(t, { storage }, fx) {
      const code = fx.deviceCode();
      t.equal(await storage.saveDeviceCode(code), true);
      t.strictSame(await storage.findDeviceCode(code.digest), code);
      t.strictSame(await storage.findDeviceCodeByUserCode(code.userCodeDigest), code);
      t.equal(await storage.findDeviceCode(fx.deviceCode().digest), null);
      t.equal(await storage.findDeviceCodeByUserCode(fx.deviceCode().userCodeDigest), null);

      const sameUserCode = fx.deviceCode({ userCodeDigest: code.userCodeDigest });
      t.equal(await storage.saveDeviceCode(sameUserCode), false, 'a user code in use is refused');
      t.equal(await storage.findDeviceCode(sameUserCode.digest), null, 'and nothing is saved');
      const sameDigest = fx.deviceCode({ digest: code.digest });
      t.equal(await storage.saveDeviceCode(sameDigest), false, 'a device code digest in use is refused');
      t.strictSame(await storage.findDeviceCodeByUserCode(code.userCodeDigest), code, 'the first is untouched');
    },
  },
  {
    name: 'decideDeviceCode: decided once, with the user and the scope; later decisions change nothing',
    async run(t, { storage }, fx) {
      const code = fx.deviceCode({ scope: ['read', 'write'] });
      await storage.saveDeviceCode(code);
      t.equal(await storage.decideDeviceCode(code.id, { status: 'approved', userId: 'user-1', scope: ['read'] }), true);
      const approved = { ...code, status: 'approved', userId: 'user-1', scope: ['read'] };
      t.strictSame(await storage.findDeviceCode(code.digest), approved);
      t.equal(await storage.decideDeviceCode(code.id, { status: 'denied', userId: 'user-2', scope: [] }), false, 'not twice');
      t.strictSame(await storage.findDeviceCode(code.digest), approved, 'the first decision stays');
      t.equal(await storage.decideDeviceCode('no-such-id', { status: 'approved', userId: 'user-1', scope: ['read'] }), false);

      const denied = fx.deviceCode();
      await storage.saveDeviceCode(denied);
      t.equal(await storage.decideDeviceCode(denied.id, { status: 'denied', userId: 'user-2', scope: ['read'] }), true);
      t.strictSame(await storage.findDeviceCodeByUserCode(denied.userCodeDigest), { ...denied, status: 'denied', userId: 'user-2' });
    },
  },
  {
    name: 'decideDeviceCode under concurrency: exactly one of many decisions wins',
    async run(t, { storage }, fx) {
      const code = fx.deviceCode();
      await storage.saveDeviceCode(code);
      const results = await race(6, (i) =>
        storage.decideDeviceCode(code.id, { status: i % 2 === 0 ? 'approved' : 'denied', userId: `user-${i}`, scope: ['read'] }),
      );
      t.equal(results.filter(Boolean).length, 1, 'one winner');
      const winner = results.indexOf(true);
      t.match(await storage.findDeviceCode(code.digest), { userId: `user-${winner}`, status: winner % 2 === 0 ? 'approved' : 'denied' });
    },
  },
  {
    name: 'recordDeviceCodePoll: a compare-and-set on the last poll time, which also sets the interval',
    async run(t, { storage }, fx) {
      const code = fx.deviceCode();
      await storage.saveDeviceCode(code);
      t.equal(await storage.recordDeviceCodePoll(code.id, null, contractTime(1), 5), true, 'the first poll');
      t.strictSame(await storage.findDeviceCode(code.digest), { ...code, lastPolledAt: contractTime(1) });
      t.equal(await storage.recordDeviceCodePoll(code.id, null, contractTime(2), 10), false, 'a stale expectation loses');
      t.equal(await storage.recordDeviceCodePoll(code.id, contractTime(1), contractTime(3), 10), true);
      t.strictSame(await storage.findDeviceCode(code.digest), { ...code, lastPolledAt: contractTime(3), interval: 10 });
      t.equal(await storage.recordDeviceCodePoll('no-such-id', null, contractTime(4), 5), false);

      const results = await race(6, (i) => storage.recordDeviceCodePoll(code.id, contractTime(3), contractTime(10 + i), 15));
      t.equal(results.filter(Boolean).length, 1, 'of concurrent polls expecting the same last poll, one is recorded');
      const winner = results.indexOf(true);
      t.match(await storage.findDeviceCode(code.digest), { lastPolledAt: contractTime(10 + winner), interval: 15 });
    },
  },
  {
    name: 'redeemDeviceCode: an approved code buys its tokens once; a pending or denied one none',
    async run(t, { storage }, fx) {
      const code = fx.deviceCode();
      await storage.saveDeviceCode(code);
      const early = fx.tokenPair({ familyId: code.familyId });
      t.equal(await storage.redeemDeviceCode(code.id, contractTime(5), early.access, early.refresh), false, 'pending: no tokens');
      t.equal(await storage.findAccessToken(early.access.digest), null);

      await storage.decideDeviceCode(code.id, { status: 'approved', userId: 'user-1', scope: ['read'] });
      const bought = fx.tokenPair({ familyId: code.familyId });
      t.equal(await storage.redeemDeviceCode(code.id, contractTime(6), bought.access, bought.refresh), true);
      t.strictSame(await storage.findDeviceCode(code.digest), { ...code, status: 'approved', userId: 'user-1', consumedAt: contractTime(6) });
      t.strictSame(await storage.findAccessToken(bought.access.digest), bought.access);
      t.strictSame(await storage.findRefreshToken(bought.refresh.digest), bought.refresh);

      const again = fx.tokenPair({ familyId: code.familyId });
      t.equal(await storage.redeemDeviceCode(code.id, contractTime(7), again.access, null), false, 'not twice');
      t.equal(await storage.findAccessToken(again.access.digest), null, 'and the loser saved nothing');

      const denied = fx.deviceCode();
      await storage.saveDeviceCode(denied);
      await storage.decideDeviceCode(denied.id, { status: 'denied', userId: 'user-1', scope: ['read'] });
      const refused = fx.accessToken();
      t.equal(await storage.redeemDeviceCode(denied.id, contractTime(8), refused, null), false, 'denied: no tokens');
      t.equal(await storage.findAccessToken(refused.digest), null);
    },
  },
  {
    name: 'redeemDeviceCode under concurrency: exactly one poll gets the tokens',
    async run(t, { storage }, fx) {
      const code = fx.deviceCode();
      await storage.saveDeviceCode(code);
      await storage.decideDeviceCode(code.id, { status: 'approved', userId: 'user-1', scope: ['read'] });
      const pairs = Array.from({ length: 6 }, () => fx.tokenPair({ familyId: code.familyId }));
      const results = await race(pairs.length, (i) => storage.redeemDeviceCode(code.id, contractTime(9), pairs[i]!.access, pairs[i]!.refresh));
      t.equal(results.filter(Boolean).length, 1, 'one winner');
      const saved = await Promise.all(pairs.map((pair) => storage.findAccessToken(pair.access.digest)));
      t.equal(saved.filter((token) => token !== null).length, 1, 'only the winner saved its tokens');
    },
  },
  {
    name: "revokeGrant spends the user's approved device codes not yet redeemed, and no other",
    async run(t, { storage }, fx) {
      const approved = fx.deviceCode();
      const pending = fx.deviceCode();
      const otherUser = fx.deviceCode();
      for (const code of [approved, pending, otherUser]) await storage.saveDeviceCode(code);
      await storage.decideDeviceCode(approved.id, { status: 'approved', userId: 'user-1', scope: ['read'] });
      await storage.decideDeviceCode(otherUser.id, { status: 'approved', userId: 'user-2', scope: ['read'] });
      const now = contractTime(50);
      t.equal(await storage.revokeGrant({ clientId: 'client-a', userId: 'user-1' }, now), 1);
      t.equal((await storage.findDeviceCode(approved.digest))?.consumedAt?.getTime(), now.getTime(), 'the approved code is spent');
      const tokens = fx.tokenPair();
      t.equal(await storage.redeemDeviceCode(approved.id, contractTime(51), tokens.access, tokens.refresh), false, 'and buys nothing');
      t.strictSame(await storage.findDeviceCode(pending.digest), pending, "a pending code is nobody's yet");
      t.equal((await storage.findDeviceCode(otherUser.digest))?.consumedAt, null, "another user's code is untouched");
    },
  },
];
