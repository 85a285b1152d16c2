import t from 'tap';
import { StorageError } from '../src/errors.js';
import { withClientCache, type ClientCacheOptions } from '../src/storage/client-cache.js';
import { MemoryStorage } from '../src/storage/memory-store.js';
import type { OAuthStorage } from '../src/storage/port.js';
import type { ClientRecord } from '../src/storage/records.js';
import { runStorageContract, StorageFixtures } from '../src/testing/index.js';

await runStorageContract(t, 'withClientCache(MemoryStorage)', async () => {
  const inner = new MemoryStorage();
  return { storage: withClientCache(inner), close: async () => {}, dump: async () => inner.snapshot() };
});

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/**
 * A real MemoryStorage behind a proxy that counts every call by method, and can hold one method's
 * answer (after the store has answered) until a test lets it go, or make it fail.
 */
function harness(options: ClientCacheOptions = {}) {
  const inner = new MemoryStorage();
  const calls = new Map<string, number>();
  const holds = new Map<string, Deferred>();
  const failures = new Map<string, Error>();
  const counted = new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return async (...args: unknown[]) => {
        calls.set(property, (calls.get(property) ?? 0) + 1);
        await holds.get(`${property}:before`)?.promise;
        // Called on the store itself: MemoryStorage keeps its state in private fields.
        const answer: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        await holds.get(`${property}:after`)?.promise;
        const failure = failures.get(property);
        if (failure) throw failure;
        return answer;
      };
    },
  }) as OAuthStorage;
  const clock = { now: 1000 };
  const storage = withClientCache(counted, { clock: () => clock.now, ...options });
  const fx = new StorageFixtures();
  return {
    inner,
    storage,
    clock,
    fx,
    calls: (method = 'findClient') => calls.get(method) ?? 0,
    /**
     * Holds calls of `method` until the returned release is called: `after` the store has acted
     * (an answer on its way back), or `before` it acts (a write not yet committed).
     */
    hold(method: string, when: 'before' | 'after' = 'after') {
      const gate = deferred();
      holds.set(`${method}:${when}`, gate);
      return () => {
        holds.delete(`${method}:${when}`);
        gate.resolve();
      };
    },
    fail(method: string, error: Error | null) {
      if (error) failures.set(method, error);
      else failures.delete(method);
    },
  };
}

