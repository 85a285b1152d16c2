import type { ContractCase } from './contract-case.js';
import { race } from './contract-case.js';
import { contractTime } from './storage-fixtures.js';

/** The signing key operations: saved as given, listed in order, retired once, private part sealed. */
export const signingKeyCases: ContractCase[] = [
  {
    name: 'saveSigningKey keeps every field; listSigningKeys orders by activatesAt then kid',
    async run(t, { storage }, fx) {
      t.strictSame(await storage.listSigningKeys(), [], 'an empty store has no key');
      const later = fx.signingKey({ activatesAt: contractTime(60) });
      const first = fx.signingKey({ kid: 'B'.repeat(43), activatesAt: contractTime(0) });
      const sameTime = fx.signingKey({ kid: 'A'.repeat(43), activatesAt: contractTime(0), alg: 'RS256' });
      const retired = fx.signingKey({ activatesAt: contractTime(-60), retiresAt: contractTime(0), expiresAt: contractTime(3600), alg: 'EdDSA' });
      for (const key of [later, first, sameTime, retired]) await storage.saveSigningKey(key);
      t.strictSame(await storage.listSigningKeys(), [retired, sameTime, first, later]);
    },
  },
  {
    name: 'saveSigningKey refuses a kid that exists, and changes nothing',
    async run(t, { storage }, fx) {
      const key = fx.signingKey();
      await storage.saveSigningKey(key);
      await t.rejects(storage.saveSigningKey(fx.signingKey({ kid: key.kid, alg: 'RS256' })), { name: 'StorageError' });
      t.strictSame(await storage.listSigningKeys(), [key]);
    },
  },
  {
    name: 'retireSigningKey sets the times once: a second retirement and an unknown kid change nothing',
    async run(t, { storage }, fx) {
      const key = fx.signingKey();
      const other = fx.signingKey({ activatesAt: contractTime(10) });
      await storage.saveSigningKey(key);
      await storage.saveSigningKey(other);
      const times = { retiresAt: contractTime(100), expiresAt: contractTime(3700) };
      t.equal(await storage.retireSigningKey(key.kid, times), true, 'the first retirement wins');
      t.equal(await storage.retireSigningKey(key.kid, { retiresAt: contractTime(50), expiresAt: contractTime(60) }), false, 'then it is retired');
      t.equal(await storage.retireSigningKey('unknown', times), false, 'an unknown kid');
      t.strictSame(await storage.listSigningKeys(), [{ ...key, ...times }, other], 'the first times stay; the other key is untouched');
    },
  },
  {
    name: 'retireSigningKey under concurrency: exactly one caller retires the key',
    async run(t, { storage }, fx) {
      const key = fx.signingKey();
      await storage.saveSigningKey(key);
      const results = await race(8, (i) => storage.retireSigningKey(key.kid, { retiresAt: contractTime(i + 1), expiresAt: contractTime(i + 100) }));
      t.equal(results.filter(Boolean).length, 1, 'one winner');
      const winner = results.indexOf(true);
      t.strictSame(await storage.listSigningKeys(), [{ ...key, retiresAt: contractTime(winner + 1), expiresAt: contractTime(winner + 100) }], "the winner's times");
    },
  },
  {
    name: 'the private key is stored sealed: no private member appears in a dump',
    async run(t, store, fx) {
      const key = fx.signingKey();
      await store.storage.saveSigningKey(key);
      const dump = JSON.stringify(store.dump ? await store.dump() : await store.storage.listSigningKeys());
      t.ok(dump.includes(key.privateJwkEncrypted), 'the sealed text is what is stored');
      for (const secret of fx.signingKeySecrets) {
        if (dump.includes(secret)) t.fail('a private key member appears in the dump');
      }
      t.equal(JSON.parse(fx.box.decrypt(key.privateJwkEncrypted)).d.length, 43, 'and it opens with the key');
    },
  },
];
