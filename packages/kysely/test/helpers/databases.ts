import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import t, { type Test } from 'tap';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';
import type { StorageFactory } from '@portcullis/core/testing';
import { createDatabase, createKyselyStorage, migrate, PORTCULLIS_TABLES } from '@portcullis/kysely';
import type { CreateDatabaseOptions, Database } from '@portcullis/kysely';

// The CI server; PORTCULLIS_TEST_MYSQL_PORT exists to check the skip and REQUIRE_MYSQL paths.
export const MYSQL_SERVER = {
  host: '127.0.0.1',
  port: Number(process.env.PORTCULLIS_TEST_MYSQL_PORT ?? 3306),
  user: 'root',
  password: '',
};

/** Every row of every Portcullis table: the raw dump the secrets case searches. */
export async function dumpTables(db: Kysely<Database>): Promise<Record<string, unknown[]>> {
  const dump: Record<string, unknown[]> = {};
  for (const table of PORTCULLIS_TABLES) dump[table] = await db.selectFrom(table).selectAll().execute();
  return dump;
}

/** A new migrated `sqlite::memory:` database for each case. */
export const sqliteMemoryFactory: StorageFactory = async () => {
  const db = await createDatabase('sqlite::memory:');
  await migrate(db);
  return { storage: createKyselyStorage(db), dump: () => dumpTables(db), close: () => db.destroy() };
};

/** A new migrated SQLite file (WAL) in a temporary folder for each case, removed afterwards. */
export const sqliteFileFactory: StorageFactory = async () => {
  const folder = await mkdtemp(join(tmpdir(), 'portcullis-sqlite-'));
  const db = await createDatabase(`sqlite:${join(folder, 'portcullis.sqlite')}`);
  await migrate(db);
  return {
    storage: createKyselyStorage(db),
    dump: () => dumpTables(db),
    close: async () => {
      await db.destroy();
      await rm(folder, { recursive: true, force: true });
    },
  };
};

export async function openTempSqliteFile(): Promise<{ url: string; remove(): Promise<void> }> {
  const folder = await mkdtemp(join(tmpdir(), 'portcullis-sqlite-'));
  return { url: `sqlite:${join(folder, 'portcullis.sqlite')}`, remove: () => rm(folder, { recursive: true, force: true }) };
}

/** Why MySQL is unreachable, or null when it answers. */
export async function probeMysql(): Promise<string | null> {
  try {
    const connection = await createConnection({ ...MYSQL_SERVER, connectTimeout: 3000 });
    await connection.end();
    return null;
  } catch (error) {
    return error instanceof Error ? `${error.name}: ${(error as { code?: string }).code ?? error.message}` : String(error);
  }
}

export const mysqlRequired = process.env.REQUIRE_MYSQL === '1';

/** The loud notice when the MySQL tests are skipped. */
export function announceMysqlSkip(reason: string): string {
  const message = `MariaDB/MySQL at ${MYSQL_SERVER.host}:${MYSQL_SERVER.port} is unreachable (${reason}): the MySQL tests are SKIPPED. Start it, or set REQUIRE_MYSQL=1 to make this a failure.`;
  console.error(`\n${'!'.repeat(100)}\n!! ${message}\n${'!'.repeat(100)}\n`);
  return message;
}

export interface MysqlTestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database `<prefix>_<random>` on the server; `drop()` removes it. Its defaults are
 * utf8mb4 with the binary collation unless `charset` says otherwise (e.g. 'latin1 COLLATE latin1_swedish_ci').
 */
export async function createMysqlTestDatabase(
  prefix = 'portcullis_test',
  charset = 'utf8mb4 COLLATE utf8mb4_bin',
): Promise<MysqlTestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = await createConnection(MYSQL_SERVER);
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET ${charset}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: `mysql://${MYSQL_SERVER.user}:@${MYSQL_SERVER.host}:${MYSQL_SERVER.port}/${name}`,
    async drop() {
      const connection = await createConnection(MYSQL_SERVER);
      try {
        await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await connection.end();
      }
    },
  };
}

/**
 * A fresh MySQL test database, opened with `createDatabase` and migrated, destroyed and dropped
 * when `t` ends: what most MariaDB cases start from.
 */
export async function openMigratedMysql(
  t: { teardown(fn: () => Promise<void>): void },
  options: { prefix?: string; charset?: string; database?: CreateDatabaseOptions } = {},
): Promise<{ database: MysqlTestDatabase; db: Kysely<Database> }> {
  const database = await createMysqlTestDatabase(options.prefix, options.charset);
  const db = await createDatabase(database.url, options.database);
  t.teardown(async () => {
    await db.destroy();
    await database.drop();
  });
  await migrate(db);
  return { database, db };
}

/** One migrated MySQL or PostgreSQL database shared by the cases: each case starts from emptied tables. */
export function mysqlFactory(db: Kysely<Database>): StorageFactory {
  return async () => {
    for (const table of PORTCULLIS_TABLES) await db.deleteFrom(table).execute();
    return { storage: createKyselyStorage(db), dump: () => dumpTables(db), close: async () => {} };
  };
}

/** The assertion that fails a REQUIRE_MYSQL=1 run when the server is not there. */
export const MYSQL_REACHABLE = `MariaDB answers at ${MYSQL_SERVER.host}:${MYSQL_SERVER.port} (REQUIRE_MYSQL=1)`;

