import { TurnQueue } from './turn-queue.js';

/** Bound on the items of one grouped call: a larger group runs as several. */
export const MAX_ITEMS_PER_GROUP = 100;

/** How one kind of write reaches the database: a group in one call (a CALL or a multi-row INSERT), or one item alone. */
export interface GroupedCallKind<Args, Answer> {
  /** Several items in one call; the answers in the items' order. */
  group(items: readonly Args[]): Promise<Answer[]>;
  /** One item alone: the single item's own CALL or statement. */
  alone(args: Args): Promise<Answer>;
  /** Whether a failed group is known to have changed nothing: the server refused a statement, which rolled it back. */
  rolledBack(error: unknown): boolean;
  /** Items whose key is already in a group go alone beside it (the group's procedure takes distinct keys). */
  keyOf?(args: Args): string;
}

interface QueuedItem<Args, Answer> {
  args: Args;
  resolve(answer: Answer): void;
  reject(error: unknown): void;
}

/**
 * Writes on MySQL grouped by turn of the event loop: the one-step exchanges (migration 0007),
 * the OAuth 1.0a token lookups recording a nonce (0008) and the lone access tokens
 * (`saveTokens` without a refresh token, one multi-row INSERT).
 *
 * Why: each of these alone is one CALL or statement, and MariaDB spends most of its CPU on
 * handling the statements and the commit rather than on the rows: a rotation alone cost it about
 * 450 us on two shared CPUs, four times a primary-key SELECT. The items asked for while the event
 * loop serves other requests go at its next turn as one CALL (or one INSERT) that does the whole
 * group in one transaction, and each caller gets what its own call would have answered at that
 * moment.
 *
 * A lone item still goes as its own call. When the server refuses a group (a duplicate key where
 * none was expected, a deadlock), the procedure or statement has rolled it back, and its items
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
    const keyOf = this.#kind.keyOf;
    let group = items;
    const repeated: QueuedItem<Args, Answer>[] = [];
    if (keyOf !== undefined) {
      group = [];
      const keys = new Set<string>();
      for (const item of items) {
        const key = keyOf(item.args);
        if (keys.has(key)) repeated.push(item);
        else {
          keys.add(key);
          group.push(item);
        }
      }
    }
    for (let start = 0; start < group.length; start += MAX_ITEMS_PER_GROUP) {
      void this.#run(group.slice(start, start + MAX_ITEMS_PER_GROUP));
    }
    // A repeated key runs alone beside the group: the row lock orders the two.
    for (const item of repeated) void this.#alone(item);
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
