import type { OAuthStorage } from '../storage/port.js';
import type { StorageFixtures } from './storage-fixtures.js';

/**
 * The assertions the contract suite calls, named and shaped as node-tap's: pass tap's `t`. Any
 * runner whose test object offers these methods (an adapter over `node:test` and `node:assert`,
 * say) runs the suite too, so this entry depends on no test framework.
 */
export interface ContractTest {
  /** Runs `fn` as a named subtest; resolves when it ends. */
  test(name: string, fn: (t: ContractTest) => Promise<void>): Promise<unknown>;
  /** `found === wanted`. */
  equal(found: unknown, wanted: unknown, ...message: Message): unknown;
  /** `found !== notWanted`. */
  not(found: unknown, notWanted: unknown, ...message: Message): unknown;
  /** Deep equality, with the same prototypes. */
  strictSame(found: unknown, wanted: unknown, ...message: Message): unknown;
  /** `found` matches `pattern`: a regular expression for a string, a subset for an object. */
  match(found: unknown, pattern: unknown, ...message: Message): unknown;
  ok(value: unknown, ...message: Message): unknown;
  pass(...message: Message): unknown;
  fail(...message: Message): unknown;
  /** `promise` rejects with an error whose fields match `wanted` (as `match` does). */
  rejects(promise: Promise<unknown>, wanted: { readonly name: string }, ...message: Message): Promise<unknown>;
}

/** An assertion's optional message, as a rest tuple so that tap's own overloads accept it. */
type Message = [] | [message: string];

/** A store opened for one contract case. */
export interface StorageUnderTest {
  storage: OAuthStorage;
  /** Releases what the factory opened (a connection, a temp file). */
  close(): Promise<void>;
  /**
   * Everything the store holds, as raw as the store can give it (table rows for a database):
   * the suite asserts that no credential it created appears in it. Without it, the suite dumps
   * what the port's own list and find operations return.
   */
  dump?(): Promise<unknown>;
}

/** Opens an empty store. Called once per case, so cases never see each other's rows. */
export type StorageFactory = () => Promise<StorageUnderTest>;

export interface ContractCase {
  name: string;
  run(t: ContractTest, store: StorageUnderTest, fixtures: StorageFixtures): Promise<void>;
}

/** What stores throw when the database refuses: matched by name, so copies of core still match. */
export const STORAGE_ERROR = { name: 'StorageError' } as const;

/** Runs `count` calls at once and returns their settled results, in call order. */
export async function race<T>(count: number, call: (index: number) => Promise<T>): Promise<T[]> {
  // All promises are created before any is awaited, so a store sees them as truly concurrent.
  return Promise.all(Array.from({ length: count }, (_, index) => call(index)));
}

/**
 * Tries every change a caller could make to a record a store handed out or was handed: assigns
 * each field, pushes onto each array, sets each date. A store may hand out copies (the change
 * lands on the copy) or frozen records (the change throws a TypeError, which is swallowed here);
 * the case then reads the record again to check that the store saw none of it.
 */
export function tryToChange(record: unknown): void {
  if (typeof record !== 'object' || record === null) return;
  const fields = record as Record<string, unknown>;
  for (const [key, value] of Object.entries(fields)) {
    attempt(() => {
      if (Array.isArray(value)) value.push('changed');
      else if (value instanceof Date) value.setTime(0);
    });
    attempt(() => {
      fields[key] = typeof value === 'string' ? 'changed' : null;
    });
  }
  attempt(() => {
    fields['added'] = true;
  });
}

function attempt(change: () => void): void {
  try {
    change();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
}
