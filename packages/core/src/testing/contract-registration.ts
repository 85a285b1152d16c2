import { STORAGE_ERROR, type ContractCase } from './contract-case.js';
import { contractTime } from './storage-fixtures.js';
import { digestSecret } from '../crypto.js';

export const registrationCases: ContractCase[] = [
  {
    name: 'a dynamic client round-trips with its registration fields, and an update clears its expiry',
    async run(t, { storage }, fx) {
      const client = fx.client({
        origin: 'dynamic',
        type: 'public',
        secretDigest: null,
        registrationTokenDigest: digestSecret(fx.secret('accessToken')),
        metadata: {
          applicationType: 'native',
          tokenEndpointAuthMethod: 'none',
          clientUri: 'https://client.example/',
          logoUri: null,
          contacts: ['ops@client.example'],
          softwareId: '4NRB1-0XZABZI9E6-5SM3R',
          softwareVersion: '2.1 ✓',
        },
        unusedExpiresAt: contractTime(3600),
      });
      await storage.createClient(client);
      t.strictSame(await storage.findClient(client.id), client, 'every registration field survives the round trip');

      const used = await storage.updateClient(client.id, { unusedExpiresAt: null, lastUsedAt: contractTime(60) });
      t.strictSame(used, { ...client, unusedExpiresAt: null, lastUsedAt: contractTime(60) });
      t.strictSame(await storage.findClient(client.id), used);
      t.strictSame(
        await storage.updateClient(client.id, { metadata: null }),
        { ...client, unusedExpiresAt: null, lastUsedAt: contractTime(60), metadata: null },
        'metadata can be cleared',
      );
    },
  },
  {
    name: 'updateClient with an expected registration token writes only while that token is stored',
    async run(t, { storage }, fx) {
      const [first, second, third] = [fx.secret('accessToken'), fx.secret('accessToken'), fx.secret('accessToken')].map(digestSecret);
      const client = fx.client({ origin: 'dynamic', registrationTokenDigest: first! });
      const plain = fx.client({ id: 'pci_plain', createdAt: contractTime(1) });
      await storage.createClient(client);
      await storage.createClient(plain);
      t.equal(await storage.updateClient(client.id, { name: 'x' }, { registrationTokenDigest: second! }), null, 'another token: nothing written');
      t.strictSame(await storage.findClient(client.id), client, 'the record is unchanged');
      const rotated = await storage.updateClient(client.id, { name: 'Rotated', registrationTokenDigest: third! }, { registrationTokenDigest: first! });
      t.strictSame(rotated, { ...client, name: 'Rotated', registrationTokenDigest: third! }, 'the current token: written and returned');
      t.equal(await storage.updateClient(client.id, { name: 'again' }, { registrationTokenDigest: first! }), null, 'the rotated-out token writes nothing');
      t.strictSame(await storage.updateClient(client.id, {}, { registrationTokenDigest: third! }), rotated, 'an empty update with the current token reads');
      t.equal(await storage.updateClient(client.id, {}, { registrationTokenDigest: first! }), null, 'an empty update with an old one does not');
      t.equal(await storage.updateClient(plain.id, { name: 'x' }, { registrationTokenDigest: first! }), null, 'a client without a registration token');
      t.equal(await storage.updateClient('pci_nobody', { name: 'x' }, { registrationTokenDigest: first! }), null, 'an unknown id');
      t.strictSame(await storage.findClient(plain.id), plain);
    },
  },
  {
    name: 'two updates made at once with one registration token: exactly one lands',
    async run(t, { storage }, fx) {
      const token = digestSecret(fx.secret('accessToken'));
      const client = fx.client({ origin: 'dynamic', registrationTokenDigest: token });
      await storage.createClient(client);
      const next = [digestSecret(fx.secret('accessToken')), digestSecret(fx.secret('accessToken'))];
      const results = await Promise.all(
        next.map((digest, index) =>
          storage.updateClient(client.id, { name: `writer ${index}`, registrationTokenDigest: digest }, { registrationTokenDigest: token }),
        ),
      );
      const landed = results.filter((result) => result !== null);
      t.equal(landed.length, 1, 'one writer wins');
      t.strictSame(await storage.findClient(client.id), landed[0], "the stored record is the winner's");
    },
  },
  {
    name: 'a document client record (a URL id of 128 characters, origin document) round-trips and is listed',
    async run(t, { storage }, fx) {
      const id = `https://client.example/${'c'.repeat(128 - 'https://client.example/'.length - 5)}.json`;
      t.equal(id.length, 128, 'the longest client_id URL a document may have');
      const client = fx.client({
        id,
        origin: 'document',
        type: 'public',
        secretDigest: null,
        lastUsedAt: contractTime(5),
      });
      await storage.createClient(client);
      t.strictSame(await storage.findClient(id), client, 'the origin and the URL id survive the round trip');
      t.strictSame((await storage.listClients()).find((listed) => listed.id === id), client);
      // The second of two first uses: its create fails on the taken id, and its update lands.
      await t.rejects(storage.createClient(fx.client({ id, origin: 'document' })), STORAGE_ERROR);
      const disabled = await storage.updateClient(id, { disabled: true, lastUsedAt: contractTime(3605) });
      t.strictSame(disabled, { ...client, disabled: true, lastUsedAt: contractTime(3605) });
    },
  },
  {
    name: 'countUnusedClients counts the registrations whose unusedExpiresAt is after now, nothing else',
    async run(t, { storage }, fx) {
      const now = contractTime(1000);
      await storage.createClient(fx.client());
      await storage.createClient(fx.client({ origin: 'dynamic', unusedExpiresAt: contractTime(999) }));
      await storage.createClient(fx.client({ origin: 'dynamic', unusedExpiresAt: now }));
      await storage.createClient(fx.client({ origin: 'dynamic', unusedExpiresAt: contractTime(1001) }));
      await storage.createClient(fx.client({ origin: 'dynamic', unusedExpiresAt: contractTime(5000) }));
      await storage.createClient(fx.client({ origin: 'dynamic', lastUsedAt: contractTime(10) }));
      t.equal(await storage.countUnusedClients(now), 2);
      t.equal(await storage.countUnusedClients(contractTime(6000)), 0);
    },
  },
  {
    name: 'purgeExpired deletes the clients past their unusedExpiresAt and keeps every other',
    async run(t, { storage }, fx) {
      const now = contractTime(1000);
      const admin = fx.client({ createdAt: contractTime(1) });
      const used = fx.client({ origin: 'dynamic', lastUsedAt: contractTime(10), createdAt: contractTime(2) });
      const atNow = fx.client({ origin: 'dynamic', unusedExpiresAt: now, createdAt: contractTime(3) });
      const pending = fx.client({ origin: 'dynamic', unusedExpiresAt: contractTime(1001), createdAt: contractTime(4) });
      const old = fx.client({ origin: 'dynamic', unusedExpiresAt: contractTime(999), createdAt: contractTime(5) });
      for (const client of [admin, used, atNow, pending, old]) await storage.createClient(client);

      const purged = await storage.purgeExpired(now);
      t.equal(purged.clients, 1);
      t.equal(await storage.findClient(old.id), null, 'the expired registration is gone');
      t.strictSame(await storage.listClients(), [admin, used, atNow, pending]);
      t.equal((await storage.purgeExpired(now)).clients, 0, 'a second purge finds nothing');
    },
  },
  {
    name: 'deleteClient removes one client, once',
    async run(t, { storage }, fx) {
      const gone = fx.client({ createdAt: contractTime(1) });
      const kept = fx.client({ createdAt: contractTime(2) });
      await storage.createClient(gone);
      await storage.createClient(kept);
      t.equal(await storage.deleteClient(gone.id), true);
      t.equal(await storage.deleteClient(gone.id), false, 'a second delete finds nothing');
      t.equal(await storage.deleteClient('no-such-client'), false);
      t.equal(await storage.findClient(gone.id), null);
      t.strictSame(await storage.listClients(), [kept]);
    },
  },
];
