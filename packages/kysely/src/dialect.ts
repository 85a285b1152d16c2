import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * A Kysely instance over any schema. Kysely's own Migrator and Migration types take
 * `Kysely<any>`: migrations run before (and regardless of) the typed `Database` interface.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyKysely = Kysely<any>;

/** What the store's SQL and the migrations may rely on, read from the instance itself. */
export interface Capabilities {
  /** `UPDATE ... RETURNING` (PostgreSQL, SQLite 3.35+): a consumed row comes back in the same statement. */
  readonly returning: boolean;
  /**
   * The upsert syntax: `ON DUPLICATE KEY UPDATE` on MySQL-compatible servers (MySQL, MariaDB,
   * TiDB, Vitess), `ON CONFLICT ... DO UPDATE` on PostgreSQL and SQLite.
   */
  readonly upsert: 'on-duplicate-key' | 'on-conflict';
  /** `CREATE TABLE ... ENGINE = ... DEFAULT CHARSET = ...` is understood (MySQL-compatible servers). */
  readonly tableOptions: boolean;
  /** A `boolean` column takes the integers 0 and 1 (MySQL's TINYINT(1), SQLite); PostgreSQL's does not. */
  readonly integerBooleans: boolean;
}

/** Thrown for a Kysely instance whose SQL is none of PostgreSQL's, MySQL's or SQLite's. */
export class UnsupportedDialectError extends TypeError {
  override name = 'UnsupportedDialectError';
}

/**
 * The one place the store's SQL differs by database, decided from what the instance's query
 * compiler writes (how it quotes an identifier and numbers a parameter) and its adapter's flags,
 * never from class identity: an application may hold its own copy of kysely, or a dialect from
 * another package, whose classes are not this package's.
 */
export function capabilitiesOf(db: AnyKysely): Capabilities {
  const adapter = db.getExecutor().adapter;
  const probe = sql`${sql.id('t')} = ${0}`.compile(db).sql;
  let grammar: 'mysql' | 'postgres' | 'sqlite';
  if (probe === '`t` = ?') grammar = 'mysql';
  else if (probe === '"t" = $1') grammar = 'postgres';
  else if (probe === '"t" = ?') grammar = 'sqlite';
  else {
    throw new UnsupportedDialectError(
      `Portcullis stores run on Kysely's PostgreSQL, MySQL and SQLite dialects (and dialects built on them); this instance compiles ${JSON.stringify(probe)}.`,
    );
  }
  return {
    returning: adapter.supportsReturning,
    upsert: grammar === 'mysql' ? 'on-duplicate-key' : 'on-conflict',
    tableOptions: grammar === 'mysql',
    integerBooleans: grammar !== 'postgres',
  };
}
