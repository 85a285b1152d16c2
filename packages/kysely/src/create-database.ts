import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { CompiledQuery, Kysely, MysqlDialect, PostgresDialect, SqliteDialect } from 'kysely';
import { StorageError } from '@portcullis/core';
import type { Database } from './database.js';
import { startSqliteCheckpointer, type SqliteCheckpointer } from './sqlite-checkpointer.js';
import { PostgresStatementNames } from './postgres-statement-names.js';
import { SqliteStatementCache } from './sqlite-statement-cache.js';

export const ACCEPTED_URL_FORMS =
  'postgres://user:password@host:port/database, mysql://user:password@host:port/database, sqlite:path/to/file.sqlite or sqlite::memory:';

export interface CreateDatabaseOptions {
  /** PostgreSQL and MySQL pool size. Default 10. */
  connectionLimit?: number;
  /** PostgreSQL and MySQL connect timeout in milliseconds. Default 10000. */
  connectTimeout?: number;
  /** SQLite: how long a writer waits for a lock held by another process, in milliseconds. Default 5000. */
  busyTimeout?: number;
  /**
   * MySQL and PostgreSQL: how long a statement waits for a row lock held by another connection,
   * in whole seconds (`innodb_lock_wait_timeout` on MySQL, `lock_timeout` on PostgreSQL, set on
   * every pool connection). A request that would
   * wait longer fails with a `StorageError` (a 503 on the wire) instead of holding its pool
   * connection while more requests queue behind it. Default: the server's setting (50 s on
   * InnoDB).
   */
  lockWaitTimeout?: number;
  /**
   * SQLite: the page cache of the connection, in KiB. Default 8192 (8 MiB), where SQLite's own
   * is 2 MiB: token lookups land on random pages of the digest index, and a page not cached is a
   * read syscall.
   */
  cacheSizeKiB?: number;
  /**
   * SQLite files: checkpoint the write-ahead log from a worker thread instead of inside the
   * commits of requests (see sqlite-checkpointer.ts). Default true.
   */
  backgroundCheckpoints?: boolean;
  /**
   * PostgreSQL: send each parameterized SQL text as a named statement, prepared once per
   * connection (see postgres-statement-names.ts). Default true; false behind PgBouncer before
   * 1.21 in transaction pooling mode, which cannot carry them across server connections.
   */
  namedStatements?: boolean;
}

/** A URL `createDatabase` does not accept. The message never repeats the URL: it may hold a password. */
export class DatabaseUrlError extends TypeError {
  override name = 'DatabaseUrlError';
}

/**
 * A Kysely instance for a database URL:
 * - `postgres://user:password@host:port/database` or `postgresql://…` (pg pool; user and
 *   password percent-encoded; port defaults to 5432; `?connectionLimit=` and `?connectTimeout=`
 *   are read too),
 * - `mysql://user:password@host:port/database` (mysql2 pool; user and password percent-encoded;
 *   port defaults to 3306; `?connectionLimit=` and `?connectTimeout=` are read too),
 * - `sqlite:path/to/file.sqlite` (better-sqlite3; its folder is created; WAL journal, busy timeout),
 * - `sqlite::memory:` (a private in-memory database, for tests).
 * The drivers are optional peer dependencies, loaded only for the URL that needs them.
 */
export async function createDatabase(url: string, options: CreateDatabaseOptions = {}): Promise<Kysely<Database>> {
  if (typeof url !== 'string') throw new DatabaseUrlError(`A database URL is a string: ${ACCEPTED_URL_FORMS}.`);
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return createPostgresDatabase(parseServerUrl(url, options, 'PostgreSQL', 5432), options);
  }
  if (url.startsWith('mysql://')) return createMysqlDatabase(parseServerUrl(url, options, 'MySQL', 3306));
  if (url.startsWith('sqlite:') && !url.startsWith('sqlite://')) return createSqliteDatabase(url.slice('sqlite:'.length), options);
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0];
  throw new DatabaseUrlError(
    `Unsupported database URL${scheme ? ` (scheme ${scheme})` : ''}; use ${ACCEPTED_URL_FORMS}.`,
  );
}

interface ServerSettings {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  connectionLimit: number;
  connectTimeout: number;
  lockWaitTimeout: number | undefined;
}

function parseServerUrl(url: string, options: CreateDatabaseOptions, server: string, defaultPort: number): ServerSettings {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatabaseUrlError(`Malformed ${server} URL; use ${ACCEPTED_URL_FORMS}.`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!parsed.hostname || !parsed.username || !database || database.includes('/')) {
    throw new DatabaseUrlError(
      `A ${server} URL needs a user, a host and a database name; use ${ACCEPTED_URL_FORMS}.`,
    );
  }
  const port = parsed.port ? Number(parsed.port) : defaultPort;
  return {
    // IPv6 literals come back bracketed from URL; the driver wants them bare.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
    connectionLimit: positiveInteger(
      options.connectionLimit ?? parsed.searchParams.get('connectionLimit') ?? 10,
      'connectionLimit',
    ),
    connectTimeout: positiveInteger(
      options.connectTimeout ?? parsed.searchParams.get('connectTimeout') ?? 10_000,
      'connectTimeout',
    ),
    lockWaitTimeout: optionalPositiveInteger(
      options.lockWaitTimeout ?? parsed.searchParams.get('lockWaitTimeout') ?? undefined,
      'lockWaitTimeout',
    ),
  };
}

function optionalPositiveInteger(value: number | string | undefined, name: string): number | undefined {
  return value === undefined ? undefined : positiveInteger(value, name);
}

function positiveInteger(value: number | string, name: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 1) throw new DatabaseUrlError(`${name} must be a positive integer.`);
  return number;
}

