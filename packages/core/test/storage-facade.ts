import type { MemoryStorage, OAuthStorage } from '../src/index.js';

type Method = keyof OAuthStorage;

/** The memory store behind a facade that counts calls: so a test sees which store calls the core made. */
export function countingFacade(inner: MemoryStorage) {
  const calls = new Map<string, number>();
  const storage = {} as Record<string, unknown>;
  const prototype = Object.getPrototypeOf(inner) as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(prototype)) {
    if (name === 'constructor' || typeof prototype[name] !== 'function') continue;
    storage[name] = (...args: unknown[]) => {
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return (prototype[name] as (...a: unknown[]) => unknown).apply(inner, args);
    };
  }
  return {
    storage: storage as unknown as OAuthStorage,
    calls,
    count: (name: Method) => calls.get(name) ?? 0,
  };
}
