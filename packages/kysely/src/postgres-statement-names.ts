import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';

/** Enough for every statement the store runs, with room for an application's own queries. */
export const DEFAULT_NAMED_STATEMENT_LIMIT = 256;

/** What the wrapper needs of a `pg` pool client: a query by text, a named query, release. */
interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<PostgresQueryResult<unknown>>;
  query(sql: string, parameters: unknown[]): Promise<PostgresQueryResult<unknown>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  release(): void;
}

interface PgPool {
  connect(): Promise<PgClient>;
  end(): Promise<void>;
}

/**
 * A `pg` pool as Kysely's `PostgresDialect` sees it, sending each parameterized SQL text as a named
 * (server-side prepared) statement.
 *
 * Kysely's PostgreSQL driver sends every query unnamed, and PostgreSQL parses and plans an unnamed
 * statement anew each time, which costs it more than running a lookup by a unique key. `pg`
 * prepares a named statement once per connection (the Parse message) and from then on sends only
 * its values (Bind, Execute); PostgreSQL keeps the statement until the connection ends.
 *
 * - The SQL text is the statement: its name comes from the text, so one text is one statement on
 *   every connection, whatever query built it.
 * - Only statements with parameters are named: `BEGIN`, `COMMIT` and migrations' DDL go unnamed.
 * - At most `limit` texts get a name, so SQL that varies (purge's `IN` lists, listings' filters)
 *   cannot fill the server's memory; texts past the bound run unnamed.
 * - A named statement whose result columns changed under it (a migration added a column to a
 *   table an application's `SELECT *` reads) fails with SQLSTATE 0A000; its text is then never
 *   named again, so the failure happens once.
 *
 * PgBouncer before 1.21 in transaction pooling mode cannot carry named statements across server
 * connections: `createDatabase(url, { namedStatements: false })` there.
 */
export class PostgresStatementNames implements PostgresPool {
  readonly #pool: PgPool;
  readonly #limit: number;
  readonly #names = new Map<string, string>();
  /** Texts that failed as named statements, never named again. */
  readonly #unnamed = new Set<string>();
  readonly #clients = new WeakMap<PgClient, PostgresPoolClient>();

  constructor(pool: PgPool, limit = DEFAULT_NAMED_STATEMENT_LIMIT) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('The named statement limit must be a positive integer');
    this.#pool = pool;
    this.#limit = limit;
  }

  /** How many texts have a name. */
  get size(): number {
    return this.#names.size;
  }

  async connect(): Promise<PostgresPoolClient> {
    const client = await this.#pool.connect();
    let wrapped = this.#clients.get(client);
    if (wrapped === undefined) {
      wrapped = this.#wrap(client);
      this.#clients.set(client, wrapped);
    }
    return wrapped;
  }

  end(): Promise<void> {
    return this.#pool.end();
  }

  #wrap(client: PgClient): PostgresPoolClient {
    const query = (sql: string | PostgresCursor<unknown>, parameters?: ReadonlyArray<unknown>): unknown => {
      if (typeof sql !== 'string') return client.query(sql);
      const values = [...(parameters ?? [])];
      const name = values.length > 0 ? this.#nameOf(sql) : undefined;
      if (name === undefined) return client.query(sql, values);
      return client.query({ name, text: sql, values }).catch((error: unknown) => {
        if ((error as { code?: unknown } | null)?.code === '0A000') this.#forget(sql);
        throw error;
      });
    };
    return { query, release: () => client.release() } as PostgresPoolClient;
  }

  #nameOf(sql: string): string | undefined {
    const name = this.#names.get(sql);
    if (name !== undefined || this.#unnamed.has(sql)) return name;
    if (this.#names.size + this.#unnamed.size >= this.#limit) return undefined;
    // Numbered by first sighting, never reused: one name is one text on every connection.
    const created = `portcullis_${this.#names.size + this.#unnamed.size}`;
    this.#names.set(sql, created);
    return created;
  }

  #forget(sql: string): void {
    if (this.#names.delete(sql)) this.#unnamed.add(sql);
  }
}
