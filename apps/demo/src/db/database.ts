import { createDatabase } from '@portcullis/kysely';
import { sql, type Kysely } from 'kysely';
import { closeSync, openSync } from 'node:fs';
import type { DemoDatabase } from './schema.js';

export type DemoDb = Kysely<DemoDatabase>;

/**
 * One connection serves two schemas, Portcullis's and the demo's, each typed by its owner; this is
 * the untyped handle both are cast from, as Kysely's own docs do for migrations.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDb = Kysely<any>;

/**
 * Opens the database named by a URL (`sqlite:path/to/file.sqlite`, `sqlite::memory:`,
 * `mysql://user:password@host:port/database` or `postgres://user:password@host:port/database`)
 * through @portcullis/kysely, so Portcullis's tables and the demo's share one connection (one
 * database, even for `sqlite::memory:`).
 */
export async function openDatabase(url: string): Promise<AnyDb> {
  createPrivateSqliteFile(url);
  const db: AnyDb = await createDatabase(url, lockWaitOptions(url));
  // SQLite leaves foreign keys off unless asked, per connection (the demo's SQLite has one).
  if (url.startsWith('sqlite:')) await sql`PRAGMA foreign_keys = ON`.execute(db);
  return db;
}

/**
 * The SQLite file holds password hashes, sessions and token digests: it is created readable by
 * its owner only (0600), whatever the umask, before the driver opens it. SQLite gives the `-wal`
 * and `-shm` files it creates beside it the database file's permissions. An existing file keeps
 * the mode it has.
 */
function createPrivateSqliteFile(url: string): void {
  if (!url.startsWith('sqlite:') || url.startsWith('sqlite://')) return;
  const path = url.slice('sqlite:'.length);
  if (path === '' || path === ':memory:') return;
  try {
    // 'wx': create, and fail if it exists, so an existing database is never touched here.
    closeSync(openSync(path, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/**
 * MySQL and PostgreSQL: a request that would wait more than this for a row lock another connection
 * holds answers 503 and frees its pool connection, instead of queueing every later request behind
 * it (for InnoDB's default 50 s, or for ever on PostgreSQL). A `lockWaitTimeout` in the URL wins.
 */
export const DEMO_LOCK_WAIT_SECONDS = 5;

function lockWaitOptions(url: string): { lockWaitTimeout?: number } {
  if (!/^(mysql|postgres|postgresql):\/\//.test(url) || !URL.canParse(url) || new URL(url).searchParams.has('lockWaitTimeout')) return {};
  return { lockWaitTimeout: DEMO_LOCK_WAIT_SECONDS };
}

/** The same connection, typed for the demo's tables. */
export function asDemoDb(db: AnyDb): DemoDb {
  return db as DemoDb;
}
