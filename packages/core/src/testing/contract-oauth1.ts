import type { ContractCase } from './contract-case.js';
import { STORAGE_ERROR, tryToChange } from './contract-case.js';
import { contractTime } from './storage-fixtures.js';

export const oauth1Cases: ContractCase[] = [
  {
    name: 'request tokens: save, find, refuse a duplicate',
    async run(t, { storage }, fx) {
      const token = fx.requestToken({ callback: 'oob', scope: [] });
      await storage.saveRequestToken(token);
      t.strictSame(await storage.findRequestToken(token.token), token);
      t.equal(await storage.findRequestToken(fx.requestToken().token), null, 'unknown token');
      await t.rejects(storage.saveRequestToken(fx.requestToken({ token: token.token })), STORAGE_ERROR);
      await t.rejects(storage.saveRequestToken(fx.requestToken({ id: token.id })), STORAGE_ERROR);
      tryToChange(await storage.findRequestToken(token.token));
      t.strictSame(await storage.findRequestToken(token.token), token, 'changing a result changes nothing');
    },
  },
  {
    name: 'authorizeRequestToken records the approval once',
    async run(t, { storage }, fx) {
      const token = fx.requestToken({ scope: ['read', 'write'] });
      await storage.saveRequestToken(token);
      const verifierDigest = fx.verifierDigest();
      t.equal(await storage.authorizeRequestToken(token.token, 'user-1', verifierDigest, ['read']), true);
      const approved = { ...token, userId: 'user-1', verifierDigest, scope: ['read'] };
      t.strictSame(await storage.findRequestToken(token.token), approved, 'user, verifier digest and scope stored');
      t.equal(
        await storage.authorizeRequestToken(token.token, 'user-2', fx.verifierDigest(), ['read', 'write']),
        false,
        'a second approval is refused',
      );
      t.strictSame(await storage.findRequestToken(token.token), approved, 'and changes nothing');
      t.equal(await storage.authorizeRequestToken('pcq_unknown', 'user-1', fx.verifierDigest(), []), false);
    },
  },
  {
    name: 'authorizeRequestToken refuses a consumed token',
    async run(t, { storage }, fx) {
      const token = fx.requestToken();
      await storage.saveRequestToken(token);
      await storage.consumeRequestToken(token.token, contractTime(1));
      t.equal(await storage.authorizeRequestToken(token.token, 'user-1', fx.verifierDigest(), ['read']), false);
      t.strictSame(await storage.findRequestToken(token.token), { ...token, consumedAt: contractTime(1) });
    },
  },
  {
    name: 'consumeRequestToken: consumed once, then reused; unknown is missing',
    async run(t, { storage }, fx) {
      const token = fx.requestToken();
      await storage.saveRequestToken(token);
      const verifierDigest = fx.verifierDigest();
      await storage.authorizeRequestToken(token.token, 'user-1', verifierDigest, ['read']);
      const approved = { ...token, userId: 'user-1', verifierDigest, scope: ['read'] };
      t.strictSame(await storage.consumeRequestToken(token.token, contractTime(30)), {
        status: 'consumed',
        record: { ...approved, consumedAt: contractTime(30) },
      });
      t.strictSame(await storage.consumeRequestToken(token.token, contractTime(31)), {
        status: 'reused',
        record: { ...approved, consumedAt: contractTime(30) },
      });
      t.strictSame(await storage.consumeRequestToken('pcq_unknown', contractTime(31)), { status: 'missing' });
    },
  },
  {
    name: 'OAuth 1.0a access tokens: save, find, refuse a duplicate',
    async run(t, { storage }, fx) {
      const forever = fx.oauth1AccessToken();
      const expiring = fx.oauth1AccessToken({ expiresAt: contractTime(86400), scope: ['read', 'write'] });
      await storage.saveOAuth1AccessToken(forever);
      await storage.saveOAuth1AccessToken(expiring);
      t.strictSame(await storage.findOAuth1AccessToken(forever.token), forever, 'null expiry round-trips');
      t.strictSame(await storage.findOAuth1AccessToken(expiring.token), expiring);
      t.equal(await storage.findOAuth1AccessToken(fx.oauth1AccessToken().token), null);
      await t.rejects(storage.saveOAuth1AccessToken(fx.oauth1AccessToken({ token: forever.token })), STORAGE_ERROR);
      t.strictSame(await storage.findOAuth1AccessToken(forever.token), forever);
    },
  },
  {
    name: 'revokeOAuth1AccessTokens by token, by user and by client',
    async run(t, { storage }, fx) {
      const a1 = fx.oauth1AccessToken();
      const a1b = fx.oauth1AccessToken();
      const a2 = fx.oauth1AccessToken({ userId: 'user-2' });
      const b1 = fx.oauth1AccessToken({ clientId: 'client-b' });
      for (const token of [a1, a1b, a2, b1]) await storage.saveOAuth1AccessToken(token);

      t.equal(await storage.revokeOAuth1AccessTokens({ clientId: 'client-a', token: a1.token }, contractTime(1)), 1);
      t.strictSame(await storage.findOAuth1AccessToken(a1.token), { ...a1, revokedAt: contractTime(1) });
      t.equal(
        await storage.revokeOAuth1AccessTokens({ clientId: 'client-b', token: a1b.token }, contractTime(1)),
        0,
        "a token of another client is not this client's to revoke",
      );
      t.equal(await storage.revokeOAuth1AccessTokens({ clientId: 'client-a', userId: 'user-1' }, contractTime(2)), 1);
      t.strictSame(await storage.findOAuth1AccessToken(a1.token), { ...a1, revokedAt: contractTime(1) }, 'kept');
      t.strictSame(await storage.findOAuth1AccessToken(a1b.token), { ...a1b, revokedAt: contractTime(2) });
      t.equal(await storage.revokeOAuth1AccessTokens({ clientId: 'client-a' }, contractTime(3)), 1, 'user-2');
      t.equal(await storage.revokeOAuth1AccessTokens({ clientId: 'client-a' }, contractTime(4)), 0);
      t.strictSame(await storage.findOAuth1AccessToken(b1.token), b1, 'other client untouched');
    },
  },
  {
    name: 'recordNonce: true the first time for each (client, token, timestamp, nonce)',
    async run(t, { storage }, fx) {
      const nonce = fx.nonce();
      t.equal(await storage.recordNonce(nonce), true);
      t.equal(await storage.recordNonce({ ...nonce }), false, 'the same nonce again');
      t.equal(await storage.recordNonce({ ...nonce, expiresAt: contractTime(999) }), false, 'expiry is not part of the key');
      t.equal(await storage.recordNonce({ ...nonce, clientId: 'client-b' }), true, 'another client');
      t.equal(await storage.recordNonce({ ...nonce, token: 'pco_sometoken' }), true, 'another token');
      t.equal(await storage.recordNonce({ ...nonce, timestamp: nonce.timestamp + 1 }), true, 'another timestamp');
      t.equal(await storage.recordNonce({ ...nonce, nonce: `${nonce.nonce}x` }), true, 'another nonce');
      const mixedCase = fx.nonce({ nonce: 'Nonce-AbC' });
      t.equal(await storage.recordNonce(mixedCase), true);
      t.equal(await storage.recordNonce({ ...mixedCase, nonce: 'nonce-abc' }), true, 'nonces are case-sensitive');
      t.equal(await storage.recordNonce({ ...nonce, token: 'pco_sometoken' }), false, 'each of those once');
    },
  },
];
