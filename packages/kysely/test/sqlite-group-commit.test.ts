import Database from 'better-sqlite3';
import t from 'tap';
import { Kysely, sql, SqliteDialect } from 'kysely';
import { StorageError, type AccessTokenRecord } from '@portcullis/core';
import { StorageFixtures } from '@portcullis/core/testing';
import { createDatabase, createKyselyStorage, migrate, type Database as Schema } from '@portcullis/kysely';
import { SqliteGroupCommit } from '../src/sqlite-group-commit.js';
import { SqliteStatementCache } from '../src/sqlite-statement-cache.js';

/** A migrated in-memory store from createDatabase (so with group commit) and one client in it. */
async function openStoreWithClient(t: { teardown(fn: () => Promise<void>): void }) {
  const db = await createDatabase('sqlite::memory:');
  t.teardown(() => db.destroy());
  await migrate(db);
  const storage = createKyselyStorage(db);
  const fixtures = new StorageFixtures();
  const client = fixtures.client();
  await storage.createClient(client);
  return { db, storage, fixtures, client };
}

const countRows = async (db: Kysely<Schema>, table: 'portcullis_access_tokens' | 'portcullis_refresh_tokens') =>
  Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(db)).rows[0]?.n);

/** An access token row written through Kysely itself (inside a transaction, in these tests). */
async function insertAccessToken(executor: Kysely<Schema>, access: AccessTokenRecord): Promise<void> {
  await executor
    .insertInto('portcullis_access_tokens')
    .values({
      id: access.id,
      digest: access.digest,
      client_id: access.clientId,
      user_id: access.userId,
      scope: '[]',
      family_id: access.familyId,
      issued_at: access.issuedAt.getTime(),
      expires_at: access.expiresAt.getTime(),
      revoked_at: null,
    })
    .execute();
}

/** A better-sqlite3 handle whose statements record the SQL they run, in order. */
function recordingHandle() {
  const native = new Database(':memory:');
  const log: string[] = [];
  const statements = new SqliteStatementCache({
    prepare(text: string) {
      const statement = native.prepare(text);
      return {
        reader: statement.reader,
        all: (parameters: readonly unknown[]) => (log.push(text), statement.all(...parameters)),
        run: (parameters: readonly unknown[]) => (log.push(text), statement.run(...parameters)),
        iterate: (parameters: readonly unknown[]) => statement.iterate(...parameters),
      };
    },
    close: () => native.close(),
  });
  const db = new Kysely<Record<string, never>>({ dialect: new SqliteDialect({ database: statements }) });
  return { native, log, group: new SqliteGroupCommit(db as unknown as Kysely<never>, statements, native), db };
}

const compiled = (text: string, parameters: unknown[] = []) =>
  ({ sql: text, parameters, query: undefined as never, queryId: undefined as never });

/** A write of two statements: a row in t, then one in u. */
const insertPair = (group: SqliteGroupCommit, k: string, u = k) =>
  group.write(async (executor) => {
    await executor.executeQuery(compiled('insert into t (k) values (?)', [k]));
    await executor.executeQuery(compiled('insert into u (k) values (?)', [u]));
    return k;
  });

t.test('writes queued in one turn commit together, without savepoints while none fails', async (t) => {
  const { native, log, group, db } = recordingHandle();
  t.teardown(() => db.destroy());
  native.exec('create table t (k text primary key); create table u (k text primary key)');
  const results = await Promise.all([insertPair(group, 'a'), insertPair(group, 'b'), insertPair(group, 'c')]);
  t.same(results, ['a', 'b', 'c'], 'each write answers with its own value');
  t.same(native.prepare('select k from u order by k').pluck().all(), ['a', 'b', 'c']);
  t.same(log, [
    'begin immediate',
    ...['a', 'b', 'c'].flatMap(() => ['insert into t (k) values (?)', 'insert into u (k) values (?)']),
    'commit',
  ], 'one transaction, six inserts, no savepoint');
});

