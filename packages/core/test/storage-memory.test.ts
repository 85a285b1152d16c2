import t from 'tap';
import { MemoryStorage, type AccessTokenRecord } from '@portcullis/core';
import { contractTime, listContractCases, runStorageContract, StorageFixtures } from '@portcullis/core/testing';

await runStorageContract(t, 'MemoryStorage', async () => {
  const storage = new MemoryStorage();
  // The snapshot is everything the store holds: the rawest dump a memory store has.
  return { storage, close: async () => {}, dump: async () => storage.snapshot() };
});

t.test('a snapshot keeps what the store held when it was taken, and cannot be changed', async (t) => {
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

  t.throws(() => {
    (before.accessTokens[0] as AccessTokenRecord).revokedAt = contractTime(1);
  }, TypeError, 'a record in a snapshot is frozen');
  before.clients.pop();
  t.strictSame(storage.snapshot().accessTokens, [access], 'changing a snapshot changes nothing stored');
  t.strictSame(storage.snapshot().clients, [client]);

  await storage.revokeFamily(access.familyId, contractTime(2));
  t.strictSame(before.accessTokens, [access], 'a change to the store leaves an earlier snapshot as it was');
  t.notSame(storage.snapshot(), before, 'and shows in the next snapshot');
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

t.test('records are handed out frozen, without a copy per read; a change puts a new record in place', async (t) => {
  const storage = new MemoryStorage();
  const fx = new StorageFixtures();
  const { access, refresh } = fx.tokenPair({ scope: ['read'] });
  await storage.saveTokens(access, refresh);
  const found = (await storage.findAccessToken(access.digest))!;
  t.equal(await storage.findAccessToken(access.digest), found, 'the same object on every read');
  t.ok(Object.isFrozen(found) && Object.isFrozen(found.scope) && Object.isFrozen(found.expiresAt), 'frozen, its array and dates too');
  t.throws(() => found.scope.push('admin'), TypeError, 'its scope cannot grow');
  t.throws(() => found.expiresAt.setTime(Date.UTC(2100, 0, 1)), TypeError, 'its expiry cannot move');
  t.throws(() => {
    found.revokedAt = null;
  }, TypeError, 'its fields cannot be assigned');
  t.ok(found.expiresAt instanceof Date, 'its dates are Dates');

  t.equal(await storage.revokeAccessToken(access.id, contractTime(9)), true);
  t.equal(found.revokedAt, null, 'the record a caller holds keeps the values it was read with');
  t.strictSame(await storage.findAccessToken(access.digest), { ...access, revokedAt: contractTime(9) }, 'the store holds the new one');
});

t.test('the secrets case also works from the port alone, for stores that cannot dump', async (t) => {
  for (const contractCase of listContractCases().secrets ?? []) {
    await t.test(contractCase.name, (t) =>
      contractCase.run(t, { storage: new MemoryStorage(), close: async () => {} }, new StorageFixtures()),
    );
  }
});
