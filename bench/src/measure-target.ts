import { join } from 'node:path';
import type { ChildChannel } from './child-channel.js';
import { ChildChannel as Channel } from './child-channel.js';
import type { BenchOptions } from './options.js';
import type { FromLoad, FromServer, LoadJob, LoadSummary, ServerSpec, Store, TargetId, ToLoad, ToServer } from './protocol.js';
import { computeMedian, computeSpread } from './stats.js';

export interface TargetDescriptor {
  id: TargetId;
  store: Store | null;
  /** 'B0', 'B2/mysql', 'S1/sqlite': how the report names it. */
  key: string;
  /** S2 in the scale mode: live tokens in storage. */
  liveTokens?: number;
  /** Start from an empty MySQL database (the scale pair must not count earlier targets' rows). */
  freshDatabase?: boolean;
}

export interface RoundFigures {
  requestsPerSecond: number;
  requests: number;
  unexpected: number;
  cpuMicros: number;
  serverRequests: number;
  queries: number;
  eventLoopP99Ms: number;
  eventLoopMaxMs: number;
  rssBytes: number;
}

export interface TargetResult {
  key: string;
  id: TargetId;
  store: Store | null;
  connections: number;
  /** False when the server failed or a run got no responses or unexpected statuses. */
  ok: boolean;
  problems: string[];
  rounds: RoundFigures[];
  requestsPerSecond: { median: number; min: number; max: number };
  cpuMicrosPerRequest: number;
  queriesPerRequest: number;
  /** Which statements make up queriesPerRequest, per request, most frequent first. */
  statementsPerRequest: Record<string, number>;
  /** The worst round's event-loop delay p99 at peak load, and over the fixed-rate run. */
  eventLoopP99Ms: number;
  eventLoopP99AtHalfRateMs: number;
  rssBytes: { before: number; afterFirstRound: number; afterLastRound: number };
  latency: { rate: number; p50Ms: number; p99Ms: number; p999Ms: number } | null;
  statusCodes: Record<string, number>;
}

export interface RunContext {
  options: BenchOptions;
  load: ChildChannel<ToLoad, FromLoad>;
  serverModule: string;
  workDir: string;
  mysqlUrl: string;
  sqlitePath: string;
  profileDir: string | null;
}

let nextJobId = 1;
const PASSWORD_GRANT_CONNECTIONS = 8;

/** Targets whose credentials are single use and must be issued afresh before each run. */
const NEEDS_PREPARE: ReadonlySet<TargetId> = new Set(['S4', 'S5']);

