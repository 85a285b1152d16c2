import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';

/** The database the whole run uses on MariaDB: dropped and created afresh at each run. */
export const MYSQL_DATABASE = 'portcullis_bench';
export const MYSQL_SERVER_URL = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
/** Rows the B2 baseline looks up by primary key. */
export const BASELINE_ROWS = 1000;

/** The scale pair's large side: a database of its own, so both sides can run side by side. */
export const MYSQL_SCALE_DATABASE = 'portcullis_bench_scale';

/** PostgreSQL: the same two databases, made and dropped through the server's `postgres` database. */
export const POSTGRES_DATABASE = 'portcullis_bench';
export const POSTGRES_SCALE_DATABASE = 'portcullis_bench_scale';
export const POSTGRES_SERVER_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';

export function buildPostgresUrl(database: string = POSTGRES_DATABASE): string {
  return `${POSTGRES_SERVER_URL}/${database}`;
}

export function buildMysqlUrl(database: string = MYSQL_DATABASE): string {
  return `${MYSQL_SERVER_URL}/${database}`;
}

/** Drops database `name` and, unless `drop` only, creates it empty, in the stores' character set. */
async function replaceDatabase(connection: mysql.Connection, name: string, options: { drop?: boolean } = {}): Promise<void> {
  await connection.query(`DROP DATABASE IF EXISTS ${name}`);
  if (!options.drop) await connection.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
}

/** Drops the scale database (a million rows are hundreds of megabytes) and, unless `drop` only, creates it empty. */
export async function resetScaleDatabase(options: { drop?: boolean } = {}): Promise<void> {
  const connection = await mysql.createConnection(MYSQL_SERVER_URL);
  try {
    await replaceDatabase(connection, MYSQL_SCALE_DATABASE, options);
  } finally {
    await connection.end();
  }
}

/** Drops and recreates the bench database and the baselines' tables. */
export async function resetMysqlDatabase(): Promise<void> {
  const connection = await mysql.createConnection(MYSQL_SERVER_URL);
  try {
    await replaceDatabase(connection, MYSQL_DATABASE);
    await connection.query(`USE ${MYSQL_DATABASE}`);
    await connection.query(
      'CREATE TABLE bench_items (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, created_at DATETIME(3) NOT NULL) ENGINE=InnoDB',
    );
    // Shaped like a token row: an application-generated id, as Portcullis stores do.
    await connection.query(
      'CREATE TABLE bench_events (id VARCHAR(32) PRIMARY KEY, payload VARCHAR(255) NOT NULL, created_at DATETIME(3) NOT NULL) ENGINE=InnoDB',
    );
    const rows = Array.from({ length: BASELINE_ROWS }, (_, i) => [i + 1, `item ${i + 1}`, new Date()]);
    await connection.query('INSERT INTO bench_items (id, name, created_at) VALUES ?', [rows]);
  } finally {
    await connection.end();
  }
}

/** Runs `work` on one connection to database `name` of the PostgreSQL server. */
async function withPostgres<T>(name: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: buildPostgresUrl(name), connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Drops PostgreSQL database `name` (ending any session still on it, as a killed run leaves) and,
 * unless `drop` only, creates it empty. Run from the server's own `postgres` database.
 */
async function replacePostgresDatabase(name: string, options: { drop?: boolean } = {}): Promise<void> {
  await withPostgres('postgres', async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    if (!options.drop) await client.query(`CREATE DATABASE ${name}`);
  });
}

/** The PostgreSQL scale database: dropped and, unless `drop` only, created empty. */
export function resetPostgresScaleDatabase(options: { drop?: boolean } = {}): Promise<void> {
  return replacePostgresDatabase(POSTGRES_SCALE_DATABASE, options);
}

/** Drops and recreates the PostgreSQL bench database and the baselines' tables. */
export async function resetPostgresDatabase(): Promise<void> {
  await replacePostgresDatabase(POSTGRES_DATABASE);
  await withPostgres(POSTGRES_DATABASE, async (client) => {
    await client.query('CREATE TABLE bench_items (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, created_at TIMESTAMPTZ(3) NOT NULL)');
    await client.query(
      'CREATE TABLE bench_events (id VARCHAR(32) PRIMARY KEY, payload VARCHAR(255) NOT NULL, created_at TIMESTAMPTZ(3) NOT NULL)',
    );
    await client.query(
      `INSERT INTO bench_items (id, name, created_at) SELECT i, 'item ' || i, now() FROM generate_series(1, ${BASELINE_ROWS}) AS i`,
    );
  });
}

/** Whether PostgreSQL answers, so a run without it can skip the PostgreSQL half loudly. */
export async function checkPostgresReachable(): Promise<boolean> {
  try {
    await withPostgres('postgres', async () => {});
    return true;
  } catch {
    return false;
  }
}

/** Creates a fresh SQLite file with the baselines' tables. */
export function resetSqliteDatabase(path: string): void {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.exec('DROP TABLE IF EXISTS bench_items; DROP TABLE IF EXISTS bench_events;');
    db.exec('CREATE TABLE bench_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL)');
    db.exec('CREATE TABLE bench_events (id TEXT PRIMARY KEY, payload TEXT NOT NULL, created_at TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO bench_items (id, name, created_at) VALUES (?, ?, ?)');
    db.transaction(() => {
      for (let i = 1; i <= BASELINE_ROWS; i += 1) insert.run(i, `item ${i}`, new Date().toISOString());
    })();
  } finally {
    db.close();
  }
}

/** Whether MariaDB answers, so a run without it can skip the MySQL half loudly. */
export async function checkMysqlReachable(): Promise<boolean> {
  try {
    const connection = await mysql.createConnection({ uri: MYSQL_SERVER_URL, connectTimeout: 2000 });
    await connection.end();
    return true;
  } catch {
    return false;
  }
}
