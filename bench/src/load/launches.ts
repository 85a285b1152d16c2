import type { LoadJob } from '../protocol.js';

/** One autocannon instance of a job: its connections, their rate or count, when it starts and how long it runs. */
export interface Launch {
  connections: number;
  rate: number | undefined;
  amount: number | undefined;
  /**
   * autocannon ignores the duration of a run given an amount: a job's `maxRequests` is passed as
   * the amount, so the load child must end that run at its duration itself.
   */
  stopAtDuration: boolean;
  delayMs: number;
  duration: number;
  /**
   * autocannon ends a timed run at its next sample after the duration. Samples every 100 ms let
   * instances started off the second's boundary, or stopped by the load child, end with the job,
   * not up to a second later.
   */
  sampleIntervalMs: number;
}

/** `total` shared as evenly as whole numbers allow: the first `total % parts` shares get one more. */
function share(total: number, parts: number, index: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}

/**
 * A fixed-rate job runs as one single-connection instance per connection, started at even steps
 * across the first second (or the job, when it is shorter), all ending when the job does.
 * autocannon paces a connection by a quota per second, spent back-to-back as that connection's
 * second begins, and one instance begins every connection's second together: the server would
 * get the whole second's requests at once, then nothing, and the percentiles would measure that
 * burst rather than the rate. Staggered, each connection still sends its quota back-to-back, but
 * the bursts are spread over the second. Other jobs are one instance, as fast as the connections go.
 */
export function planLaunches(job: Pick<LoadJob, 'connections' | 'overallRate' | 'amount' | 'maxRequests' | 'duration'>): Launch[] {
  const { connections, overallRate, duration } = job;
  const amount = job.amount ?? job.maxRequests;
  const stopAtDuration = job.amount === undefined && job.maxRequests !== undefined;
  if (overallRate === undefined || connections <= 1) {
    // A run the load child stops ends at autocannon's next sample: often enough to end on time.
    const sampleIntervalMs = stopAtDuration ? 100 : 1000;
    return [{ connections, rate: overallRate, amount, stopAtDuration, delayMs: 0, duration, sampleIntervalMs }];
  }
  const parts = Math.max(1, Math.min(connections, Math.floor(overallRate), amount ?? connections));
  // A job shorter than a second (the smoke test's) spreads its starts over its own length.
  const spreadMs = Math.min(1000, duration * 1000);
  return Array.from({ length: parts }, (_, index) => {
    const delayMs = (index * spreadMs) / parts;
    return {
      connections: 1,
      rate: share(Math.floor(overallRate), parts, index),
      amount: amount === undefined ? undefined : share(amount, parts, index),
      stopAtDuration,
      delayMs,
      // Each ends with the job: its duration is what is left of the job's when it starts.
      duration: Math.max(duration - delayMs / 1000, 0.001),
      sampleIntervalMs: 100,
    };
  });
}
