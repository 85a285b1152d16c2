import t from 'tap';
import type { Test } from 'tap';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql, SqliteDialect } from 'kysely';
import { StorageError, type ClientRecord, type OAuthStorage } from '@portcullis/core';
import { StorageFixtures } from '@portcullis/core/testing';
import { ACCEPTED_URL_FORMS, createDatabase, createKyselyStorage, DatabaseUrlError, listMigrationNames, migrate, rollback } from '@portcullis/kysely';
import type { Database } from '@portcullis/kysely';
import { createPostgresTestDatabase, mysqlTest, openMigratedMysql, postgresTest } from './helpers/databases.js';

// Words that only a driver message would contain: none may reach StorageError.message.
const DRIVER_WORDS = /ECONNREFUSED|ER_|SQLITE|sqlite3|127\.0\.0\.1|root|select|portcullis_|Unknown database|connection|destroyed|not open/i;

function checkStorageError(t: Test, error: unknown, operation: string): void {
  t.type(error, StorageError, 'a StorageError');
  const storageError = error as StorageError;
  t.equal(storageError.name, 'StorageError');
  t.match(storageError.message, new RegExp(`^The database failed during ${operation}\\.$`), 'a message naming the operation');
  t.notMatch(storageError.message, DRIVER_WORDS, 'no driver text in the message');
  t.ok(storageError.cause instanceof Error, 'the driver error kept as cause');
}


async function catchError(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

t.test('createDatabase refuses URLs it does not understand, naming the accepted forms', async (t) => {
  const refused = [
    '',
    'postgres://localhost:5432/portcullis',
    'postgresql://user:hunter2@localhost:5432/',
    'pg://user:hunter2@localhost:5432/portcullis',
    'mysql2://user:hunter2@localhost/portcullis',
    'mysql://localhost:3306/portcullis',
    'mysql://user:hunter2@localhost:3306/',
    'mysql://user:hunter2@localhost:3306/a/b',
    'mysql://user:hunter2@:3306/portcullis',
    'sqlite:',
    'sqlite://tmp/file.sqlite',
    'file.sqlite',
    'SQLITE::memory:',
  ];
  for (const url of refused) {
    const error = await catchError(createDatabase(url));
    t.type(error, DatabaseUrlError, JSON.stringify(url));
    t.match((error as Error).message, ACCEPTED_URL_FORMS, 'the message lists the accepted forms');
    t.notMatch((error as Error).message, 'hunter2', 'and never repeats the password');
  }
  t.match(ACCEPTED_URL_FORMS, /postgres:\/\/user:password@host:port\/database.*mysql:\/\/user:password@host:port\/database.*sqlite:path\/to\/file\.sqlite.*sqlite::memory:/);

  const badLimit = await catchError(createDatabase('mysql://user:hunter2@localhost:3306/db?connectionLimit=0'));
  t.type(badLimit, DatabaseUrlError);
  t.match((badLimit as Error).message, 'connectionLimit must be a positive integer');
  t.type(await catchError(createDatabase('mysql://u@localhost/db', { connectTimeout: -5 })), DatabaseUrlError);
});

t.test('a SQLite file that cannot be opened is a StorageError naming the file, not the driver', async (t) => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-open-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // A folder where the file should be.
  const error = await catchError(createDatabase(`sqlite:${dir}`));
  t.type(error, StorageError);
  t.equal((error as Error).message, `The SQLite database ${dir} could not be opened; see the cause.`);
  t.ok((error as Error).cause instanceof Error);
});

t.test('SQLite: a query on a closed database is a StorageError without driver text', async (t) => {
  const sqlite = new BetterSqlite3(':memory:');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  t.teardown(() => db.destroy());
  await migrate(db);
  const storage = createKyselyStorage(db);
  const fx = new StorageFixtures();
  const token = fx.accessToken();
  await storage.saveTokens(token, null);
  sqlite.close();
  checkStorageError(t, await catchError(storage.findAccessToken(token.digest)), 'findAccessToken');
  checkStorageError(t, await catchError(storage.rotateRefreshToken('x', new Date(), fx.accessToken(), fx.refreshToken(null))), 'rotateRefreshToken');
  checkStorageError(t, await catchError(storage.recordNonce(fx.nonce())), 'recordNonce');
  checkStorageError(t, await catchError(storage.purgeExpired(new Date())), 'purgeExpired');
});

t.test('SQLite: a query after destroy is a StorageError', async (t) => {
  const db = await createDatabase('sqlite::memory:');
  await migrate(db);
  const storage = createKyselyStorage(db);
  await db.destroy();
  checkStorageError(t, await catchError(storage.findClient('pci_x')), 'findClient');
});

t.test('SQLite files use WAL with synchronous NORMAL and journals in memory, so commits write only the WAL', async (t) => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-sqlite-'));
  const db = await createDatabase(`sqlite:${join(dir, 'db.sqlite')}`);
  t.teardown(async () => {
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  });
  const { sql } = await import('kysely');
  const journal = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(db);
  const synchronous = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(db);
  t.equal(journal.rows[0]?.journal_mode, 'wal');
  t.equal(synchronous.rows[0]?.synchronous, 1, '1 is NORMAL');
  // Statement journals would otherwise spill to temporary files.
  const tempStore = await sql<{ temp_store: number }>`PRAGMA temp_store`.execute(db);
  t.equal(tempStore.rows[0]?.temp_store, 2, '2 is MEMORY');
});

