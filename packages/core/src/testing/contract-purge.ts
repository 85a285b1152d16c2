import type { ContractCase } from './contract-case.js';
import { race } from './contract-case.js';
import { contractTime } from './storage-fixtures.js';
import type { StorageFixtures } from './storage-fixtures.js';
import type { OAuthStorage } from '../storage/port.js';

/** Saves `count` expired access tokens, a few dozen at a time, so a database store fills quickly. */
async function saveExpiredAccessTokens(storage: OAuthStorage, fx: StorageFixtures, count: number): Promise<void> {
  const chunk = 50;
  for (let start = 0; start < count; start += chunk) {
    await race(Math.min(chunk, count - start), () =>
      storage.saveTokens(fx.accessToken({ issuedAt: contractTime(-7200), expiresAt: contractTime(-3600) }), null),
    );
  }
}

export function purgeCases(options: { batchedRows: number }): ContractCase[] {
  return [
    {
      name: 'purgeExpired deletes what expired before now, of every kind, and keeps the rest',
      async run(t, { storage }, fx) {
        const now = contractTime(1000);
        const past = contractTime(999);
        const future = contractTime(1001);

        const codeOld = fx.authorizationCode({ expiresAt: past });
        const codeAtNow = fx.authorizationCode({ expiresAt: now });
        const codeLive = fx.authorizationCode({ expiresAt: future });
        for (const code of [codeOld, codeAtNow, codeLive]) await storage.saveAuthorizationCode(code);

        // Expired access token with a live refresh token: each table is judged on its own.
        const pair = fx.tokenPair({ expiresAt: past }, { expiresAt: future });
        const refreshOld = fx.tokenPair({ expiresAt: future }, { expiresAt: past });
        const revokedLive = fx.accessToken({ expiresAt: future, revokedAt: contractTime(0) });
        await storage.saveTokens(pair.access, pair.refresh);
        await storage.saveTokens(refreshOld.access, refreshOld.refresh);
        await storage.saveTokens(revokedLive, null);

        const requestOld = fx.requestToken({ expiresAt: past });
        const requestLive = fx.requestToken({ expiresAt: future });
        await storage.saveRequestToken(requestOld);
        await storage.saveRequestToken(requestLive);

        const oauth1Forever = fx.oauth1AccessToken({ expiresAt: null });
        const oauth1Old = fx.oauth1AccessToken({ expiresAt: past });
        const oauth1Live = fx.oauth1AccessToken({ expiresAt: future });
        for (const token of [oauth1Forever, oauth1Old, oauth1Live]) await storage.saveOAuth1AccessToken(token);

        // A key in use (never retired) is kept; a retired one until every token it signed expired.
        const keyInUse = fx.signingKey();
        const keyOld = fx.signingKey({ retiresAt: contractTime(0), expiresAt: past });
        const keyAtNow = fx.signingKey({ retiresAt: contractTime(0), expiresAt: now });
        for (const key of [keyInUse, keyOld, keyAtNow]) await storage.saveSigningKey(key);

        const nonceOld = fx.nonce({ expiresAt: past });
        const nonceLive = fx.nonce({ expiresAt: future });
        await storage.recordNonce(nonceOld);
        await storage.recordNonce(nonceLive);

        const deviceOld = fx.deviceCode({ expiresAt: past });
        const deviceLive = fx.deviceCode({ expiresAt: future });
        for (const device of [deviceOld, deviceLive]) t.equal(await storage.saveDeviceCode(device), true);

        t.strictSame(await storage.purgeExpired(now), {
          authorizationCodes: 1,
          accessTokens: 1,
          refreshTokens: 1,
          requestTokens: 1,
          oauth1AccessTokens: 1,
          nonces: 1,
          clients: 0,
          signingKeys: 1,
          deviceCodes: 1,
        });

        t.strictSame(await storage.listAuthorizationCodes({}), [codeAtNow, codeLive].sort(byId).sort(byIssued));
        t.equal(await storage.findAccessToken(pair.access.digest), null, 'expired access token gone');
        t.strictSame(await storage.findRefreshToken(pair.refresh.digest), pair.refresh, 'its live refresh token kept');
        t.strictSame(await storage.findAccessToken(refreshOld.access.digest), refreshOld.access);
        t.equal(await storage.findRefreshToken(refreshOld.refresh.digest), null, 'expired refresh token gone');
        t.strictSame(await storage.findAccessToken(revokedLive.digest), revokedLive, 'revoked but unexpired: kept');
        t.equal(await storage.findRequestToken(requestOld.token), null);
        t.strictSame(await storage.findRequestToken(requestLive.token), requestLive);
        t.equal(await storage.findOAuth1AccessToken(oauth1Old.token), null);
        t.strictSame(await storage.findOAuth1AccessToken(oauth1Forever.token), oauth1Forever, 'no expiry: kept');
        t.strictSame(await storage.findOAuth1AccessToken(oauth1Live.token), oauth1Live);
        t.equal(await storage.recordNonce({ ...nonceOld, expiresAt: future }), true, 'a purged nonce is forgotten');
        t.equal(await storage.recordNonce(nonceLive), false, 'a live nonce is remembered');
        t.strictSame((await storage.listSigningKeys()).map((key) => key.kid).sort(), [keyInUse.kid, keyAtNow.kid].sort(), 'the expired signing key is gone');
        t.equal(await storage.findDeviceCode(deviceOld.digest), null, 'expired device code gone');
        t.equal(await storage.findDeviceCodeByUserCode(deviceOld.userCodeDigest), null, 'and its user code with it');
        t.equal(await storage.saveDeviceCode(fx.deviceCode({ userCodeDigest: deviceOld.userCodeDigest, expiresAt: future })), true, 'its user code is free again');
        t.strictSame(await storage.findDeviceCode(deviceLive.digest), deviceLive);

        t.strictSame(
          await storage.purgeExpired(now),
          { authorizationCodes: 0, accessTokens: 0, refreshTokens: 0, requestTokens: 0, oauth1AccessTokens: 0, nonces: 0, clients: 0, signingKeys: 0, deviceCodes: 0 },
          'a second purge finds nothing',
        );
      },
    },
    {
      name: `purgeExpired in batches removes all ${options.batchedRows} expired rows and keeps the live ones`,
      async run(t, { storage }, fx) {
        await saveExpiredAccessTokens(storage, fx, options.batchedRows);
        const live = [fx.accessToken({ issuedAt: contractTime(2) }), fx.accessToken({ issuedAt: contractTime(1) })];
        for (const token of live) await storage.saveTokens(token, null);
        const nonces = Array.from({ length: 250 }, () => fx.nonce({ expiresAt: contractTime(-1) }));
        await race(nonces.length, (i) => storage.recordNonce(nonces[i]!));
        const liveNonce = fx.nonce();
        await storage.recordNonce(liveNonce);

        const result = await storage.purgeExpired(contractTime(0), { batchSize: 1000 });
        t.equal(result.accessTokens, options.batchedRows, 'every expired access token counted');
        t.equal(result.nonces, 250);
        t.strictSame(await storage.listAccessTokens({}), live, 'only the live tokens remain');
        t.equal(await storage.recordNonce(liveNonce), false, 'the live nonce remains');

        await race(30, () => storage.recordNonce(fx.nonce({ expiresAt: contractTime(-1) })));
        t.equal((await storage.purgeExpired(contractTime(0), { batchSize: 7 })).nonces, 30, 'a batch size that does not divide the count');
      },
    },
    {
      name: 'purgeExpired refuses a batch size that is not a positive integer',
      async run(t, { storage }, fx) {
        const token = fx.accessToken({ expiresAt: contractTime(-1) });
        await storage.saveTokens(token, null);
        for (const batchSize of [0, -1, 1.5, Number.NaN]) {
          await t.rejects(storage.purgeExpired(contractTime(0), { batchSize }), { name: 'RangeError' }, String(batchSize));
        }
        t.strictSame(await storage.findAccessToken(token.digest), token, 'nothing deleted');
      },
    },
  ];
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function byIssued(a: { issuedAt: Date }, b: { issuedAt: Date }): number {
  return b.issuedAt.getTime() - a.issuedAt.getTime();
}