async function createPostgresDatabase(settings: ServerSettings, options: CreateDatabaseOptions): Promise<Kysely<Database>> {
  const { default: pg } = await importDriver(() => import('pg'), 'pg', 'postgres://');
  const { host, port, user, password, database, connectionLimit, connectTimeout, lockWaitTimeout } = settings;
  const pool = new pg.Pool({
    host,
    port,
    user,
    password,
    database,
    max: connectionLimit,
    connectionTimeoutMillis: connectTimeout,
    // Whole seconds, as on MySQL: a statement waiting longer for a row lock fails instead of
    // holding its pool connection (SQLSTATE 55P03, a StorageError).
    ...(lockWaitTimeout === undefined ? {} : { options: `-c lock_timeout=${lockWaitTimeout * 1000}` }),
  });
  // An idle connection the server ends (a restart, an administrator) reports an error event; the
  // pool drops that connection and opens another for the next query. Unheard, the event would end
  // the process.
  pool.on('error', () => {});
  const named = options.namedStatements === false ? pool : new PostgresStatementNames(pool);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: named }) });
}

async function createMysqlDatabase(settings: ServerSettings): Promise<Kysely<Database>> {
  const { createPool } = await importDriver(() => import('mysql2'), 'mysql2', 'mysql://');
  const { lockWaitTimeout, ...poolSettings } = settings;
  const pool = createPool({
    ...poolSettings,
    charset: 'utf8mb4',
    // Timestamps are BIGINT milliseconds, but anything else the driver converts is UTC too.
    timezone: 'Z',
    dateStrings: false,
    // BIGINT as a JS number while it fits (every millisecond timestamp does), never lossy.
    supportBigNumbers: true,
    bigNumberStrings: false,
  });
  // Set on each new connection before Kysely hands it out, so no query runs without the bound.
  const onCreateConnection =
    lockWaitTimeout === undefined
      ? undefined
      : async (connection: { executeQuery(query: CompiledQuery): Promise<unknown> }) => {
          await connection.executeQuery(CompiledQuery.raw(`SET SESSION innodb_lock_wait_timeout = ${lockWaitTimeout}`));
        };
  return new Kysely<Database>({ dialect: new MysqlDialect({ pool, ...(onCreateConnection ? { onCreateConnection } : {}) }) });
}

async function createSqliteDatabase(path: string, options: CreateDatabaseOptions): Promise<Kysely<Database>> {
  if (path === '') throw new DatabaseUrlError(`A SQLite URL needs a file path or :memory:; use ${ACCEPTED_URL_FORMS}.`);
  const { default: BetterSqlite3 } = await importDriver(() => import('better-sqlite3'), 'better-sqlite3', 'sqlite:');
  const busyTimeout = positiveInteger(options.busyTimeout ?? 5000, 'busyTimeout');
  const cacheSizeKiB = positiveInteger(options.cacheSizeKiB ?? 8_192, 'cacheSizeKiB');
  if (path !== ':memory:') await createParentFolder(path);
  let database: InstanceType<typeof BetterSqlite3>;
  let checkpointer: SqliteCheckpointer | null = null;
  try {
    database = new BetterSqlite3(path, { timeout: busyTimeout });
    if (path !== ':memory:') {
      // WAL lets readers in other processes (the CLI, a purge job) work while the server writes.
      database.pragma('journal_mode = WAL');
      // With WAL, NORMAL still never corrupts the database and loses at most the last commits on
      // power loss (not on a process crash), without an fsync on the event loop at every commit.
      database.pragma('synchronous = NORMAL');
    }
    database.pragma(`busy_timeout = ${busyTimeout}`);
    // Negative: a size in KiB rather than in pages.
    database.pragma(`cache_size = -${cacheSizeKiB}`);
    // Statement journals and temporary tables in memory: on disk they are temporary files SQLite
    // writes a page at a time. They only serve rolling back inside this process, so a crash loses
    // nothing a disk copy would have kept.
    database.pragma('temp_store = MEMORY');
    if (path !== ':memory:' && options.backgroundCheckpoints !== false) {
      checkpointer = startSqliteCheckpointer(database, path, { busyTimeout });
    }
  } catch (error) {
    throw new StorageError(`The SQLite database ${path} could not be opened; see the cause.`, { cause: error });
  }
  const opened = database;
  const stopping = checkpointer;
  const handle =
    stopping === null
      ? opened
      : {
          prepare: (sql: string) => opened.prepare(sql),
          close: () => {
            stopping.stop();
            opened.close();
          },
        };
  // Kysely prepares every query anew; the cache hands back the Statement of a SQL text seen before.
  const statements = new SqliteStatementCache(handle);
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: statements }) });
}

/**
 * SQLite creates the file but not its folder: `sqlite:data/portcullis.sqlite` works on a fresh
 * checkout. A folder that cannot be made is named, with the fix, rather than left to the
 * driver's "unable to open database file".
 */
async function createParentFolder(path: string): Promise<void> {
  const folder = dirname(resolve(path));
  try {
    await mkdir(folder, { recursive: true });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new StorageError(
      `The folder ${folder} of the SQLite database could not be created${typeof code === 'string' ? ` (${code})` : ''}: create it, or give a sqlite: URL in a folder this process may write.`,
      { cause: error },
    );
  }
}

/** The drivers are optional peers: a missing one gets an install hint instead of a resolver trace. */
async function importDriver<T>(load: () => Promise<T>, name: string, scheme: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    throw new Error(`${scheme} URLs need the ${name} package; install it next to @portcullis/kysely.`, { cause: error });
  }
}
