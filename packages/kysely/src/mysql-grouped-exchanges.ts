import type { CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { Database, NewAccessTokenRow, NewRefreshTokenRow } from './database.js';
import type { PreparedStatement } from './prepared-statement.js';
import type { ExchangeArgs, KeyAt } from './storage-statements.js';
import { TurnQueue } from './turn-queue.js';

/** Bound on the exchanges of one transaction: a larger group runs as several. */
export const MAX_EXCHANGES_PER_GROUP = 100;

/** What a code or refresh token row holds that an exchange reads: the decision's columns, and the grant the fresh tokens inherit. */
export interface ExchangeableRow {
  id: string;
  digest: string;
  client_id: string;
  user_id: string | null;
  scope: string;
  family_id: string;
  expires_at: number | string;
  consumed_at: number | string | null;
}

/** One exchange's outcome: the row as it was found (none for an unknown digest), and whether this exchange consumed it. */
export interface ExchangeAnswer<Row> {
  row: Row | undefined;
  exchanged: boolean;
}

/** The statements and decisions of one kind of exchange: rotating a refresh token, or redeeming a code. */
export interface ExchangeKind<Row extends ExchangeableRow> {
  /** `SELECT * ... WHERE digest IN (...) FOR UPDATE`, for a count of digests. */
  lock(count: number): PreparedStatement<readonly string[], Row>;
  /** Migration 0005's conditions beyond client, consumption and expiry: a refresh token's revocation; a code's redirect URI and challenge. */
  matches(row: Row, args: ExchangeArgs): boolean;
  /** `UPDATE ... SET consumed_at = CASE id ... END WHERE id IN (...)`, for a count of rows. */
  consume(count: number): PreparedStatement<readonly KeyAt[]>;
  /** The exchange on its own: the procedure's CALL, one round trip. */
  alone(args: ExchangeArgs): Promise<ExchangeAnswer<Row>>;
}

/** The fresh tokens' multi-row inserts, which both kinds share, for a count of rows. */
export interface ExchangeWrites {
  insertAccessTokens(count: number): PreparedStatement<readonly NewAccessTokenRow[]>;
  insertRefreshTokens(count: number): PreparedStatement<readonly NewRefreshTokenRow[]>;
}

interface QueuedExchange<Row> {
  args: ExchangeArgs;
  resolve(answer: ExchangeAnswer<Row>): void;
  reject(error: unknown): void;
}

/**
 * One-step exchanges on MySQL, grouped by turn of the event loop.
 *
 * Why: a rotation or a redemption on its own is one CALL (migration 0005), and MariaDB spends
 * most of that CALL's CPU on handling five statements and a commit rather than on the rows: about
 * 450 us per exchange on two shared CPUs, four times a primary-key SELECT. The exchanges asked
 * for while the event loop serves other requests go at its next turn as one transaction of set
 * statements: the rows locked by digest (`SELECT ... IN (...) FOR UPDATE`), the fresh tokens
 * inserted in one multi-row INSERT per table, the rows consumed in one UPDATE, one COMMIT. Each
 * caller gets what the CALL would have answered at that moment: the row as it was found, and
 * whether it was exchanged, decided in the same terms as the procedure's.
 *
 * A lone exchange still goes as the CALL. A digest shown twice in one turn is exchanged at most
 * once: the first showing joins the group, the others run after it, on their own, and find it
 * consumed. A group whose statements fail (a duplicate fresh digest, a deadlock) is rolled back
 * and its exchanges run again on their own, so each caller gets its own answer or its own error;
 * a failed COMMIT fails them all, since it may have committed.
 */
export class GroupedExchange<Row extends ExchangeableRow> {
  readonly #db: Kysely<Database>;
  readonly #kind: ExchangeKind<Row>;
  readonly #writes: ExchangeWrites;
  readonly #queue = new TurnQueue<QueuedExchange<Row>>((exchanges) => this.#flush(exchanges));

  constructor(db: Kysely<Database>, kind: ExchangeKind<Row>, writes: ExchangeWrites) {
    this.#db = db;
    this.#kind = kind;
    this.#writes = writes;
  }

  /** The exchange of `args.digest`, run with the others asked for in this turn. */
  exchange(args: ExchangeArgs): Promise<ExchangeAnswer<Row>> {
    return new Promise((resolve, reject) => this.#queue.push({ args, resolve, reject }));
  }

  #flush(exchanges: QueuedExchange<Row>[]): void {
    const first: QueuedExchange<Row>[] = [];
    const again: QueuedExchange<Row>[] = [];
    const digests = new Set<string>();
    for (const exchange of exchanges) {
      if (digests.has(exchange.args.digest)) again.push(exchange);
      else {
        digests.add(exchange.args.digest);
        first.push(exchange);
      }
    }
    const groups: Promise<void>[] = [];
    for (let start = 0; start < first.length; start += MAX_EXCHANGES_PER_GROUP) {
      groups.push(this.#run(first.slice(start, start + MAX_EXCHANGES_PER_GROUP)));
    }
    if (again.length > 0) void Promise.all(groups).then(() => again.forEach((exchange) => this.#alone(exchange)));
  }

  #alone(exchange: QueuedExchange<Row>): Promise<void> {
    return this.#kind.alone(exchange.args).then(exchange.resolve, exchange.reject);
  }

  async #run(exchanges: QueuedExchange<Row>[]): Promise<void> {
    if (exchanges.length === 1) return this.#alone(exchanges[0]!);
    let committing = false;
    let answers: ExchangeAnswer<Row>[];
    try {
      answers = await this.#db.transaction().execute(async (trx) => {
        const decided = await this.#decide(exchanges, (query) => trx.executeQuery(query));
        committing = true;
        return decided;
      });
    } catch (error) {
      if (committing) {
        for (const exchange of exchanges) exchange.reject(error);
        return;
      }
      await Promise.all(exchanges.map((exchange) => this.#alone(exchange)));
      return;
    }
    exchanges.forEach((exchange, index) => exchange.resolve(answers[index]!));
  }

  /** Inside the group's transaction: lock, decide, write. */
  async #decide(
    exchanges: QueuedExchange<Row>[],
    execute: <R>(query: CompiledQuery<R>) => Promise<QueryResult<R>>,
  ): Promise<ExchangeAnswer<Row>[]> {
    const locked = await execute(this.#kind.lock(exchanges.length).compile(exchanges.map(({ args }) => args.digest)));
    const rows = new Map(locked.rows.map((row) => [row.digest, row]));
    const access: NewAccessTokenRow[] = [];
    const refresh: NewRefreshTokenRow[] = [];
    const consumed: KeyAt[] = [];
    const answers = exchanges.map(({ args }): ExchangeAnswer<Row> => {
      const row = rows.get(args.digest);
      if (row === undefined) return { row, exchanged: false };
      const exchanged =
        row.client_id === args.clientId && row.consumed_at === null && Number(row.expires_at) > args.now && this.#kind.matches(row, args);
      if (exchanged) {
        // The fresh tokens take the grant's client, user, scope and family, as the procedure's inserts do.
        const grant = { client_id: row.client_id, user_id: row.user_id, scope: row.scope, family_id: row.family_id };
        access.push({ ...args.access, ...grant, revoked_at: null });
        if (args.refresh !== null) refresh.push({ ...args.refresh, ...grant, consumed_at: null, revoked_at: null });
        consumed.push({ key: row.id, now: args.now });
      }
      return { row, exchanged };
    });
    if (consumed.length > 0) {
      await execute(this.#writes.insertAccessTokens(access.length).compile(access));
      if (refresh.length > 0) await execute(this.#writes.insertRefreshTokens(refresh.length).compile(refresh));
      await execute(this.#kind.consume(consumed.length).compile(consumed));
    }
    return answers;
  }
}
