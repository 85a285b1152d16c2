import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import pg from 'pg';
import t, { type Test } from 'tap';

/** The servers the tests use (see the repository README's test requirements). */
export const MYSQL_SERVER = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };
export const POSTGRES_SERVER = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' };

export type DatabaseKind = 'SQLite' | 'MariaDB' | 'PostgreSQL';

export interface TestDatabase {
  kind: DatabaseKind;
  /** The DATABASE_URL of a fresh, empty database of this test file's own. */
  url: string;
}

/** A root connection to MariaDB, or null when it does not answer. */
export async function connectMysqlAdmin(): Promise<Connection | null> {
  try {
    return await createConnection({ ...MYSQL_SERVER, connectTimeout: 2000 });
  } catch {
    return null;
  }
}

/** Runs `statement` on PostgreSQL's `postgres` database over a connection of its own. */
async function postgresAdmin(statement: string): Promise<void> {
  const client = new pg.Client({ ...POSTGRES_SERVER, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

async function postgresReachable(): Promise<boolean> {
  try {
    await postgresAdmin('SELECT 1');
    return true;
  } catch {
    return false;
  }
}

/** A database name no other test (of this or another checkout) uses at the same time. */
export function uniqueDatabaseName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/**
 * Drops a PostgreSQL database once the app's pool has gone: a closed pool's connections may still
 * be ending on the server for a moment (55006, object_in_use).
 */
async function dropPostgresDatabase(name: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await postgresAdmin(`DROP DATABASE IF EXISTS "${name}"`);
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== '55006' || attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** A loud notice, and a failure instead when the variable asks for the server. */
export function skipLoudly(t: Test, name: string, message: string, required: boolean): void {
  console.error(`\n${'!'.repeat(message.length)}\n${message}\n${'!'.repeat(message.length)}\n`);
  if (required) t.fail(message);
  else t.test(name, { skip: message }, async () => {});
}

/**
 * Runs `body` once per database the demo supports, each a fresh one of its own dropped at
 * teardown: a SQLite file, a MariaDB database and a PostgreSQL database. A server that does not
 * answer skips its run with a loud notice, or fails it under REQUIRE_MYSQL=1 / REQUIRE_POSTGRES=1.
 * The body tears down what it opens before the database is dropped (teardowns run last first).
 */
export async function onEachDatabase(name: string, body: (t: Test, database: TestDatabase) => Promise<void>): Promise<void> {
  t.test(`${name} (SQLite)`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-db-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    await body(t, { kind: 'SQLite', url: `sqlite:${join(dir, 'demo.sqlite')}` });
  });

  const mysqlUp = await connectMysqlAdmin().then(async (connection) => (connection ? (await connection.end(), true) : false));
  if (!mysqlUp) {
    skipLoudly(t, `${name} (MariaDB)`, 'MARIADB TESTS SKIPPED: MariaDB is not answering on 127.0.0.1:3306; set REQUIRE_MYSQL=1 to make this a failure', process.env.REQUIRE_MYSQL === '1');
  } else {
    t.test(`${name} (MariaDB)`, async (t) => {
      const database = uniqueDatabaseName('demo_test');
      const mysql = await createConnection(MYSQL_SERVER);
      await mysql.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
      t.teardown(async () => {
        await mysql.query(`DROP DATABASE IF EXISTS \`${database}\``);
        await mysql.end();
      });
      await body(t, { kind: 'MariaDB', url: `mysql://${MYSQL_SERVER.user}@${MYSQL_SERVER.host}:${MYSQL_SERVER.port}/${database}` });
    });
  }

  if (!(await postgresReachable())) {
    skipLoudly(t, `${name} (PostgreSQL)`, 'POSTGRESQL TESTS SKIPPED: PostgreSQL is not answering on 127.0.0.1:5432; set REQUIRE_POSTGRES=1 to make this a failure', process.env.REQUIRE_POSTGRES === '1');
  } else {
    t.test(`${name} (PostgreSQL)`, async (t) => {
      const database = uniqueDatabaseName('demo_test');
      await postgresAdmin(`CREATE DATABASE "${database}"`);
      t.teardown(() => dropPostgresDatabase(database));
      const { host, port, user } = POSTGRES_SERVER;
      await body(t, { kind: 'PostgreSQL', url: `postgres://${user}@${host}:${port}/${database}` });
    });
  }
}