/** Lets every pending promise callback run, so a held call is known to have reached its gate. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

t.test('a found client is served from memory until ttlMs has passed', async (t) => {
  const h = harness();
  const client = h.fx.client();
  await h.inner.createClient(client);

  t.strictSame(await h.storage.findClient(client.id), client);
  t.equal(h.calls(), 1);
  t.strictSame(await h.storage.findClient(client.id), client, 'a hit');
  t.strictSame(await h.storage.findClient(client.id), client, 'another hit');
  t.equal(h.calls(), 1, 'hits make no call to the store');

  h.clock.now += 4999;
  t.strictSame(await h.storage.findClient(client.id), client);
  t.equal(h.calls(), 1, 'still fresh 1 ms before the default 5000 ms');
  h.clock.now += 1;
  t.strictSame(await h.storage.findClient(client.id), client);
  t.equal(h.calls(), 2, 'expired at ttlMs: asked again');
  t.strictSame(await h.storage.findClient(client.id), client);
  t.equal(h.calls(), 2, 'and kept again');
});

t.test('ttlMs is counted from when the store was asked, and can be set', async (t) => {
  const h = harness({ ttlMs: 100 });
  const client = h.fx.client();
  await h.inner.createClient(client);
  const release = h.hold('findClient');
  const first = h.storage.findClient(client.id);
  await settle();
  h.clock.now += 60; // a slow store: the answer arrives 60 ms after the question
  release();
  await first;
  h.clock.now += 39;
  await h.storage.findClient(client.id);
  t.equal(h.calls(), 1, 'fresh 99 ms after the question');
  h.clock.now += 1;
  await h.storage.findClient(client.id);
  t.equal(h.calls(), 2, 'expired 100 ms after the question, not after the answer');
});

t.test('a change made behind the cache shows within ttlMs', async (t) => {
  const h = harness();
  const client = h.fx.client();
  await h.inner.createClient(client);
  await h.storage.findClient(client.id);
  // Another process (a CLI) disabling the client.
  await h.inner.updateClient(client.id, { disabled: true });
  t.equal((await h.storage.findClient(client.id))?.disabled, false, 'the cached record, for now');
  h.clock.now += 5000;
  t.equal((await h.storage.findClient(client.id))?.disabled, true, 'seen once ttlMs has passed');
});

t.test('misses are not kept', async (t) => {
  const h = harness();
  for (let i = 0; i < 3; i++) t.equal(await h.storage.findClient('pci_nobody'), null);
  t.equal(h.calls(), 3, 'every lookup of an unknown id asks the store');

  const client = h.fx.client({ id: 'pci_nobody' });
  await h.inner.createClient(client);
  t.strictSame(await h.storage.findClient('pci_nobody'), client, 'a client created elsewhere is found at once');
});

t.test("this process's own writes are seen at once", async (t) => {
  const h = harness();
  const client = h.fx.client();
  await h.storage.createClient(client);
  t.strictSame(await h.storage.findClient(client.id), client, 'created through the cache');
  t.equal(h.calls(), 1);

  const secretDigest = 'a-new-digest';
  const updated = await h.storage.updateClient(client.id, { disabled: true, secretDigest, updatedAt: new Date(client.updatedAt.getTime() + 1000) });
  t.equal(updated?.disabled, true);
  const found = await h.storage.findClient(client.id);
  t.equal(found?.disabled, true, 'disabled at once');
  t.equal(found?.secretDigest, secretDigest, 'the new secret at once');
  t.strictSame(found, updated);
  t.equal(h.calls(), 2, 'the write dropped the cached record, the next lookup asked again');

  t.equal(await h.storage.updateClient('pci_nobody', { disabled: true }), null, 'updates of unknown ids pass through');
  await t.rejects(h.storage.createClient(h.fx.client({ id: client.id })), { name: 'StorageError' }, 'and so do failures');
  t.equal((await h.storage.findClient(client.id))?.disabled, true, 'a failed write leaves the truth visible');
  t.equal(h.calls('createClient'), 2);
  t.equal(h.calls('updateClient'), 2);
});

t.test('a lookup that raced a write does not keep what it read before the write', async (t) => {
  const h = harness();
  const client = h.fx.client();
  await h.inner.createClient(client);

  // The store answered with the old record, but the answer is still on its way.
  const release = h.hold('findClient');
  const racing = h.storage.findClient(client.id);
  await settle();
  await h.storage.updateClient(client.id, { disabled: true });
  release();
  t.equal((await racing)?.disabled, false, 'the racing caller asked before the write ended: the old record is fair');

  t.equal((await h.storage.findClient(client.id))?.disabled, true, 'but it was not kept');
  t.equal(h.calls(), 2);
  t.equal((await h.storage.findClient(client.id))?.disabled, true);
  t.equal(h.calls(), 2, 'the new record is kept');
});

t.test('a lookup made while a write is in progress does not outlive the write', async (t) => {
  const h = harness();
  const client = h.fx.client();
  await h.inner.createClient(client);

  const releaseWrite = h.hold('updateClient', 'before');
  const writing = h.storage.updateClient(client.id, { disabled: true });
  await settle();
  t.equal((await h.storage.findClient(client.id))?.disabled, false, 'the store still holds the old record');
  t.equal((await h.storage.findClient(client.id))?.disabled, false, 'kept while the write runs');
  t.equal(h.calls(), 1);
  releaseWrite();
  t.equal((await writing)?.disabled, true);

  t.equal((await h.storage.findClient(client.id))?.disabled, true, 'dropped when the write ended');
  t.equal(h.calls(), 2);
});

t.test('concurrent misses of one id share one lookup', async (t) => {
  const h = harness();
  const client = h.fx.client();
  await h.inner.createClient(client);

  const release = h.hold('findClient');
  const waiting = Array.from({ length: 50 }, () => h.storage.findClient(client.id));
  await settle();
  release();
  const found = await Promise.all(waiting);
  t.equal(h.calls(), 1, '50 callers, one call to the store');
  for (const record of found) t.strictSame(record, client);
  t.equal(new Set(found).size, 1, 'all get the one kept record');
  t.ok(Object.isFrozen(found[0]), 'which is frozen');

  // The same when the entry expires under load: no stampede.
  h.clock.now += 5000;
  const again = await Promise.all(Array.from({ length: 50 }, () => h.storage.findClient(client.id)));
  t.equal(h.calls(), 2);
  t.equal(again.filter((record) => record?.id === client.id).length, 50);

  const misses = await Promise.all(Array.from({ length: 10 }, () => h.storage.findClient('pci_nobody')));
  t.strictSame(misses, Array(10).fill(null));
  t.equal(h.calls(), 3, 'concurrent misses share one lookup too (and are not kept after it)');
});

t.test('a failed lookup rejects every waiter and is not kept', async (t) => {
  const h = harness();
  const client = h.fx.client();
  await h.inner.createClient(client);

  const failure = new StorageError('connection lost');
  h.fail('findClient', failure);
  const release = h.hold('findClient');
  const waiting = Array.from({ length: 5 }, () => h.storage.findClient(client.id).then(() => null, (error: unknown) => error));
  await settle();
  release();
  t.strictSame(await Promise.all(waiting), Array(5).fill(failure), 'every waiter gets the failure');
  t.equal(h.calls(), 1);

  await t.rejects(h.storage.findClient(client.id), failure, 'the next lookup asks again and fails again');
  t.equal(h.calls(), 2);
  h.fail('findClient', null);
  t.strictSame(await h.storage.findClient(client.id), client, 'and recovers with the store');
  t.equal(h.calls(), 3);
});

t.test('at most maxEntries clients are kept, the oldest going first', async (t) => {
  const h = harness({ maxEntries: 3 });
  const clients: ClientRecord[] = [];
  for (let i = 0; i < 4; i++) {
    const client = h.fx.client();
    clients.push(client);
    await h.inner.createClient(client);
  }
  for (const client of clients) await h.storage.findClient(client.id);
  t.equal(h.calls(), 4);

  for (const client of clients.slice(1)) await h.storage.findClient(client.id);
  t.equal(h.calls(), 4, 'the three newest are kept');
  await h.storage.findClient(clients[0]!.id);
  t.equal(h.calls(), 5, 'the first was evicted when the fourth came in');
  await h.storage.findClient(clients[1]!.id);
  t.equal(h.calls(), 6, 'and bringing it back evicted the next oldest');
  await h.storage.findClient(clients[3]!.id);
  t.equal(h.calls(), 6);
});

t.test('no caller can change what another caller gets', async (t) => {
  const h = harness();
  const client = h.fx.client();
  const original = structuredClone(client);
  await h.storage.createClient(client);

  const attempts: [string, (record: ClientRecord) => void][] = [
    ['push a redirect URI', (record) => record.redirectUris.push('https://evil.example/cb')],
    ['push a scope', (record) => record.scopes.push('admin')],
    ['push a grant type', (record) => record.grantTypes.push('password')],
    ['disable', (record) => (record.disabled = true)],
    ['rename', (record) => (record.name = 'changed')],
    // Object.freeze alone would not stop these: a Date's time lives in an internal slot.
    ['set createdAt', (record) => record.createdAt.setTime(0)],
    ['set updatedAt', (record) => record.updatedAt.setUTCFullYear(1999)],
  ];
  const vandalize = (record: ClientRecord, when: string) => {
    for (const [name, attempt] of attempts) t.throws(() => attempt(record), TypeError, `${name} throws, ${when}`);
  };
  const first = (await h.storage.findClient(client.id))!;
  vandalize(first, 'on the answer of a miss');
  const second = (await h.storage.findClient(client.id))!;
  t.strictSame(second, original, 'the kept record is as registered');
  vandalize(second, 'on the answer of a hit');
  t.strictSame(await h.storage.findClient(client.id), original, 'and still is');
  t.equal(h.calls(), 1, 'those answers came from memory');

  client.scopes.push('admin');
  client.createdAt.setTime(0);
  t.strictSame(await h.storage.findClient(client.id), original, 'nor does changing the object handed to createClient');
});

t.test('a hit hands out the kept record itself, without asking the store or copying', async (t) => {
  const h = harness();
  const client = h.fx.client();
  await h.inner.createClient(client);
  const first = await h.storage.findClient(client.id);
  t.strictSame(first, client, 'the registered record');
  t.ok(Object.isFrozen(first) && Object.isFrozen(first?.scopes) && Object.isFrozen(first?.createdAt), 'frozen, arrays and dates too');
  t.equal(await h.storage.findClient(client.id), first, 'the same object on a hit: no copy');
  t.equal(h.calls(), 1, 'a hit asks the store nothing');

  h.clock.now += 5000;
  const later = await h.storage.findClient(client.id);
  t.equal(h.calls(), 2, 'once ttlMs has passed, the store is asked again');
  t.not(later, first, 'and what it answered is kept from then on');
  t.equal(await h.storage.findClient(client.id), later);
  await h.storage.updateClient(client.id, { disabled: true });
  t.equal((await h.storage.findClient(client.id))?.disabled, true, "this process's own write is seen at once");
  t.equal(h.calls(), 3);
});

t.test('ttlMs 0 returns the storage itself; options are checked', async (t) => {
  const inner = new MemoryStorage();
  t.equal(withClientCache(inner, { ttlMs: 0 }), inner);
  t.throws(() => withClientCache(inner, { ttlMs: -1 }), /ttlMs/);
  t.throws(() => withClientCache(inner, { ttlMs: Number.POSITIVE_INFINITY }), /ttlMs/);
  t.throws(() => withClientCache(inner, { maxEntries: 0 }), /maxEntries/);
  t.throws(() => withClientCache(inner, { maxEntries: 1.5 }), /maxEntries/);
  t.throws(() => withClientCache(inner, { clock: 5 as unknown as () => number }), /clock/);
  t.throws(() => withClientCache(null as unknown as OAuthStorage), /storage/);
});

t.test('every other method reaches the wrapped store, called on the store itself', async (t) => {
  const h = harness();
  const { access, refresh } = h.fx.tokenPair();
  await h.storage.saveTokens(access, refresh);
  t.strictSame(await h.storage.findAccessToken(access.digest), access);
  t.equal(await h.storage.revokeFamily(access.familyId, new Date(access.issuedAt.getTime() + 1)), 2);
  const client = h.fx.client();
  await h.storage.createClient(client);
  t.strictSame(await h.storage.listClients(), [client]);
  await h.storage.listClients();
  t.equal(h.calls('listClients'), 2, 'lists are not cached');
  t.equal(h.calls('saveTokens'), 1);
  t.equal(h.calls('findAccessToken'), 1);
  t.equal(h.calls('revokeFamily'), 1);
});
