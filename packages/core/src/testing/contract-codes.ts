import type { ContractCase } from './contract-case.js';
import { STORAGE_ERROR } from './contract-case.js';
import { contractTime } from './storage-fixtures.js';

export const codeCases: ContractCase[] = [
  {
    name: 'consumeAuthorizationCode: consumed once, then reused, with the first consumption time',
    async run(t, { storage }, fx) {
      const code = fx.authorizationCode();
      await storage.saveAuthorizationCode(code);
      const first = await storage.consumeAuthorizationCode(code.digest, contractTime(5));
      t.strictSame(first, { status: 'consumed', record: { ...code, consumedAt: contractTime(5) } });
      const second = await storage.consumeAuthorizationCode(code.digest, contractTime(6));
      t.strictSame(second, { status: 'reused', record: { ...code, consumedAt: contractTime(5) } });
      const third = await storage.consumeAuthorizationCode(code.digest, contractTime(7));
      t.equal(third.status, 'reused', 'still reused on a third try');
    },
  },
  {
    name: 'consumeAuthorizationCode of an unknown digest is missing',
    async run(t, { storage }, fx) {
      const code = fx.authorizationCode();
      await storage.saveAuthorizationCode(code);
      t.strictSame(await storage.consumeAuthorizationCode(fx.authorizationCode().digest, contractTime(1)), {
        status: 'missing',
      });
      const list = await storage.listAuthorizationCodes({});
      t.strictSame(list, [code], 'the stored code is untouched');
    },
  },
  {
    name: 'expiry is the core decision: an expired code is still consumed once, with its expiresAt',
    async run(t, { storage }, fx) {
      const code = fx.authorizationCode({
        redirectUri: null,
        codeChallenge: null,
        codeChallengeMethod: null,
        scope: [],
      });
      await storage.saveAuthorizationCode(code);
      const late = contractTime(3600);
      const result = await storage.consumeAuthorizationCode(code.digest, late);
      t.strictSame(result, { status: 'consumed', record: { ...code, consumedAt: late } });
      if (result.status === 'consumed') t.ok(result.record.expiresAt < late, 'the caller can see it expired');
    },
  },
  {
    name: 'findAuthorizationCode: the stored record by digest, or null',
    async run(t, { storage }, fx) {
      const code = fx.authorizationCode();
      await storage.saveAuthorizationCode(code);
      t.strictSame(await storage.findAuthorizationCode(code.digest), code);
      t.equal(await storage.findAuthorizationCode(fx.authorizationCode().digest), null);
    },
  },
  {
    name: 'redeemAuthorizationCode: consumes the code and saves its tokens, once',
    async run(t, { storage }, fx) {
      const code = fx.authorizationCode();
      await storage.saveAuthorizationCode(code);
      const bought = fx.tokenPair({ familyId: code.familyId });
      t.equal(await storage.redeemAuthorizationCode(code.id, contractTime(5), bought.access, bought.refresh), true);
      t.strictSame(await storage.findAuthorizationCode(code.digest), { ...code, consumedAt: contractTime(5) });
      t.strictSame(await storage.findAccessToken(bought.access.digest), bought.access);
      t.strictSame(await storage.findRefreshToken(bought.refresh.digest), bought.refresh);

      const again = fx.tokenPair({ familyId: code.familyId });
      t.equal(await storage.redeemAuthorizationCode(code.id, contractTime(6), again.access, again.refresh), false, 'not twice');
      t.equal(await storage.findAccessToken(again.access.digest), null, 'and the loser saved nothing');
      t.equal(await storage.findRefreshToken(again.refresh.digest), null);
      t.equal((await storage.findAuthorizationCode(code.digest))?.consumedAt?.getTime(), contractTime(5).getTime(), 'the first time stays');

      const alone = fx.accessToken();
      t.equal(await storage.redeemAuthorizationCode('no-such-id', contractTime(7), alone, null), false, 'an unknown code');
      t.equal(await storage.findAccessToken(alone.digest), null);
    },
  },
  {
    name: 'redeemAuthorizationCode without a refresh token, and a consumed code does not redeem',
    async run(t, { storage }, fx) {
      const code = fx.authorizationCode();
      await storage.saveAuthorizationCode(code);
      const access = fx.accessToken({ familyId: code.familyId });
      t.equal(await storage.redeemAuthorizationCode(code.id, contractTime(5), access, null), true);
      t.strictSame(await storage.findAccessToken(access.digest), access);
      const spent = fx.authorizationCode();
      await storage.saveAuthorizationCode(spent);
      await storage.consumeAuthorizationCode(spent.digest, contractTime(6));
      const late = fx.accessToken();
      t.equal(await storage.redeemAuthorizationCode(spent.id, contractTime(7), late, null), false);
      t.equal(await storage.findAccessToken(late.digest), null);
    },
  },
  {
    name: 'redeemAuthorizationCode rolls back when a new token collides: the code stays unconsumed',
    async run(t, { storage }, fx) {
      const code = fx.authorizationCode();
      const other = fx.tokenPair();
      await storage.saveAuthorizationCode(code);
      await storage.saveTokens(other.access, other.refresh);
      const bought = fx.tokenPair({ familyId: code.familyId });
      const clash = { ...bought.refresh, digest: other.refresh.digest };
      await t.rejects(storage.redeemAuthorizationCode(code.id, contractTime(5), bought.access, clash), STORAGE_ERROR);
      t.strictSame(await storage.findAuthorizationCode(code.digest), code, 'still unconsumed');
      t.equal(await storage.findAccessToken(bought.access.digest), null, 'no access token');
      t.equal(await storage.redeemAuthorizationCode(code.id, contractTime(6), bought.access, bought.refresh), true, 'and it can still be redeemed');
    },
  },
  {
    name: 'saveAuthorizationCode refuses a digest or id already stored',
    async run(t, { storage }, fx) {
      const code = fx.authorizationCode();
      await storage.saveAuthorizationCode(code);
      await t.rejects(storage.saveAuthorizationCode(fx.authorizationCode({ digest: code.digest })), STORAGE_ERROR);
      await t.rejects(storage.saveAuthorizationCode(fx.authorizationCode({ id: code.id })), STORAGE_ERROR);
      t.strictSame(await storage.listAuthorizationCodes({}), [code]);
    },
  },
  {
    name: 'listAuthorizationCodes filters by client, user and liveness, newest first, with paging',
    async run(t, { storage }, fx) {
      const a1 = fx.authorizationCode({ clientId: 'client-a', userId: 'user-1', issuedAt: contractTime(1) });
      const a2 = fx.authorizationCode({ clientId: 'client-a', userId: 'user-2', issuedAt: contractTime(2) });
      const b1 = fx.authorizationCode({ clientId: 'client-b', userId: 'user-1', issuedAt: contractTime(3) });
      const expired = fx.authorizationCode({
        clientId: 'client-a',
        userId: 'user-1',
        issuedAt: contractTime(-120),
        expiresAt: contractTime(-60),
      });
      for (const code of [a1, a2, b1, expired]) await storage.saveAuthorizationCode(code);
      await storage.consumeAuthorizationCode(a2.digest, contractTime(4));
      const consumedA2 = { ...a2, consumedAt: contractTime(4) };

      t.strictSame(await storage.listAuthorizationCodes({}), [b1, consumedA2, a1, expired], 'all, newest first');
      t.strictSame(await storage.listAuthorizationCodes({ clientId: 'client-a' }), [consumedA2, a1, expired]);
      t.strictSame(await storage.listAuthorizationCodes({ userId: 'user-1' }), [b1, a1, expired]);
      t.strictSame(await storage.listAuthorizationCodes({ clientId: 'client-a', userId: 'user-1' }), [a1, expired]);
      t.strictSame(
        await storage.listAuthorizationCodes({ liveAt: contractTime(10) }),
        [b1, a1],
        'live: neither consumed nor expired',
      );
      t.strictSame(await storage.listAuthorizationCodes({ limit: 2 }), [b1, consumedA2]);
      t.strictSame(await storage.listAuthorizationCodes({ limit: 2, offset: 2 }), [a1, expired]);
      t.strictSame(await storage.listAuthorizationCodes({ offset: 3 }), [expired]);
      t.strictSame(await storage.listAuthorizationCodes({ clientId: 'client-z' }), []);
    },
  },
];
