import { TurnQueue } from './turn-queue.js';

/** Bound on the items of one grouped call: a larger group runs as several. */
export const MAX_ITEMS_PER_GROUP = 100;

/** How one kind of write reaches the database: a group in one statement (a multi-row INSERT), or one item alone. */
export interface GroupedCallKind<Args, Answer> {
  /** Several items in one call; the answers in the items' order. */
  group(items: readonly Args[]): Promise<Answer[]>;
  /** One item alone: the single item's own CALL or statement. */
  alone(args: Args): Promise<Answer>;
  /** Whether a failed group is known to have changed nothing: the server refused a statement, which rolled it back. */
  rolledBack(error: unknown): boolean;
}

interface QueuedItem<Args, Answer> {
  args: Args;
  resolve(answer: Answer): void;
  reject(error: unknown): void;
}

/**
 * Writes on MySQL grouped by turn of the event loop: the lone access tokens (`saveTokens` without
 * a refresh token, one multi-row INSERT).
 *
 * Why: each of these alone is one statement and its commit, and MariaDB spends most of its CPU on
 * handling the statement and the commit rather than on the row. The items asked for while the
 * event loop serves other requests go at its next turn as one statement that writes the whole
 * group in one transaction, and each caller gets what its own call would have answered at that
 * moment.
 *
 * A lone item still goes as its own call. When the server refuses a group (a duplicate key where
 * none was expected, a deadlock), the statement has rolled it back, and its items
 * run again alone, so each caller gets its own answer or its own error (a group that waited out
 * `lockWaitTimeout` for one locked row thus waits for it twice, the others once). Any other
 * failure (a lost connection) fails the whole group: it may have committed, and running it again
 * would find its rows already written.
 */
export class GroupedCall<Args, Answer> {
  readonly #kind: GroupedCallKind<Args, Answer>;
  readonly #queue = new TurnQueue<QueuedItem<Args, Answer>>((items) => this.#flush(items));

  constructor(kind: GroupedCallKind<Args, Answer>) {
    this.#kind = kind;
  }

  /** The answer for `args`, run with the others asked for in this turn. */
  call(args: Args): Promise<Answer> {
    return new Promise((resolve, reject) => this.#queue.push({ args, resolve, reject }));
  }

  #flush(items: QueuedItem<Args, Answer>[]): void {
    for (let start = 0; start < items.length; start += MAX_ITEMS_PER_GROUP) {
      void this.#run(items.slice(start, start + MAX_ITEMS_PER_GROUP));
    }
  }

  #alone(item: QueuedItem<Args, Answer>): Promise<void> {
    return this.#kind.alone(item.args).then(item.resolve, item.reject);
  }

  async #run(items: QueuedItem<Args, Answer>[]): Promise<void> {
    if (items.length === 1) return this.#alone(items[0]!);
    let answers: Answer[];
    try {
      answers = await this.#kind.group(items.map(({ args }) => args));
    } catch (error) {
      if (this.#kind.rolledBack(error)) await Promise.all(items.map((item) => this.#alone(item)));
      else for (const item of items) item.reject(error);
      return;
    }
    items.forEach((item, index) => item.resolve(answers[index]!));
  }
}
