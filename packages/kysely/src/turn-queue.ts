/**
 * Items gathered while the event loop serves other work, handed over together at its next turn
 * (`setImmediate`): what SQLite's group commit and grouped reads, and MySQL's grouped lookups
 * and grouped calls, each collect into one transaction, statement or CALL.
 */
export class TurnQueue<T> {
  readonly #flush: (items: T[]) => void;
  #items: T[] = [];
  #scheduled = false;

  constructor(flush: (items: T[]) => void) {
    this.#flush = flush;
  }

  push(item: T): void {
    this.#items.push(item);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      const items = this.#items;
      this.#items = [];
      this.#scheduled = false;
      this.#flush(items);
    });
  }
}
