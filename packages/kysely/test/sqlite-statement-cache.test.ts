import t from 'tap';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { SqliteDatabase } from 'kysely';
import { StorageFixtures } from '@portcullis/core/testing';
import { createDatabase, createKyselyStorage, DEFAULT_STATEMENT_CACHE_SIZE, migrate, SqliteStatementCache } from '@portcullis/kysely';
import type { Database } from '@portcullis/kysely';

/** A better-sqlite3 handle that counts what it prepares, by SQL text. */
function countingHandle(): { handle: SqliteDatabase & { open: boolean }; prepared: Map<string, number> } {
  const raw = new BetterSqlite3(':memory:');
  const prepared = new Map<string, number>();
  const handle = {
    prepare(sql: string) {
      prepared.set(sql, (prepared.get(sql) ?? 0) + 1);
      return raw.prepare(sql);
    },
    close: () => raw.close(),
    get open() {
      return raw.open;
    },
  };
  return { handle, prepared };
}

t.test('the same SQL text gets the same Statement; another text another one', async (t) => {
  const { handle, prepared } = countingHandle();
  const cache = new SqliteStatementCache(handle);
  t.teardown(() => cache.close());
  const first = cache.prepare('SELECT 1 AS one');
  t.equal(cache.prepare('SELECT 1 AS one'), first, 'a hit returns the cached Statement');
  t.not(cache.prepare('SELECT 2 AS two'), first);
  t.equal(prepared.get('SELECT 1 AS one'), 1, 'prepared once');
  t.equal(cache.size, 2);
  t.strictSame(first.all([]), [{ one: 1 }], 'and it runs again and again');
  t.strictSame(first.all([]), [{ one: 1 }]);
  t.equal(DEFAULT_STATEMENT_CACHE_SIZE, 256);
});

t.test('past its bound the least recently used Statement goes', async (t) => {
  const { handle, prepared } = countingHandle();
  const cache = new SqliteStatementCache(handle, 3);
  t.teardown(() => cache.close());
  const a = cache.prepare('SELECT 1');
  const b = cache.prepare('SELECT 2');
  cache.prepare('SELECT 3');
  t.equal(cache.prepare('SELECT 1'), a, 'a hit makes SELECT 1 the most recent');
  cache.prepare('SELECT 4');
  t.equal(cache.size, 3, 'never more than the bound');
  t.equal(cache.prepare('SELECT 1'), a, 'the recently used one stayed');
  const again = cache.prepare('SELECT 2');
  t.not(again, b, 'the least recently used one was evicted and is prepared anew');
  t.equal(prepared.get('SELECT 2'), 2);
  t.equal(cache.size, 3);
  t.strictSame(again.all([]), [{ 2: 2 }]);
  for (let i = 0; i < 100; i += 1) cache.prepare(`SELECT ${i} + 1000`);
  t.equal(cache.size, 3, 'still bounded under churn');
});

t.test('a failing prepare caches nothing; close closes the handle', async (t) => {
  const { handle } = countingHandle();
  const cache = new SqliteStatementCache(handle);
  t.throws(() => cache.prepare('SELEC nonsense'), /syntax error/);
  t.equal(cache.size, 0);
  cache.prepare('SELECT 1');
  cache.close();
  t.equal(handle.open, false, 'the handle is closed');
  t.equal(cache.size, 0, 'and the Statements dropped');
  t.throws(() => cache.prepare('SELECT 1'), 'nothing runs on a closed cache');
  t.throws(() => new SqliteStatementCache(handle, 0), RangeError);
  t.throws(() => new SqliteStatementCache(handle, 1.5), RangeError);
});

t.test('through Kysely and the store, each SQL text is prepared once', async (t) => {
  const { handle, prepared } = countingHandle();
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new SqliteStatementCache(handle) }) });
  t.teardown(() => db.destroy());
  await migrate(db);
  const storage = createKyselyStorage(db);
  const fx = new StorageFixtures();
  const client = fx.client();
  await storage.createClient(client);

  const round = async () => {
    const { access, refresh } = fx.tokenPair({ clientId: client.id });
    await storage.saveTokens(access, refresh);
    t.strictSame(await storage.findAccessToken(access.digest), access);
    t.strictSame(await storage.findClient(client.id), client);
    const next = fx.tokenPair({ clientId: client.id, familyId: refresh.familyId });
    t.equal(await storage.rotateRefreshToken(refresh.id, new Date(), next.access, next.refresh), true);
    t.equal(await storage.rotateRefreshToken(refresh.id, new Date(), next.access, next.refresh), false);
    const code = fx.authorizationCode({ clientId: client.id });
    await storage.saveAuthorizationCode(code);
    t.equal((await storage.consumeAuthorizationCode(code.digest, new Date())).status, 'consumed');
    t.equal((await storage.consumeAuthorizationCode(code.digest, new Date())).status, 'reused');
    t.equal(await storage.recordNonce(fx.nonce()), true);
  };
  await round();
  const afterFirstRound = new Map(prepared);
  for (let i = 0; i < 20; i += 1) await round();
  t.strictSame(prepared, afterFirstRound, 'twenty more rounds prepared nothing new');
  t.ok([...prepared.values()].every((count) => count === 1), 'every SQL text was prepared exactly once');
});

t.test('a stream broken off early leaves its cached Statement usable', async (t) => {
  const db = await createDatabase('sqlite::memory:');
  t.teardown(() => db.destroy());
  await migrate(db);
  const storage = createKyselyStorage(db);
  const fx = new StorageFixtures();
  for (let i = 0; i < 3; i += 1) await storage.createClient(fx.client());
  const query = db.selectFrom('portcullis_clients').select('id').orderBy('id');
  for await (const row of query.stream()) {
    t.type(row.id, 'string');
    break;
  }
  t.equal((await query.execute()).length, 3, 'the same SQL runs again after the iterator was returned');
  let streamed = 0;
  for await (const _row of query.stream()) streamed += 1;
  t.equal(streamed, 3);
});

t.test('createDatabase hands Kysely the cache: a repeated query is not prepared again', async (t) => {
  const prototype = BetterSqlite3.prototype as unknown as { prepare(this: unknown, sql: string): unknown };
  const original = prototype.prepare;
  const seen: string[] = [];
  prototype.prepare = function (this: unknown, sql: string) {
    seen.push(sql);
    return original.call(this, sql);
  };
  t.teardown(() => {
    prototype.prepare = original;
  });
  const db = await createDatabase('sqlite::memory:');
  t.teardown(() => db.destroy());
  await migrate(db);
  const storage = createKyselyStorage(db);
  seen.length = 0;
  for (let i = 0; i < 10; i += 1) t.equal(await storage.findAccessToken(`digest-${i}`), null);
  t.equal(seen.length, 1, `one prepare for ten lookups (${seen.length})`);
});
