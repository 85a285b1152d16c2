import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { ServerSample } from '../protocol.js';
import { readQueryCount, readStatementCounts } from './query-counter.js';

/**
 * Measures the server process over one load window: CPU time, requests seen, statements sent,
 * event-loop delay and resident memory. The orchestrator opens and closes the window around each
 * autocannon run, so set-up work is never counted.
 */
export class ServerProbe {
  #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  #requests = 0;
  #startCpu: NodeJS.CpuUsage = process.cpuUsage();
  #startRequests = 0;
  #startQueries = 0;
  #startStatements = new Map<string, number>();

  constructor() {
    this.#histogram.enable();
  }

  /** Called from the raw HTTP server's 'request' event: cheaper than a Fastify hook. */
  countRequest(): void {
    this.#requests += 1;
  }

  begin(): number {
    // Collected before the round's clocks start, so the collection is not billed to the round.
    const rssBytes = residentAfterCollection();
    this.#histogram.reset();
    this.#startCpu = process.cpuUsage();
    this.#startRequests = this.#requests;
    this.#startQueries = readQueryCount();
    this.#startStatements = readStatementCounts();
    return rssBytes;
  }

  end(): ServerSample {
    const cpu = process.cpuUsage(this.#startCpu);
    const statements: Record<string, number> = {};
    for (const [shape, count] of readStatementCounts()) {
      const delta = count - (this.#startStatements.get(shape) ?? 0);
      if (delta > 0) statements[shape] = delta;
    }
    return {
      cpuMicros: cpu.user + cpu.system,
      requests: this.#requests - this.#startRequests,
      queries: readQueryCount() - this.#startQueries,
      statements,
      eventLoopP99Ms: this.#histogram.percentile(99) / 1e6,
      eventLoopMaxMs: this.#histogram.max / 1e6,
      // Read last, after the round's CPU time: the collection is not billed to the round.
      rssBytes: residentAfterCollection(),
    };
  }
}

/**
 * Resident memory after a full garbage collection: what the server keeps, so a growth between
 * rounds is a leak and not the moment V8 last happened to collect (without it the same code
 * measured 3% and 40% growth in consecutive runs, with a flat heap).
 */
export function residentAfterCollection(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage.rss();
}
