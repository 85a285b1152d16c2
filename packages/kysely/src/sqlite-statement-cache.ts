import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Enough for every statement the store runs, with room for an application's own queries. */
export const DEFAULT_STATEMENT_CACHE_SIZE = 256;

/**
 * A better-sqlite3 handle as Kysely's `SqliteDialect` sees it, preparing each SQL text once.
 *
 * Kysely's SqliteDriver calls `prepare(sql)` for every query, and preparing (SQLite parsing and
 * planning the text, better-sqlite3 building a Statement) costs more than running a lookup. A
 * better-sqlite3 Statement runs any number of times with new parameters, and Kysely's connection
 * mutex lets one query run at a time (a stream holds it until it ends), so one Statement per SQL
 * text is safe. The bound keeps SQL that varies (purge's `IN` lists, listings' filters) from
 * growing the cache forever: past it the least recently used Statement goes.
 *
 * `new Kysely({ dialect: new SqliteDialect({ database: new SqliteStatementCache(handle) }) })`
 */
export class SqliteStatementCache implements SqliteDatabase {
  readonly #database: SqliteDatabase;
  readonly #limit: number;
  // A Map iterates in insertion order: re-inserting on a hit keeps the least recently used first.
  readonly #statements = new Map<string, SqliteStatement>();

  constructor(database: SqliteDatabase, limit = DEFAULT_STATEMENT_CACHE_SIZE) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('The statement cache size must be a positive integer');
    this.#database = database;
    this.#limit = limit;
  }

  /** How many Statements are held. */
  get size(): number {
    return this.#statements.size;
  }

  prepare(sql: string): SqliteStatement {
    const cached = this.#statements.get(sql);
    if (cached !== undefined) {
      this.#statements.delete(sql);
      this.#statements.set(sql, cached);
      return cached;
    }
    // A failing prepare (bad SQL, a closed handle) throws here and caches nothing.
    const statement = this.#database.prepare(sql);
    this.#statements.set(sql, statement);
    if (this.#statements.size > this.#limit) {
      const oldest = this.#statements.keys().next().value as string;
      this.#statements.delete(oldest);
    }
    return statement;
  }

  close(): void {
    this.#statements.clear();
    this.#database.close();
  }
}
