import t from 'tap';
import { MemoryStorage } from '@portcullis/core';
import { contractTime, listContractCases, runStorageContract, StorageFixtures } from '@portcullis/core/testing';

await runStorageContract(t, 'MemoryStorage', async () => {
  const storage = new MemoryStorage();
  // The snapshot is everything the store holds: the rawest dump a memory store has.
  return { storage, close: async () => {}, dump: async () => storage.snapshot() };
});

t.test('snapshot copies every record, so tests can compare before and after', async (t) => {
  const storage = new MemoryStorage();
  const fx = new StorageFixtures();
  const client = fx.client();
  const { access, refresh } = fx.tokenPair();
  await storage.createClient(client);
  await storage.saveTokens(access, refresh);
  await storage.recordNonce(fx.nonce({ clientId: client.id }));
  const before = storage.snapshot();
  t.strictSame(before.clients, [client]);
  t.strictSame(before.accessTokens, [access]);
  t.strictSame(before.refreshTokens, [refresh]);
  t.equal(before.nonces.length, 1);
  t.strictSame(before.authorizationCodes, []);

  before.accessTokens[0]!.revokedAt = contractTime(1);
  before.clients.pop();
  t.strictSame(storage.snapshot().accessTokens, [access], 'mutating a snapshot changes nothing stored');
  t.strictSame(storage.snapshot().clients, [client]);

  await storage.revokeFamily(access, contractTime(2));
  t.notSame(storage.snapshot(), before, 'a change shows in the next snapshot');
});

t.test('a record handed to the store is copied on the way in', async (t) => {
  const storage = new MemoryStorage();
  const fx = new StorageFixtures();
  const code = fx.authorizationCode();
  const expected = structuredClone(code);
  await storage.saveAuthorizationCode(code);
  code.scope.push('write');
  code.expiresAt.setTime(0);
  t.strictSame(await storage.listAuthorizationCodes({}), [expected]);
});

t.test('the secrets case also works from the port alone, for stores that cannot dump', async (t) => {
  for (const contractCase of listContractCases().secrets ?? []) {
    await t.test(contractCase.name, (t) =>
      contractCase.run(t, { storage: new MemoryStorage(), close: async () => {} }, new StorageFixtures()),
    );
  }
});
