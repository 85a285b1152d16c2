import type { CompiledQuery, Kysely, QueryResult, SqliteDatabase } from 'kysely';
import { TurnQueue } from './turn-queue.js';

/** What a statement-level operation needs: Kysely's instances and transactions all qualify. */
export interface StatementExecutor {
  executeQuery<Row>(query: CompiledQuery<Row>): Promise<QueryResult<Row>>;
}

/** The one better-sqlite3 property the direct path reads besides the statements. */
interface TransactionState {
  readonly inTransaction: boolean;
}

interface QueuedWrite {
  work: (executor: StatementExecutor) => Promise<unknown>;
  /** One statement: SQLite undoes a failed statement by itself, so it needs no savepoint. */
  singleStatement: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface QueuedRead {
  query: CompiledQuery<unknown>;
  resolve: (result: QueryResult<unknown>) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

// Kysely instances made by createDatabase, with the handle under them. A Kysely built elsewhere
// is not here, and its store keeps to Kysely's own transactions.
const handles = new WeakMap<object, { statements: SqliteDatabase; state: TransactionState }>();

export function registerSqliteHandle(db: object, statements: SqliteDatabase, state: TransactionState): void {
  handles.set(db, { statements, state });
}

/** The direct path for a Kysely instance from createDatabase on SQLite; null for any other. */
export function sqliteGroupCommitFor(db: Kysely<never>): SqliteGroupCommit | null {
  const handle = handles.get(db);
  return handle === undefined ? null : new SqliteGroupCommit(db, handle.statements, handle.state);
}

const BEGIN = 'begin immediate';
// Deferred: the read lock is taken by the first read and dropped by the commit.
const BEGIN_READS = 'begin';
const COMMIT = 'commit';
const ROLLBACK = 'rollback';
const SAVEPOINT = 'savepoint portcullis_write';
const ROLLBACK_TO_SAVEPOINT = 'rollback to portcullis_write';
const RELEASE_SAVEPOINT = 'release portcullis_write';

/**
 * Group commit for the store's writes on SQLite, and grouped reads without Kysely's connection
 * lock.
 *
 * Why: on SQLite a statement is a function call, but a COMMIT appends every page the transaction
 * dirtied to the write-ahead log (a token row touches six B-trees), and that was most of what a
 * token request cost. Writes queued while the event loop runs other requests are committed
 * together at the next turn: pages they share (the ends of the time-ordered and per-client
 * indexes) and the commit itself are paid once per group. Every write still succeeds or fails
 * alone: a failed statement is undone by SQLite, and a write of several statements that fails is
 * undone by running the group again with that write in a savepoint (`#commitGroup`). Nothing is
 * reported written before its group has committed.
 *
 * The group runs while holding Kysely's connection (its SQLite driver has one connection behind a
 * lock), so it never interleaves with a transaction Kysely has open. A write's work must only
 * call the executor it is given: its statements then run synchronously, and the whole group
 * completes within one turn of the event loop.
 *
 * Reads are grouped too, for another reason: outside a transaction every SQLite statement is a
 * read transaction of its own, and beginning and ending one takes and drops the write-ahead log's
 * read lock with two `fcntl` system calls. In a loop that is 4.6 of the 5.75 us an integer-key
 * read takes, and more in a busy server. The reads queued in one turn run together at the next,
 * in one read transaction: they see what was committed when it began, as each would have on its
 * own, and the calls are paid once per group.
 */
export class SqliteGroupCommit {
  readonly #db: Kysely<never>;
  readonly #statements: SqliteDatabase;
  readonly #state: TransactionState;
  readonly #writes = new TurnQueue<QueuedWrite>((group) => void this.#flush(group));
  readonly #reads = new TurnQueue<QueuedRead>((reads) => this.#flushReads(reads));
  readonly #executor: StatementExecutor = {
    executeQuery: <Row>(query: CompiledQuery<Row>) => Promise.resolve(this.#run(query)),
  };

  constructor(db: Kysely<never>, statements: SqliteDatabase, state: TransactionState) {
    this.#db = db;
    this.#statements = statements;
    this.#state = state;
  }

  /**
   * A read, run with the others queued in the same turn of the event loop. While a transaction
   * is open on the connection (Kysely's, awaiting between statements) it waits behind it
   * instead, so it never sees that transaction's rows.
   */
  read<Row>(query: CompiledQuery<Row>): Promise<QueryResult<Row>> {
    if (this.#state.inTransaction) return this.#db.executeQuery(query);
    return new Promise<QueryResult<Row>>((resolve, reject) => {
      this.#reads.push({ query, resolve: resolve as (result: QueryResult<unknown>) => void, reject });
    });
  }

  /** Runs the queued reads, synchronously; each answers alone, and nothing escapes to the loop. */
  #flushReads(reads: QueuedRead[]): void {
    if (this.#state.inTransaction) {
      // A Kysely transaction began since these were queued: behind it, through Kysely's lock.
      for (const read of reads) this.#db.executeQuery(read.query).then(read.resolve, read.reject);
      return;
    }
    // One read is a transaction of its own anyway.
    const grouped = reads.length > 1;
    if (grouped) {
      try {
        this.#command(BEGIN_READS);
      } catch (error) {
        // A closed database, say: every read would fail the same way.
        for (const read of reads) read.reject(error);
        return;
      }
    }
    for (const read of reads) {
      try {
        read.resolve(this.#run(read.query));
      } catch (error) {
        read.reject(error);
      }
    }
    if (grouped && this.#state.inTransaction) this.#endReads();
  }

  /** Ends a group's read transaction. The reads have their answers; the connection must not stay in it. */
  #endReads(): void {
    try {
      this.#command(COMMIT);
    } catch {
      // Nothing was written, so a failed commit loses nothing: roll back, or leave it to SQLite.
      try {
        if (this.#state.inTransaction) this.#command(ROLLBACK);
      } catch {
        // The connection is unusable (closed or failing); the next statement reports that.
      }
    }
  }

  /**
   * An atomic write, committed with the others queued in the same turn of the event loop.
   * `singleStatement`: the work runs exactly one statement, which SQLite rolls back by itself
   * when it fails (a constraint), so it skips the savepoint.
   */
  write<T>(work: (executor: StatementExecutor) => Promise<T>, options: { singleStatement?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#writes.push({ work, singleStatement: options.singleStatement === true, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  async #flush(group: QueuedWrite[]): Promise<void> {
    let outcomes: Outcome[];
    try {
      outcomes = await this.#db.connection().execute(() => this.#commitGroup(group));
    } catch (error) {
      // BEGIN or COMMIT failed (a lock held by another process past the busy timeout, a full
      // disk, a closed database): nothing of the group was written.
      for (const write of group) write.reject(error);
      return;
    }
    outcomes.forEach((outcome, index) => {
      const write = group[index]!;
      if (outcome.ok) write.resolve(outcome.value);
      else write.reject(outcome.error);
    });
  }

  /**
   * The group in one transaction. First without savepoints: they cost a statement each way, and
   * SQLite copies each page a write changes inside one to the savepoint's journal, while a write
   * of several statements almost never fails (a key clash of random tokens, a full disk). If one
   * does, its first statements may be in, so the whole group is rolled back and run again with a
   * savepoint around each such write; nothing was reported yet, and each write's work only reads
   * and writes through the executor, so running it again gives what it would have the first time.
   */
  async #commitGroup(group: QueuedWrite[]): Promise<Outcome[]> {
    return (await this.#runGroup(group, false)) ?? (await this.#runGroup(group, true))!;
  }

  /** Null when, without savepoints, a write of several statements failed: the group was rolled back. */
  async #runGroup(group: QueuedWrite[], savepoints: boolean): Promise<Outcome[] | null> {
    this.#command(BEGIN);
    const outcomes: Outcome[] = [];
    try {
      for (const write of group) {
        if (write.singleStatement || !savepoints) {
          try {
            outcomes.push({ ok: true, value: await write.work(this.#executor) });
          } catch (error) {
            if (!write.singleStatement) {
              this.#requireTransaction(error);
              this.#command(ROLLBACK);
              return null;
            }
            outcomes.push({ ok: false, error });
          }
        } else {
          this.#command(SAVEPOINT);
          try {
            const value = await write.work(this.#executor);
            this.#command(RELEASE_SAVEPOINT);
            outcomes.push({ ok: true, value });
          } catch (error) {
            this.#requireTransaction(error);
            this.#command(ROLLBACK_TO_SAVEPOINT);
            this.#command(RELEASE_SAVEPOINT);
            outcomes.push({ ok: false, error });
          }
        }
        const last = outcomes.at(-1)!;
        this.#requireTransaction(last.ok ? undefined : last.error);
      }
      this.#command(COMMIT);
    } catch (error) {
      if (this.#state.inTransaction) this.#command(ROLLBACK);
      throw error;
    }
    return outcomes;
  }

  /**
   * Some errors (I/O, out of memory) make SQLite roll the whole transaction back. The next write
   * would then run, and commit, on its own, and the group would be reported failed: stop here
   * instead, so the whole group fails and nothing of it is written.
   */
  #requireTransaction(cause: unknown): void {
    if (!this.#state.inTransaction) {
      throw new Error('SQLite rolled the group commit back', { cause });
    }
  }

  #command(sql: string): void {
    this.#statements.prepare(sql).run([]);
  }

  /** One statement, as Kysely's SQLite connection runs it. */
  #run<Row>(query: CompiledQuery<Row>): QueryResult<Row> {
    const statement = this.#statements.prepare(query.sql);
    if (statement.reader) return { rows: statement.all(query.parameters) as Row[] };
    const { changes, lastInsertRowid } = statement.run(query.parameters);
    return {
      rows: [],
      numAffectedRows: BigInt(changes),
      insertId: lastInsertRowid === undefined || lastInsertRowid === null ? undefined : BigInt(lastInsertRowid),
    };
  }
}
