import type { Kysely } from 'kysely';

/**
 * Where the demo's SQL differs between SQLite, MySQL/MariaDB and PostgreSQL at run time, decided
 * here by capability, from the connection itself, so any Kysely instance works. (The schema's one
 * difference, how a table numbers its rows, is decided in migrations.ts, which stays
 * self-contained.)
 */

/**
 * Whether `INSERT ... RETURNING` is available (PostgreSQL, SQLite), per Kysely's adapter; MySQL
 * reports the new row's number as `insertId` instead, and PostgreSQL reports none.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function supportsReturning(db: Kysely<any>): boolean {
  return db.getExecutor().adapter.supportsReturning;
}

/** SQLite's, MySQL/MariaDB's and PostgreSQL's (23505, unique_violation) duplicate-key errors. */
const DUPLICATE_KEY_CODES = new Set(['SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE', 'ER_DUP_ENTRY', '23505']);

/** The insert broke a primary key or unique constraint. */
export function isDuplicateKey(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && DUPLICATE_KEY_CODES.has(code);
}
