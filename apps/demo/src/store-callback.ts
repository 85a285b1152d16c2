/**
 * @fastify/session's stores answer through callbacks; the demo's stores work with promises. This
 * hands a store operation's outcome to the callback exactly once.
 *
 * The callback carries the request on (the next hook, then the reply), so it can throw. Such a
 * throw belongs to the request, not to the store: it is handed to `report` and goes no further. It
 * is never given back to the callback (which would run the request's continuation twice), and
 * never left as an unhandled rejection, which stops the Node process: one request must not be
 * able to end the server.
 */
export function settleCallback<T>(
  work: Promise<T>,
  callback: (error: unknown, value?: T) => void,
  report: (error: unknown) => void,
): void {
  work.then(
    (value) => invoke(() => callback(null, value), report),
    (error: unknown) => invoke(() => callback(error), report),
  );
}

function invoke(call: () => void, report: (error: unknown) => void): void {
  try {
    call();
  } catch (error) {
    try {
      report(error);
    } catch {
      // A reporter that throws has nowhere left to report to.
    }
  }
}

/** Where a store reports a throw from its callback when it was given nowhere else. */
export function reportToStderr(error: unknown): void {
  process.stderr.write(`session store: the request failed after the store answered: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
}
