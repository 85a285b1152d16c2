/**
 * At most `limit` tasks at once, the rest started in arrival order as slots free up. A finishing
 * task hands its slot straight to the next waiter, so a newcomer can never slip in between and
 * push the count past the limit.
 */
export function createConcurrencyGate(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('a concurrency limit is a whole number, 1 or more');
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running < limit) running += 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  };
}
