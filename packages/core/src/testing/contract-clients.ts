import type { ContractCase } from './contract-case.js';
import { STORAGE_ERROR, tryToChange } from './contract-case.js';
import { contractTime } from './storage-fixtures.js';

export const clientCases: ContractCase[] = [
  {
    name: 'createClient then findClient returns the same record, not the object that went in',
    async run(t, { storage }, fx) {
      const client = fx.client({
        name: 'Sondages ✓ 🗳️',
        ownerId: 'user-9',
        grantTypes: ['authorization_code', 'implicit', 'password', 'client_credentials', 'refresh_token'],
        responseTypes: ['code', 'token'],
      });
      await storage.createClient(client);
      const found = await storage.findClient(client.id);
      t.strictSame(found, client, 'every field survives the round trip, milliseconds and emoji included');
      t.not(found, client, 'not the object that went in');

      tryToChange(found);
      t.strictSame(await storage.findClient(client.id), client, 'mutating a returned record changes nothing stored');
    },
  },
  {
    name: 'a public OAuth 1.0a client with nulls and empty lists round-trips',
    async run(t, { storage }, fx) {
      const client = fx.client({
        type: 'public',
        secretDigest: null,
        redirectUris: [],
        scopes: [],
        grantTypes: [],
        responseTypes: [],
        oauth1Enabled: true,
        oauth1SecretEncrypted: fx.box.encrypt(fx.secret('clientSecret')),
        rsaPublicKey: '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n',
        disabled: true,
      });
      await storage.createClient(client);
      t.strictSame(await storage.findClient(client.id), client);
    },
  },
  {
    name: 'findClient of an unknown id is null',
    async run(t, { storage }) {
      t.equal(await storage.findClient('pci_nobody'), null);
    },
  },
  {
    name: 'createClient with an id already taken fails and keeps the first',
    async run(t, { storage }, fx) {
      const first = fx.client();
      await storage.createClient(first);
      await t.rejects(storage.createClient(fx.client({ id: first.id, name: 'second' })), STORAGE_ERROR);
      t.strictSame(await storage.findClient(first.id), first);
      t.equal((await storage.listClients()).length, 1);
    },
  },
  {
    name: 'updateClient changes only the given fields and returns the new record',
    async run(t, { storage }, fx) {
      const client = fx.client();
      const other = fx.client({ createdAt: contractTime(1) });
      await storage.createClient(client);
      await storage.createClient(other);
      const updatedAt = contractTime(10);
      const updated = await storage.updateClient(client.id, {
        name: 'Renamed',
        redirectUris: ['https://client.example/new'],
        disabled: true,
        secretDigest: null,
        oauth1Enabled: true,
        updatedAt,
      });
      const expected = {
        ...client,
        name: 'Renamed',
        redirectUris: ['https://client.example/new'],
        disabled: true,
        secretDigest: null,
        oauth1Enabled: true,
        updatedAt,
      };
      t.strictSame(updated, expected, 'the returned record has the update applied');
      t.strictSame(await storage.findClient(client.id), expected, 'and it is stored');
      t.strictSame(await storage.findClient(other.id), other, 'other clients are untouched');
      t.strictSame(await storage.updateClient(client.id, {}), expected, 'an empty update changes nothing');
    },
  },
  {
    name: 'updateClient of an unknown id is null and creates nothing',
    async run(t, { storage }) {
      t.equal(await storage.updateClient('pci_nobody', { name: 'x' }), null);
      t.strictSame(await storage.listClients(), []);
    },
  },
  {
    name: 'listClients returns every client, oldest first',
    async run(t, { storage }, fx) {
      t.strictSame(await storage.listClients(), [], 'empty store');
      const newer = fx.client({ createdAt: contractTime(20) });
      const older = fx.client({ createdAt: contractTime(10) });
      await storage.createClient(newer);
      await storage.createClient(older);
      t.strictSame(await storage.listClients(), [older, newer]);
    },
  },
  {
    name: 'saveScopes upserts by name and never deletes; listScopes sorts by name',
    async run(t, { storage }) {
      t.strictSame(await storage.listScopes(), [], 'empty store');
      await storage.saveScopes([
        { name: 'write', description: 'Write polls' },
        { name: 'read', description: null },
      ]);
      await storage.saveScopes([]);
      t.strictSame(await storage.listScopes(), [
        { name: 'read', description: null },
        { name: 'write', description: 'Write polls' },
      ]);
      await storage.saveScopes([
        { name: 'read', description: 'Read polls' },
        { name: 'admin', description: 'Everything' },
      ]);
      t.strictSame(
        await storage.listScopes(),
        [
          { name: 'admin', description: 'Everything' },
          { name: 'read', description: 'Read polls' },
          { name: 'write', description: 'Write polls' },
        ],
        'read updated, admin added, write kept',
      );
    },
  },
];
