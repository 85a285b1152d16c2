import type { ExchangeArgs } from './storage-statements.js';
import { TurnQueue } from './turn-queue.js';

/** Bound on the exchanges of one CALL: a larger group runs as several. */
export const MAX_EXCHANGES_PER_GROUP = 100;

/** One exchange's outcome: the row as it was found (none for an unknown digest), and whether this exchange consumed it. */
export interface ExchangeAnswer<Row> {
  row: Row | undefined;
  exchanged: boolean;
}

/** How one kind of exchange (rotating a refresh token, redeeming a code) reaches the database. */
export interface ExchangeKind<Row> {
  /** Several exchanges with distinct digests in one CALL (migration 0007): the rows found, each with `exchanged`. */
  group(exchanges: readonly ExchangeArgs[]): Promise<(Row & { digest: string; exchanged: number | string | null })[]>;
  /** One exchange alone: migration 0005's CALL. */
  alone(args: ExchangeArgs): Promise<ExchangeAnswer<Row>>;
  /** Whether a failed group is known to have changed nothing: the server refused a statement and the procedure rolled back. */
  rolledBack(error: unknown): boolean;
}

interface QueuedExchange<Row> {
  args: ExchangeArgs;
  resolve(answer: ExchangeAnswer<Row>): void;
  reject(error: unknown): void;
}

/**
 * One-step exchanges on MySQL, grouped by turn of the event loop.
 *
 * Why: a rotation or a redemption on its own is one CALL of migration 0005, and MariaDB spends
 * most of that CALL's CPU on handling its statements and its commit rather than on the rows: about
 * 450 us per exchange on two shared CPUs, four times a primary-key SELECT. The exchanges asked
 * for while the event loop serves other requests go at its next turn as one CALL of migration
 * 0007, whose set statements lock, insert and consume for the whole group in one transaction.
 * Each caller gets what 0005's CALL would have answered at that moment: the row as it was found,
 * and whether it was exchanged.
 *
 * A lone exchange still goes as 0005's CALL. A digest shown twice in one turn is exchanged at
 * most once: the first showing joins the group, the others run beside it as 0005's CALL, which
 * waits for the group's row lock and then finds the row consumed (or, if the CALL locks it first,
 * the group finds it consumed). A group the server refuses (a duplicate fresh digest, a deadlock) has been rolled
 * back by the procedure, and its exchanges run again on their own, so each caller gets its own
 * answer or its own error (a group that waited out `lockWaitTimeout` for one locked row thus
 * waits for it twice, the others once). Any other failure (a lost connection) fails the whole group: it may
 * have committed, and running it again would find its tokens consumed.
 */
export class GroupedExchange<Row> {
  readonly #kind: ExchangeKind<Row>;
  readonly #queue = new TurnQueue<QueuedExchange<Row>>((exchanges) => this.#flush(exchanges));

  constructor(kind: ExchangeKind<Row>) {
    this.#kind = kind;
  }

  /** The exchange of `args.digest`, run with the others asked for in this turn. */
  exchange(args: ExchangeArgs): Promise<ExchangeAnswer<Row>> {
    return new Promise((resolve, reject) => this.#queue.push({ args, resolve, reject }));
  }

  #flush(exchanges: QueuedExchange<Row>[]): void {
    const group: QueuedExchange<Row>[] = [];
    const repeated: QueuedExchange<Row>[] = [];
    const digests = new Set<string>();
    for (const exchange of exchanges) {
      if (digests.has(exchange.args.digest)) repeated.push(exchange);
      else {
        digests.add(exchange.args.digest);
        group.push(exchange);
      }
    }
    for (let start = 0; start < group.length; start += MAX_EXCHANGES_PER_GROUP) {
      void this.#run(group.slice(start, start + MAX_EXCHANGES_PER_GROUP));
    }
    // A repeated digest runs alone beside the group: the row lock orders the two, and the later finds it consumed.
    for (const exchange of repeated) void this.#alone(exchange);
  }

  #alone(exchange: QueuedExchange<Row>): Promise<void> {
    return this.#kind.alone(exchange.args).then(exchange.resolve, exchange.reject);
  }

  async #run(exchanges: QueuedExchange<Row>[]): Promise<void> {
    if (exchanges.length === 1) return this.#alone(exchanges[0]!);
    let rows: Awaited<ReturnType<ExchangeKind<Row>['group']>>;
    try {
      rows = await this.#kind.group(exchanges.map(({ args }) => args));
    } catch (error) {
      if (this.#kind.rolledBack(error)) await Promise.all(exchanges.map((exchange) => this.#alone(exchange)));
      else for (const exchange of exchanges) exchange.reject(error);
      return;
    }
    const found = new Map(rows.map((row) => [row.digest, row]));
    for (const exchange of exchanges) {
      const row = found.get(exchange.args.digest);
      exchange.resolve(row === undefined ? { row, exchanged: false } : { row, exchanged: Number(row.exchanged) === 1 });
    }
  }
}