t.test('SQLite keeps an 8 MiB page cache unless told otherwise', async (t) => {
  const { sql } = await import('kysely');
  const cacheSize = async (options: { cacheSizeKiB?: number }) => {
    const db = await createDatabase('sqlite::memory:', options);
    try {
      return (await sql<{ cache_size: number }>`PRAGMA cache_size`.execute(db)).rows[0]?.cache_size;
    } finally {
      await db.destroy();
    }
  };
  t.equal(await cacheSize({}), -8192, 'negative: KiB');
  t.equal(await cacheSize({ cacheSizeKiB: 1024 }), -1024);
  await t.rejects(createDatabase('sqlite::memory:', { cacheSizeKiB: 0 }), { name: 'DatabaseUrlError', message: /cacheSizeKiB/ });
});

/** A client created twice: the second is a StorageError naming the duplicate key. Returns the client. */
async function checkDuplicateClientRefused(t: Test, storage: OAuthStorage): Promise<ClientRecord> {
  const client = new StorageFixtures().client();
  await storage.createClient(client);
  const error = await catchError(storage.createClient(client));
  t.type(error, StorageError);
  t.equal((error as Error).message, 'The database failed during createClient: a row with the same key already exists.');
  return client;
}

t.test('a duplicate key outside recordNonce is a StorageError saying so', async (t) => {
  const db = await createDatabase('sqlite::memory:');
  t.teardown(() => db.destroy());
  await migrate(db);
  await checkDuplicateClientRefused(t, createKyselyStorage(db));
});

for (const [server, url] of [
  ['MySQL', 'mysql://root:hunter2@127.0.0.1:1/portcullis'],
  ['PostgreSQL', 'postgres://postgres:hunter2@127.0.0.1:1/portcullis'],
] as const) {
  t.test(`${server}: nothing listening on the port is a StorageError, quickly`, async (t) => {
    // Port 1 on loopback refuses at once; the short timeout bounds the test if it does not.
    const db = await createDatabase(url, { connectTimeout: 1000 });
    t.teardown(() => db.destroy());
    const storage = createKyselyStorage(db);
    const started = Date.now();
    const error = await catchError(storage.findAccessToken('digest'));
    checkStorageError(t, error, 'findAccessToken');
    t.notMatch((error as Error).message, 'hunter2');
    t.ok(Date.now() - started < 5000, 'within the connect timeout');
  });
}

await mysqlTest('MySQL: a dropped database is a StorageError without driver text', async (t) => {
  const { database, db } = await openMigratedMysql(t);
  const storage = createKyselyStorage(db);
  const fx = new StorageFixtures();
  const code = fx.authorizationCode();
  await storage.saveAuthorizationCode(code);
  t.equal((await storage.consumeAuthorizationCode(code.digest, new Date())).status, 'consumed');
  await database.drop();
  checkStorageError(t, await catchError(storage.consumeAuthorizationCode(code.digest, new Date())), 'consumeAuthorizationCode');
  checkStorageError(t, await catchError(storage.saveTokens(fx.accessToken(), fx.refreshToken(null))), 'saveTokens');
  checkStorageError(t, await catchError(storage.recordNonce(fx.nonce())), 'recordNonce');
});

await postgresTest('PostgreSQL: postgres:// and postgresql:// URLs open the database, with the lock wait bound', async (t) => {
  const database = await createPostgresTestDatabase();
  t.teardown(() => database.drop());
  for (const url of [database.url, database.url.replace(/^postgres:/, 'postgresql:')]) {
    const db = await createDatabase(url, { lockWaitTimeout: 2 });
    try {
      const { rows } = await sql<{ lock_timeout: string }>`show lock_timeout`.execute(db);
      t.equal(rows[0]?.lock_timeout, '2s', `${url.split(':')[0]}: lock_timeout set on the pool's connections`);
      await migrate(db);
      const storage = createKyselyStorage(db);
      const client = await checkDuplicateClientRefused(t, storage);
      t.same((await storage.findClient(client.id))?.id, client.id, 'the stored client reads back');
      await rollback(db, { all: true });
    } finally {
      await db.destroy();
    }
  }
});

t.test('sqlite: a file in a folder that does not exist yet: the folder is created', async (t) => {
  const { mkdtemp, rm, stat } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-sqlite-'));
  const cwd = process.cwd();
  t.teardown(async () => {
    process.chdir(cwd);
    await rm(dir, { recursive: true, force: true });
  });
  // The README's URL, relative to the working directory, as an application starts with it.
  process.chdir(dir);
  const db = await createDatabase('sqlite:data/portcullis.sqlite');
  t.strictSame((await migrate(db)).executed, await listMigrationNames());
  await createKyselyStorage(db).saveScopes([{ name: 'read', description: null }]);
  await db.destroy();
  t.ok((await stat(join(dir, 'data', 'portcullis.sqlite'))).isFile(), 'data/portcullis.sqlite is there');

  const nested = await createDatabase(`sqlite:${join(dir, 'a', 'b', 'c.sqlite')}`);
  await migrate(nested);
  await nested.destroy();
  t.ok((await stat(join(dir, 'a', 'b', 'c.sqlite'))).isFile(), 'an absolute path, several folders deep');
});

t.test('sqlite: a folder that cannot be created is named, with the fix', async (t) => {
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'portcullis-sqlite-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // A file where the folder should be: no user, root included, can make a folder there.
  await writeFile(join(dir, 'data'), 'not a folder');
  const error = await catchError(createDatabase(`sqlite:${join(dir, 'data', 'portcullis.sqlite')}`));
  t.type(error, StorageError);
  t.equal(
    (error as Error).message,
    `The folder ${join(dir, 'data')} of the SQLite database could not be created (EEXIST): create it, or give a sqlite: URL in a folder this process may write.`,
  );
});
