import type { ContractCase } from './contract-case.js';
import { race, STORAGE_ERROR, tryToChange } from './contract-case.js';
import { contractTime } from './storage-fixtures.js';

export const grantLifecycleCases: ContractCase[] = [
  {
    name: 'saveConsent keeps one consent per user and client; a new one replaces it but keeps createdAt',
    async run(t, { storage }, fx) {
      const first = fx.consent({ scope: ['read'], audience: [] });
      await storage.saveConsent(first);
      t.strictSame(await storage.findConsent({ clientId: 'client-a', userId: 'user-1' }), first);
      t.equal(await storage.findConsent({ clientId: 'client-a', userId: 'user-2' }), null, 'another user has none');
      t.equal(await storage.findConsent({ clientId: 'client-b', userId: 'user-1' }), null, 'nor another client');

      const wider = fx.consent({
        scope: ['read', 'write'],
        audience: ['https://api.example/v1', 'https://mcp.example/mcp'],
        createdAt: contractTime(50),
        updatedAt: contractTime(50),
      });
      await storage.saveConsent(wider);
      t.strictSame(
        await storage.findConsent({ clientId: 'client-a', userId: 'user-1' }),
        { ...wider, createdAt: contractTime(0) },
        'replaced, the first approval time kept',
      );
      t.equal((await storage.listConsents({})).length, 1, 'still one row');

      tryToChange(await storage.findConsent({ clientId: 'client-a', userId: 'user-1' }));
      t.strictSame(
        await storage.findConsent({ clientId: 'client-a', userId: 'user-1' }),
        { ...wider, createdAt: contractTime(0) },
        'changing a result changes nothing',
      );
    },
  },
  {
    name: 'listConsents filters by client and user, newest first; deleteConsents by client, or client and user',
    async run(t, { storage }, fx) {
      const a1 = fx.consent({ updatedAt: contractTime(1) });
      const a2 = fx.consent({ userId: 'user-2', updatedAt: contractTime(3) });
      const b1 = fx.consent({ clientId: 'client-b', updatedAt: contractTime(2) });
      const b2 = fx.consent({ clientId: 'client-b', userId: 'user-2', updatedAt: contractTime(2) });
      for (const consent of [a1, a2, b1, b2]) await storage.saveConsent(consent);

      t.strictSame(await storage.listConsents({}), [a2, b1, b2, a1], 'newest first, then by client, then by user');
      t.strictSame(await storage.listConsents({ userId: 'user-1' }), [b1, a1]);
      t.strictSame(await storage.listConsents({ clientId: 'client-b' }), [b1, b2]);
      t.strictSame(await storage.listConsents({ clientId: 'client-a', userId: 'user-2' }), [a2]);

      t.equal(await storage.deleteConsents({ clientId: 'client-a', userId: 'user-2' }), 1);
      t.equal(await storage.deleteConsents({ clientId: 'client-a', userId: 'user-2' }), 0, 'gone already');
      t.strictSame(await storage.listConsents({}), [b1, b2, a1]);
      t.equal(await storage.deleteConsents({ clientId: 'client-b' }), 2, "every user's consent to the client");
      t.strictSame(await storage.listConsents({}), [a1]);
    },
  },
  {
    name: 'revokeGrant deletes the consent of that user and client only, and revokes a consumed refresh token',
    async run(t, { storage }, fx) {
      const now = contractTime(100);
      const grant = { clientId: 'client-a', userId: 'user-1' };
      const mine = fx.consent();
      const otherUser = fx.consent({ userId: 'user-2' });
      const otherClient = fx.consent({ clientId: 'client-b' });
      for (const consent of [mine, otherUser, otherClient]) await storage.saveConsent(consent);
      const old = fx.tokenPair();
      await storage.saveTokens(old.access, old.refresh);
      const next = fx.tokenPair({ familyId: old.access.familyId, issuedAt: contractTime(90) });
      t.equal(await storage.rotateRefreshToken(old.refresh.id, contractTime(90), next.access, next.refresh), true);

      // Old and new access tokens, the consumed and the new refresh token; the consent goes uncounted.
      t.equal(await storage.revokeGrant(grant, now), 4);
      t.equal(await storage.findConsent(grant), null, 'the consent is gone');
      t.strictSame(await storage.listConsents({}), [otherUser, otherClient].sort((a, b) => (a.clientId < b.clientId ? -1 : 1)));
      t.equal((await storage.findRefreshToken(old.refresh.digest))?.revokedAt?.getTime(), now.getTime(), 'the consumed token is revoked');
      const retry = fx.tokenPair({ familyId: old.access.familyId });
      t.equal(
        await storage.reissueRefreshToken(old.refresh.id, contractTime(0), retry.access, retry.refresh),
        false,
        'so a retry within a reuse interval buys nothing',
      );
      t.equal(await storage.revokeGrant(grant, now), 0, 'nothing left');
    },
  },
  {
    name: 'clients keep skipConsent and their token lifetimes, through create and update',
    async run(t, { storage }, fx) {
      const plain = fx.client();
      await storage.createClient(plain);
      t.strictSame(await storage.findClient(plain.id), plain, 'the defaults: no skip, server lifetimes');

      const { skipConsent: _skip, accessTokenTtl: _a, refreshTokenTtl: _r, authorizationCodeTtl: _c, ...bare } = fx.client();
      await storage.createClient(bare);
      t.match(
        await storage.findClient(bare.id),
        { skipConsent: false, accessTokenTtl: null, refreshTokenTtl: null, authorizationCodeTtl: null },
        'absent on input reads back as the defaults',
      );

      const firstParty = fx.client({ skipConsent: true, accessTokenTtl: 300, refreshTokenTtl: 86400, authorizationCodeTtl: 30 });
      await storage.createClient(firstParty);
      t.strictSame(await storage.findClient(firstParty.id), firstParty);

      const updated = await storage.updateClient(firstParty.id, { skipConsent: false, accessTokenTtl: null, refreshTokenTtl: 7200 });
      const wanted = { ...firstParty, skipConsent: false, accessTokenTtl: null, refreshTokenTtl: 7200 };
      t.strictSame(updated, wanted);
      t.strictSame(await storage.findClient(firstParty.id), wanted);
      t.strictSame((await storage.listClients()).find((client) => client.id === firstParty.id), wanted);
    },
  },
  {
    name: 'a refresh token keeps its family start; absent on input it is its own issue time',
    async run(t, { storage }, fx) {
      const first = fx.tokenPair();
      await storage.saveTokens(first.access, first.refresh);
      const next = fx.tokenPair(
        { familyId: first.access.familyId, issuedAt: contractTime(500) },
        { familyIssuedAt: first.refresh.issuedAt },
      );
      t.equal(await storage.rotateRefreshToken(first.refresh.id, contractTime(500), next.access, next.refresh), true);
      t.strictSame(await storage.findRefreshToken(next.refresh.digest), next.refresh);
      t.equal((await storage.findRefreshToken(next.refresh.digest))?.familyIssuedAt?.getTime(), first.refresh.issuedAt.getTime());

      const { familyIssuedAt: _start, ...bare } = fx.refreshToken(null, { issuedAt: contractTime(7) });
      await storage.saveTokens(fx.accessToken(), bare);
      t.strictSame(await storage.findRefreshToken(bare.digest), { ...bare, familyIssuedAt: contractTime(7) });
    },
  },
  {
    name: 'reissueRefreshToken saves new tokens only for a token consumed at or after the given time and not revoked',
    async run(t, { storage }, fx) {
      const old = fx.tokenPair();
      await storage.saveTokens(old.access, old.refresh);
      const unconsumed = fx.tokenPair({ familyId: old.access.familyId });
      t.equal(
        await storage.reissueRefreshToken(old.refresh.id, contractTime(0), unconsumed.access, unconsumed.refresh),
        false,
        'an unconsumed token is rotated, not reissued',
      );
      t.equal(await storage.findAccessToken(unconsumed.access.digest), null);

      const next = fx.tokenPair({ familyId: old.access.familyId, issuedAt: contractTime(100) });
      t.equal(await storage.rotateRefreshToken(old.refresh.id, contractTime(100), next.access, next.refresh), true);
      const retry = fx.tokenPair({ familyId: old.access.familyId, issuedAt: contractTime(105) });
      t.equal(await storage.reissueRefreshToken(old.refresh.id, contractTime(95), retry.access, retry.refresh), true);
      t.strictSame(await storage.findAccessToken(retry.access.digest), retry.access);
      t.strictSame(await storage.findRefreshToken(retry.refresh.digest), retry.refresh);
      t.strictSame(
        await storage.findRefreshToken(old.refresh.digest),
        { ...old.refresh, consumedAt: contractTime(100) },
        'the old token keeps its consumption time',
      );

      const late = fx.tokenPair({ familyId: old.access.familyId });
      t.equal(
        await storage.reissueRefreshToken(old.refresh.id, contractTime(101), late.access, late.refresh),
        false,
        'consumed before the given time',
      );
      t.equal(await storage.findAccessToken(late.access.digest), null, 'saves nothing');
      t.equal(
        await storage.reissueRefreshToken('no-such-id', contractTime(0), late.access, late.refresh),
        false,
        'an unknown token',
      );

      const clash = fx.tokenPair({ familyId: old.access.familyId });
      await t.rejects(
        storage.reissueRefreshToken(old.refresh.id, contractTime(95), clash.access, { ...clash.refresh, digest: next.refresh.digest }),
        STORAGE_ERROR,
      );
      t.equal(await storage.findAccessToken(clash.access.digest), null, 'a collision saves nothing');

      await storage.revokeFamily(old.access.familyId, contractTime(106));
      const revoked = fx.tokenPair({ familyId: old.access.familyId });
      t.equal(
        await storage.reissueRefreshToken(old.refresh.id, contractTime(95), revoked.access, revoked.refresh),
        false,
        'a revoked family buys nothing',
      );
      t.equal(await storage.findAccessToken(revoked.access.digest), null);
    },
  },
  {
    name: 'reissueRefreshToken racing revokeFamily: every token saved is revoked, or the reissue failed',
    async run(t, { storage }, fx) {
      const old = fx.tokenPair();
      await storage.saveTokens(old.access, old.refresh);
      const next = fx.tokenPair({ familyId: old.access.familyId, issuedAt: contractTime(100) });
      t.equal(await storage.rotateRefreshToken(old.refresh.id, contractTime(100), next.access, next.refresh), true);
      const retries = Array.from({ length: 10 }, () => fx.tokenPair({ familyId: old.access.familyId, issuedAt: contractTime(101) }));
      const results = await race(11, (i) =>
        i === 5
          ? storage.revokeFamily(old.access.familyId, contractTime(102)).then(() => null)
          : storage.reissueRefreshToken(old.refresh.id, contractTime(90), retries[i < 5 ? i : i - 1]!.access, retries[i < 5 ? i : i - 1]!.refresh),
      );
      t.equal(results.filter((result) => result === null).length, 1);
      // A reissue that committed before the revocation had its tokens revoked with the family;
      // one after it found the old token revoked and saved nothing. None is left live.
      for (const [index, retry] of retries.entries()) {
        const access = await storage.findAccessToken(retry.access.digest);
        const refresh = await storage.findRefreshToken(retry.refresh.digest);
        t.equal(access === null, refresh === null, `retry ${index}: both tokens or neither`);
        if (access !== null) t.not(access.revokedAt, null, `retry ${index}: its access token is revoked`);
        if (refresh !== null) t.not(refresh.revokedAt, null, `retry ${index}: its refresh token is revoked`);
      }
    },
  },
];