/** Starts the target's server, drives the warm-up, the measured rounds and the fixed-rate run. */
export async function measureTarget(context: RunContext, target: TargetDescriptor): Promise<TargetResult> {
  const { options } = context;
  // Password hashing is bounded by the CPUs (libuv runs four hashes at once on two cores): more
  // clients would only queue behind them, past the end of a round, and measure the queue.
  const connections = target.id === 'S8' ? Math.min(options.connections, PASSWORD_GRANT_CONNECTIONS) : options.connections;
  const fixturesFile = join(context.workDir, `fixtures-${target.key.replace(/[/@]/g, '-')}.json`);
  const spec: ServerSpec = {
    target: target.id,
    store: target.store,
    mysqlUrl: context.mysqlUrl,
    sqlitePath: context.sqlitePath,
    fixturesFile,
    connections,
    liveTokens: target.liveTokens ?? options.liveTokens,
    profileFile:
      context.profileDir !== null
        ? join(context.profileDir, `${target.key.replace(/[/@]/g, '-')}.cpuprofile`)
        : null,
  };
  const server: ChildChannel<ToServer, FromServer> = new Channel(context.serverModule, {
    env: { ...process.env, BENCH_SERVER_SPEC: JSON.stringify(spec) },
    // The server collects garbage before each memory reading (see probe.ts).
    execArgv: ['--expose-gc'],
  });
  const result: TargetResult = {
    key: target.key,
    id: target.id,
    store: target.store,
    connections,
    ok: true,
    problems: [],
    rounds: [],
    requestsPerSecond: { median: Number.NaN, min: Number.NaN, max: Number.NaN },
    cpuMicrosPerRequest: Number.NaN,
    queriesPerRequest: Number.NaN,
    statementsPerRequest: {},
    eventLoopP99Ms: Number.NaN,
    eventLoopP99AtHalfRateMs: Number.NaN,
    rssBytes: { before: Number.NaN, afterFirstRound: Number.NaN, afterLastRound: Number.NaN },
    latency: null,
    statusCodes: {},
  };

  try {
    // Seeding a million tokens takes a while; anything else is up in seconds.
    const ready = await server.request(null, 'ready', (target.liveTokens ?? 0) > 10_000 ? 900_000 : 120_000);
    result.rssBytes.before = ready.rssBytes;
    const url = `http://127.0.0.1:${ready.port}`;

    type JobShape = Omit<LoadJob, 'id' | 'target' | 'url' | 'connections' | 'fixturesFile'>;
    // Called before the measuring window opens, so issuing credentials is never counted.
    const prepare = async (job: JobShape): Promise<void> => {
      if (NEEDS_PREPARE.has(target.id)) {
        // S5: one code per request; S4: fresh refresh-token chains (the count is only a floor).
        await server.request({ type: 'prepare', count: job.amount ?? connections * 2 }, 'prepared', 300_000);
      }
    };
    const runLoad = async (job: JobShape): Promise<LoadSummary> => {
      const answer = await context.load.request(
        { type: 'run', job: { ...job, id: nextJobId++, target: target.id, url, connections, fixturesFile } },
        'result',
        Math.max(job.duration, 1) * 1000 + 120_000,
      );
      checkSummary(target, answer.summary, result);
      return answer.summary;
    };

    // S5's runs are counted in codes, sized from the warm-up's rate (a guess when there is none).
    let estimatedRate = 500;
    // The smoke test counts requests instead of seconds: a few per connection, however slow the
    // target (S8 hashes passwords) or the machine, so every run gets answers to check.
    const amountFor = (seconds: number, rate: number): number | undefined => {
      if (options.quick) return connections * 4;
      // Half as many again: a round that outruns the estimate ends early, timed to its last answer.
      return target.id === 'S5' ? Math.max(connections * 4, Math.round(seconds * rate * 1.5)) : undefined;
    };

    if (options.warmupSeconds > 0) {
      const job = { duration: options.warmupSeconds, amount: amountFor(options.warmupSeconds, estimatedRate) };
      await prepare(job);
      const warmup = await runLoad(job);
      estimatedRate = Math.max(warmup.requestsPerSecond, 50);
    }

    const statementTotals = new Map<string, number>();
    for (let round = 0; round < options.rounds; round += 1) {
      const job = { duration: options.roundSeconds, amount: amountFor(options.roundSeconds, estimatedRate) };
      await prepare(job);
      const begun = await server.request({ type: 'begin' }, 'begun', 10_000);
      if (round === 0 && Number.isNaN(result.rssBytes.before)) result.rssBytes.before = begun.rssBytes;
      const summary = await runLoad(job);
      const sample = await server.request({ type: 'end' }, 'ended', 10_000);
      for (const [shape, count] of Object.entries(sample.statements)) statementTotals.set(shape, (statementTotals.get(shape) ?? 0) + count);
      result.rounds.push({
        requestsPerSecond: summary.requestsPerSecond,
        requests: summary.requests,
        unexpected: countUnexpected(target, summary),
        cpuMicros: sample.cpuMicros,
        serverRequests: sample.requests,
        queries: sample.queries,
        eventLoopP99Ms: sample.eventLoopP99Ms,
        eventLoopMaxMs: sample.eventLoopMaxMs,
        rssBytes: sample.rssBytes,
      });
    }

    const rates = result.rounds.map((r) => r.requestsPerSecond);
    const spread = computeSpread(rates);
    result.requestsPerSecond = { median: computeMedian(rates), ...spread };
    const served = result.rounds.reduce((sum, r) => sum + r.serverRequests, 0);
    result.cpuMicrosPerRequest = result.rounds.reduce((sum, r) => sum + r.cpuMicros, 0) / served;
    result.queriesPerRequest = result.rounds.reduce((sum, r) => sum + r.queries, 0) / served;
    for (const [shape, count] of [...statementTotals].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
      result.statementsPerRequest[shape] = Math.round((count / served) * 1000) / 1000;
    }
    result.eventLoopP99Ms = Math.max(...result.rounds.map((r) => r.eventLoopP99Ms));
    result.rssBytes.afterFirstRound = result.rounds[0]?.rssBytes ?? Number.NaN;
    result.rssBytes.afterLastRound = result.rounds.at(-1)?.rssBytes ?? Number.NaN;

    // Latency at half the peak: a fixed offered rate, so queueing at saturation does not dominate.
    const rate = Math.max(1, Math.round(result.requestsPerSecond.median / 2));
    if (Number.isFinite(rate) && rate > 1) {
      // The smoke test only checks that a paced run answers: one request per connection.
      const amount = options.quick ? connections : amountFor(options.latencySeconds, rate);
      const job = { duration: options.latencySeconds, overallRate: rate, amount };
      await prepare(job);
      await server.request({ type: 'begin' }, 'begun', 10_000);
      const fixed = await runLoad(job);
      const sample = await server.request({ type: 'end' }, 'ended', 10_000);
      result.latency = { rate, p50Ms: fixed.latencyP50Ms, p99Ms: fixed.latencyP99Ms, p999Ms: fixed.latencyP999Ms };
      result.eventLoopP99AtHalfRateMs = sample.eventLoopP99Ms;
    }
  } catch (error) {
    result.ok = false;
    result.problems.push(error instanceof Error ? error.message : String(error));
  } finally {
    server.send({ type: 'stop' });
    await server.waitForExit(15_000);
  }
  return result;
}

function countUnexpected(target: TargetDescriptor, summary: LoadSummary): number {
  if (target.id === 'S7') return summary.requests - (summary.statusCodes['401'] ?? 0) + summary.errors;
  return summary.statusNon2xx + summary.errors;
}

function checkSummary(target: TargetDescriptor, summary: LoadSummary, result: TargetResult): void {
  for (const [status, count] of Object.entries(summary.statusCodes)) {
    result.statusCodes[status] = (result.statusCodes[status] ?? 0) + count;
  }
  if (summary.requests === 0) {
    result.ok = false;
    result.problems.push(`no responses (${summary.errors} errors, ${summary.timeouts} timeouts)`);
    return;
  }
  const unexpected = countUnexpected(target, summary);
  if (unexpected > 0) {
    result.ok = false;
    const expected = target.id === 'S7' ? '401' : '2xx';
    result.problems.push(
      `${unexpected} of ${summary.requests} responses were not ${expected} (${summary.errors} errors); e.g. ${summary.sampleFailure ?? 'none kept'}`,
    );
  }
}