t.test('a write of several statements that fails: the group runs again, each such write in its own savepoint', async (t) => {
  const { native, log, group, db } = recordingHandle();
  t.teardown(() => db.destroy());
  native.exec('create table t (k text primary key); create table u (k text primary key)');
  // The third write's second insert clashes with the first write's row in u.
  const results = await Promise.allSettled([insertPair(group, 'a'), insertPair(group, 'b'), insertPair(group, 'x', 'a'), insertPair(group, 'c')]);
  t.same(results.map((result) => result.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'], 'the failing write fails alone');
  t.match((results[2] as PromiseRejectedResult).reason, { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' }, 'with the driver error');
  t.same(native.prepare('select k from t order by k').pluck().all(), ['a', 'b', 'c'], "nothing of the failed write: its first insert is undone");
  t.same(native.prepare('select k from u order by k').pluck().all(), ['a', 'b', 'c']);
  t.same(log.filter((text) => !text.startsWith('insert')), [
    'begin immediate',
    'rollback',
    'begin immediate',
    ...['savepoint portcullis_write', 'release portcullis_write'],
    ...['savepoint portcullis_write', 'release portcullis_write'],
    ...['savepoint portcullis_write', 'rollback to portcullis_write', 'release portcullis_write'],
    ...['savepoint portcullis_write', 'release portcullis_write'],
    'commit',
  ], 'the first run rolled back, the second in savepoints, one commit');
  t.equal(log.at(-1), 'commit');
});

t.test('single statements skip the savepoint: SQLite undoes a failed one by itself', async (t) => {
  const { native, log, group, db } = recordingHandle();
  t.teardown(() => db.destroy());
  native.exec('create table t (k text primary key)');
  const insert = (k: string) => group.write((executor) => executor.executeQuery(compiled('insert into t (k) values (?)', [k])), { singleStatement: true });
  const results = await Promise.allSettled([insert('a'), insert('a'), insert('b')]);
  t.same(results.map((result) => result.status), ['fulfilled', 'rejected', 'fulfilled']);
  t.same(native.prepare('select k from t order by k').pluck().all(), ['a', 'b']);
  t.notOk(log.some((text) => text.startsWith('savepoint')), 'no savepoint');
  t.same(log.filter((text) => text === 'begin immediate' || text === 'commit'), ['begin immediate', 'commit']);
});

t.test('when SQLite rolls the whole transaction back, the rest of the group never runs on its own', async (t) => {
  const { native, log, group, db } = recordingHandle();
  t.teardown(() => db.destroy());
  native.exec('create table t (k text primary key)');
  const insert = (k: string) => group.write((executor) => executor.executeQuery(compiled('insert into t (k) values (?)', [k])), { singleStatement: true });
  const first = insert('a');
  // What an I/O error does to a transaction, done by hand.
  const rolledBack = group.write(async (executor) => {
    await executor.executeQuery(compiled('rollback'));
    throw new Error('disk I/O error');
  });
  const last = insert('b');
  const results = await Promise.allSettled([first, rolledBack, last]);
  t.same(results.map((result) => result.status), ['rejected', 'rejected', 'rejected'], 'nothing is reported written');
  t.same(native.prepare('select k from t').pluck().all(), [], 'and nothing is');
  t.equal(log.filter((text) => text.startsWith('insert')).length, 1, 'the write after the rollback never ran');
  t.notOk(native.inTransaction);
});

t.test('a write that fails halfway leaves nothing of itself and keeps the others', async (t) => {
  const { db, storage, fixtures, client } = await openStoreWithClient(t);
  const first = fixtures.tokenPair({ clientId: client.id });
  const second = fixtures.tokenPair({ clientId: client.id });
  // The second pair's refresh token reuses the first's digest: its second insert fails.
  const clash = { ...second.refresh!, digest: first.refresh!.digest };
  const outcomes = await Promise.allSettled([
    storage.saveTokens(first.access, first.refresh),
    storage.saveTokens(second.access, clash),
  ]);
  t.equal(outcomes[0]!.status, 'fulfilled');
  t.equal(outcomes[1]!.status, 'rejected');
  t.type((outcomes[1] as PromiseRejectedResult).reason, StorageError);
  t.equal(await countRows(db, 'portcullis_access_tokens'), 1, "the failed pair's access token was rolled back");
  t.equal(await countRows(db, 'portcullis_refresh_tokens'), 1);
  t.ok(await storage.findAccessToken(first.access.digest), 'the other write committed');
  t.equal(await storage.findAccessToken(second.access.digest), null);
});

t.test('a read waits behind an open Kysely transaction instead of seeing its rows', async (t) => {
  const { db, storage, fixtures, client } = await openStoreWithClient(t);
  const { access } = fixtures.tokenPair({ clientId: client.id });
  let read: Promise<unknown> | undefined;
  await db
    .transaction()
    .execute(async (trx) => {
      await insertAccessToken(trx, access);
      read = storage.findAccessToken(access.digest);
      await new Promise((resolve) => setTimeout(resolve, 50));
      throw new Error('roll back');
    })
    .catch(() => undefined);
  t.equal(await read, null, 'the rolled-back row was never visible');
});

t.test('a closed database fails every queued write with a StorageError', async (t) => {
  const db = await createDatabase('sqlite::memory:');
  await migrate(db);
  const storage = createKyselyStorage(db);
  const fixtures = new StorageFixtures();
  const client = fixtures.client();
  await storage.createClient(client);
  await db.destroy();
  const { access, refresh } = fixtures.tokenPair({ clientId: client.id });
  const outcomes = await Promise.allSettled([storage.saveTokens(access, refresh), storage.saveTokens(fixtures.accessToken(), null)]);
  for (const outcome of outcomes) {
    t.equal(outcome.status, 'rejected');
    t.type((outcome as PromiseRejectedResult).reason, StorageError);
  }
});

t.test('reads queued in one turn share one read transaction; one read runs alone', async (t) => {
  const { native, log, group, db } = recordingHandle();
  t.teardown(() => db.destroy());
  native.exec("create table t (k text primary key); insert into t values ('a'), ('b')");
  const select = (k: string) => group.read(compiled('select k from t where k = ?', [k]));
  const [a, b, missing] = await Promise.all([select('a'), select('b'), select('z')]);
  t.same([a.rows, b.rows, missing.rows], [[{ k: 'a' }], [{ k: 'b' }], []]);
  t.same(log, ['begin', ...Array(3).fill('select k from t where k = ?'), 'commit']);
  t.notOk(native.inTransaction);

  log.length = 0;
  t.same((await select('a')).rows, [{ k: 'a' }]);
  t.same(log, ['select k from t where k = ?'], 'no transaction around a lone read');
});

t.test('a failing read fails alone, and the read transaction still ends', async (t) => {
  const { native, log, group, db } = recordingHandle();
  t.teardown(() => db.destroy());
  native.exec("create table t (k text primary key); insert into t values ('a')");
  const results = await Promise.allSettled([
    group.read(compiled('select k from t where k = ?', ['a'])),
    group.read(compiled('select k from no_such_table')),
    group.read(compiled('select count(*) as n from t')),
  ]);
  t.same(results.map((result) => result.status), ['fulfilled', 'rejected', 'fulfilled']);
  t.match((results[1] as PromiseRejectedResult).reason, { code: 'SQLITE_ERROR' });
  t.same((results[2] as PromiseFulfilledResult<{ rows: unknown[] }>).value.rows, [{ n: 1 }]);
  t.equal(log.at(-1), 'commit');
  t.notOk(native.inTransaction);
});

t.test('a read queued before a Kysely transaction began waits behind it', async (t) => {
  const { db, storage, fixtures, client } = await openStoreWithClient(t);
  const { access } = fixtures.tokenPair({ clientId: client.id });
  // Queued now, run at the next turn: by then the transaction below has begun and inserted.
  const read = storage.findAccessToken(access.digest);
  await db
    .transaction()
    .execute(async (trx) => {
      await insertAccessToken(trx, access);
      await new Promise((resolve) => setTimeout(resolve, 50));
      throw new Error('roll back');
    })
    .catch(() => undefined);
  t.equal(await read, null, 'the rolled-back row was never visible');
});

t.test('a closed database fails every queued read with a StorageError', async (t) => {
  const { db, storage, fixtures } = await openStoreWithClient(t);
  const digests = [fixtures.accessToken().digest, fixtures.accessToken().digest];
  const reads = digests.map((digest) => storage.findAccessToken(digest));
  await db.destroy();
  const outcomes = await Promise.allSettled(reads);
  for (const outcome of outcomes) {
    t.equal(outcome.status, 'rejected');
    t.type((outcome as PromiseRejectedResult).reason, StorageError);
  }
});
