import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { readProcessCpuMicros, readThreadCpuMicros } from '../process-cpu.js';
import type { ServerSample } from '../protocol.js';
import { readQueryCount, readStatementCounts } from './query-counter.js';

/** How often the event-loop delay timer is due. */
export const EVENT_LOOP_RESOLUTION_MS = 10;

/**
 * How late the event-loop delay timer ran, from one of the histogram's values. Node records the
 * whole interval between two runs of its timer, resolution included (an idle loop reads about
 * 10 ms at resolution 10), so the lateness is that interval less the resolution, as
 * `@fastify/under-pressure` reads it. A timer run a little early reads 0.
 */
export function eventLoopDelayMs(intervalNanos: number): number {
  return Math.max(0, intervalNanos / 1e6 - EVENT_LOOP_RESOLUTION_MS);
}

/**
 * Measures the server process over one load window: CPU time, requests seen, statements sent,
 * event-loop delay and resident memory. The orchestrator opens and closes the window around each
 * autocannon run, so set-up work is never counted.
 */
export class ServerProbe {
  #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  #requests = 0;
  #startCpu: NodeJS.CpuUsage = process.cpuUsage();
  #startOffMainThread: number | null = null;
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
    this.#startOffMainThread = readOffMainThreadCpuMicros();
    this.#startRequests = this.#requests;
    this.#startQueries = readQueryCount();
    this.#startStatements = readStatementCounts();
    return rssBytes;
  }

  end(): ServerSample {
    const cpu = process.cpuUsage(this.#startCpu);
    const offMainThread = readOffMainThreadCpuMicros();
    const statements: Record<string, number> = {};
    for (const [shape, count] of readStatementCounts()) {
      const delta = count - (this.#startStatements.get(shape) ?? 0);
      if (delta > 0) statements[shape] = delta;
    }
    return {
      cpuMicros: cpu.user + cpu.system,
      offMainThreadCpuMicros:
        offMainThread === null || this.#startOffMainThread === null ? null : offMainThread - this.#startOffMainThread,
      requests: this.#requests - this.#startRequests,
      queries: readQueryCount() - this.#startQueries,
      statements,
      eventLoopP99Ms: eventLoopDelayMs(this.#histogram.percentile(99)),
      eventLoopMaxMs: eventLoopDelayMs(this.#histogram.max),
      // Read last, after the round's CPU time: the collection is not billed to the round.
      rssBytes: residentAfterCollection(),
      youngGenerationBytes: youngGenerationBytes(),
    };
  }
}

/**
 * CPU time this process's threads other than the main one have used so far (V8's collector
 * helpers, libuv's pool, SQLite's checkpointer), from /proc; null off Linux. Both figures are read
 * from /proc, in the same clock ticks, so their difference is not skewed by two clocks.
 */
function readOffMainThreadCpuMicros(): number | null {
  const all = readProcessCpuMicros(process.pid);
  const main = readThreadCpuMicros(process.pid, process.pid);
  return all === null || main === null ? null : all - main;
}

/**
 * Resident memory after a full garbage collection: what the server keeps, so a growth between
 * rounds is a leak and not the moment V8 last happened to collect.
 */
export function residentAfterCollection(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage.rss();
}

/**
 * What V8's young generation holds resident: up to 32 MiB of scratch that it grows with the
 * allocation rate and shrinks when the process idles, and that a full collection leaves as it is.
 * Resident memory read between rounds moved by 13-16 MiB either way with it, on a flat heap. A leak
 * cannot stay there: what survives two scavenges moves to the old generation. The physical size,
 * not the committed one: a young generation just grown to 32 MiB may have touched 21-28 of them,
 * and subtracting the rest made a flat server read as grown (S2/mysql 67 -> 82 MiB, resident
 * 99 -> 98).
 */
export function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.physical_space_size ?? 0;
}