/**
 * A test that needs MariaDB: skipped with a loud notice when the server does not answer, and a
 * failure instead when REQUIRE_MYSQL=1. `body` runs only when it answers.
 */
export async function mysqlTest(name: string, body: (t: Test) => Promise<void>): Promise<void> {
  const unreachable = await probeMysql();
  if (unreachable !== null && !mysqlRequired) {
    t.test(name, { skip: announceMysqlSkip(unreachable) }, async () => {});
    return;
  }
  t.test(name, async (t) => {
    t.equal(unreachable, null, MYSQL_REACHABLE);
    if (unreachable !== null) return;
    await body(t);
  });
}

/** The SQL mysql2 sends while `work` runs, from its diagnostics channel. */
export async function sentMysqlStatements(work: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const record = (message: unknown): void => {
    sent.push(String((message as { query?: unknown }).query));
  };
  subscribe('tracing:mysql2:query:start', record);
  try {
    await work();
  } finally {
    unsubscribe('tracing:mysql2:query:start', record);
  }
  return sent;
}

// The CI server; PORTCULLIS_TEST_POSTGRES_PORT exists to check the skip and REQUIRE_POSTGRES paths.
export const POSTGRES_SERVER = {
  host: '127.0.0.1',
  port: Number(process.env.PORTCULLIS_TEST_POSTGRES_PORT ?? 5432),
  user: 'postgres',
  database: 'postgres',
};

/** Runs `statement` on the server's `postgres` database over a connection of its own. */
async function postgresAdmin(statement: string): Promise<void> {
  const client = new pg.Client({ ...POSTGRES_SERVER, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Why PostgreSQL is unreachable, or null when it answers. */
export async function probePostgres(): Promise<string | null> {
  try {
    await postgresAdmin('SELECT 1');
    return null;
  } catch (error) {
    return error instanceof Error ? `${error.name}: ${(error as { code?: string }).code ?? error.message}` : String(error);
  }
}

export const postgresRequired = process.env.REQUIRE_POSTGRES === '1';

/** The loud notice when the PostgreSQL tests are skipped. */
export function announcePostgresSkip(reason: string): string {
  const message = `PostgreSQL at ${POSTGRES_SERVER.host}:${POSTGRES_SERVER.port} is unreachable (${reason}): the PostgreSQL tests are SKIPPED. Start it, or set REQUIRE_POSTGRES=1 to make this a failure.`;
  console.error(`\n${'!'.repeat(100)}\n!! ${message}\n${'!'.repeat(100)}\n`);
  return message;
}

export interface PostgresTestDatabase {
  name: string;
  url: string;
  /** A pg pool on the database, for a Kysely instance built by hand. */
  pool(options?: { max?: number }): pg.Pool;
  drop(): Promise<void>;
}

/**
 * Drops a test database once its last session has gone: a closed pool's connections may still be
 * ending on the server for a moment, and terminating them (`WITH (FORCE)`) would hand their
 * clients an error event nobody listens to any more.
 */
async function dropPostgresDatabase(name: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await postgresAdmin(`DROP DATABASE IF EXISTS "${name}"`);
      return;
    } catch (error) {
      // 55006: object_in_use, another session is still connected to it.
      if ((error as { code?: unknown }).code !== '55006' || attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** A fresh, empty database `<prefix>_<random>` on the server; `drop()` removes it. */
export async function createPostgresTestDatabase(prefix = 'portcullis_test'): Promise<PostgresTestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await postgresAdmin(`CREATE DATABASE "${name}"`);
  const { host, port, user } = POSTGRES_SERVER;
  return {
    name,
    url: `postgres://${user}@${host}:${port}/${name}`,
    pool: (options = {}) => new pg.Pool({ host, port, user, database: name, ...options }),
    drop: () => dropPostgresDatabase(name),
  };
}

/** A fresh PostgreSQL database opened with `createDatabase` and migrated, both closed and dropped at teardown. */
export async function openMigratedPostgres(
  t: { teardown(fn: () => Promise<void>): void },
  options: CreateDatabaseOptions = {},
): Promise<{ database: PostgresTestDatabase; db: Kysely<Database> }> {
  const database = await createPostgresTestDatabase();
  const db = await createDatabase(database.url, options);
  t.teardown(async () => {
    await db.destroy();
    await database.drop();
  });
  await migrate(db);
  return { database, db };
}

/** The assertion that fails a REQUIRE_POSTGRES=1 run when the server is not there. */
export const POSTGRES_REACHABLE = `PostgreSQL answers at ${POSTGRES_SERVER.host}:${POSTGRES_SERVER.port} (REQUIRE_POSTGRES=1)`;

/**
 * A test that needs PostgreSQL: skipped with a loud notice when the server does not answer, and a
 * failure instead when REQUIRE_POSTGRES=1. `body` runs only when it answers.
 */
export async function postgresTest(name: string, body: (t: Test) => Promise<void>): Promise<void> {
  const unreachable = await probePostgres();
  if (unreachable !== null && !postgresRequired) {
    t.test(name, { skip: announcePostgresSkip(unreachable) }, async () => {});
    return;
  }
  t.test(name, async (t) => {
    t.equal(unreachable, null, POSTGRES_REACHABLE);
    if (unreachable !== null) return;
    await body(t);
  });
}
