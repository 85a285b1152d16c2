import type { CompiledQuery, QueryResult } from 'kysely';
import type { PreparedStatement } from './prepared-statement.js';
import { TurnQueue } from './turn-queue.js';

/** Bound on the keys of one `IN (...)`: a larger group runs as several statements. */
export const MAX_KEYS_PER_LOOKUP = 100;

interface Waiter<Row> {
  resolve(row: Row | undefined): void;
  reject(error: unknown): void;
}

interface QueuedLookup<Row> {
  key: string;
  waiter: Waiter<Row>;
}

/**
 * Lookups by a unique key on MySQL, grouped by turn of the event loop.
 *
 * Why: on MySQL every statement is a round trip, and MariaDB spends about as much CPU on a
 * statement's parsing, opening and network handling as on finding its row (a primary-key SELECT
 * costs it about 100 us on two shared CPUs). The keys looked up while the event loop serves
 * other requests go at its next turn as one `SELECT ... WHERE key IN (...)`, and each caller gets
 * the row with its key, or none: the same answer the lookup on its own would have given at that
 * moment. The key columns are compared in the tables' binary collation, so a row is matched back
 * to its key by exact string equality, as MySQL matched it.
 */
export class GroupedLookup<Row> {
  readonly #execute: (query: CompiledQuery<Row>) => Promise<QueryResult<Row>>;
  readonly #statementFor: (count: number) => PreparedStatement<readonly string[], Row>;
  readonly #keyOf: (row: Row) => string;
  readonly #queue = new TurnQueue<QueuedLookup<Row>>((lookups) => this.#flush(lookups));

  constructor(
    execute: (query: CompiledQuery<Row>) => Promise<QueryResult<Row>>,
    statementFor: (count: number) => PreparedStatement<readonly string[], Row>,
    keyOf: (row: Row) => string,
  ) {
    this.#execute = execute;
    this.#statementFor = statementFor;
    this.#keyOf = keyOf;
  }

  /** The row with `key`, looked up with the others asked for in this turn. */
  find(key: string): Promise<Row | undefined> {
    return new Promise((resolve, reject) => this.#queue.push({ key, waiter: { resolve, reject } }));
  }

  #flush(lookups: QueuedLookup<Row>[]): void {
    // The same key twice in one turn is asked for once.
    const pending = new Map<string, Waiter<Row>[]>();
    for (const { key, waiter } of lookups) {
      const waiters = pending.get(key);
      if (waiters === undefined) pending.set(key, [waiter]);
      else waiters.push(waiter);
    }
    const keys = [...pending.keys()];
    for (let start = 0; start < keys.length; start += MAX_KEYS_PER_LOOKUP) {
      const chunk = keys.slice(start, start + MAX_KEYS_PER_LOOKUP);
      const answer = (settle: (waiter: Waiter<Row>, key: string) => void): void => {
        for (const key of chunk) for (const waiter of pending.get(key)!) settle(waiter, key);
      };
      let query: CompiledQuery<Row>;
      try {
        query = this.#statementFor(chunk.length).compile(chunk);
      } catch (error) {
        answer((waiter) => waiter.reject(error));
        continue;
      }
      this.#execute(query).then(
        (result) => {
          const rows = new Map(result.rows.map((row) => [this.#keyOf(row), row]));
          answer((waiter, key) => waiter.resolve(rows.get(key)));
        },
        // A failed statement (a lost connection, say) fails every lookup it carried.
        (error: unknown) => answer((waiter) => waiter.reject(error)),
      );
    }
  }
}
