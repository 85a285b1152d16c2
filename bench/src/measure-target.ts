import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { ChildChannel } from './child-channel.js';
import { ChildChannel as Channel } from './child-channel.js';
import { buildMysqlUrl, buildPostgresUrl, resetSqliteDatabase } from './database-setup.js';
import { readPostgresCpuMicros, readProcessCpuMicros } from './process-cpu.js';
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
  /** The MySQL or PostgreSQL database it runs on, when not the run's (the scale pairs' large sides). */
  database?: string;
}

/** One fixed-rate run's latency percentiles. */
export interface LatencyFigures {
  rate: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
}

export interface RoundFigures {
  requestsPerSecond: number;
  requests: number;
  unexpected: number;
  cpuMicros: number;
  /** The part of cpuMicros the server spent off its main thread; null when unknown (not Linux). */
  offMainThreadCpuMicros: number | null;
  /** The load generator's CPU time over the round (it shares the machine's CPUs). */
  loadCpuMicros: number;
  /** The local database server's CPU time over the round; null on SQLite or when it is not local. */
  databaseCpuMicros: number | null;
  serverRequests: number;
  queries: number;
  eventLoopP99Ms: number;
  eventLoopMaxMs: number;
  rssBytes: number;
  /** Of which V8's young generation (absent from older results files). */
  youngGenerationBytes?: number;
}

export interface TargetResult {
  key: string;
  id: TargetId;
  store: Store | null;
  connections: number;
  /** Live access tokens in storage (S2 and S3; the scale pair differs only in this). */
  liveTokens: number;
  /** False when the server failed or a run got no responses or unexpected statuses. */
  ok: boolean;
  /**
   * The block it was measured in side by side, round by round (measureInterleaved), or null when
   * it ran alone: rounds of the same index in one block ran seconds apart and can be paired.
   */
  block: number | null;
  problems: string[];
  rounds: RoundFigures[];
  requestsPerSecond: { median: number; min: number; max: number };
  cpuMicrosPerRequest: number;
  /**
   * The part of cpuMicrosPerRequest off the server's main thread (NaN when unknown): the garbage
   * collector's helper threads mostly, libuv's pool for S8's hashing, SQLite's checkpointer.
   */
  offMainThreadCpuMicrosPerRequest: number;
  /**
   * What else each request cost the machine: the load generator's CPU, and the MySQL and
   * PostgreSQL targets' database server's (NaN when unknown). All three share the same CPUs, so a
   * scenario whose database work is dear is slower even when the server's own CPU is not.
   */
  loadCpuMicrosPerRequest: number;
  databaseCpuMicrosPerRequest: number;
  queriesPerRequest: number;
  /** Which statements make up queriesPerRequest, per request, most frequent first. */
  statementsPerRequest: Record<string, number>;
  /** The worst round's event-loop delay p99 at peak load, and over the fixed-rate run. */
  eventLoopP99Ms: number;
  eventLoopP99AtHalfRateMs: number;
  rssBytes: { before: number; afterFirstRound: number; afterLastRound: number };
  /** The fixed-rate runs' percentiles, each the median over `latencyRuns` when there are several. */
  latency: LatencyFigures | null;
  latencyRuns: LatencyFigures[];
  statusCodes: Record<string, number>;
}

export interface RunContext {
  options: BenchOptions;
  load: ChildChannel<ToLoad, FromLoad>;
  serverModule: string;
  /** The run's scratch directory: fixtures files and the SQLite targets' databases. */
  workDir: string;
  mysqlUrl: string;
  postgresUrl: string;
  /** The local MariaDB/MySQL server's pid, whose CPU time is read around each MySQL round. */
  databasePid: number | null;
  profileDir: string | null;
}

let nextJobId = 1;
let nextBlock = 1;
const PASSWORD_GRANT_CONNECTIONS = 8;
/** A warm-up batch shorter than this would mostly measure its own start. */
const MIN_WARMUP_BATCH_SECONDS = 0.25;

/** Targets whose credentials are single use and must be issued afresh before each run. */
const NEEDS_PREPARE: ReadonlySet<TargetId> = new Set(['S4', 'S5']);

type JobShape = Omit<LoadJob, 'id' | 'target' | 'url' | 'connections' | 'fixturesFile'>;

/**
 * One target's measurement, in steps the orchestrator can interleave with other targets' steps:
 * `start`, `warmUp`, `measureRound` (as many times as there are rounds), `measureLatency`, `stop`.
 * A step that fails marks the result not ok, and the steps after it do nothing.
 */
export class TargetRun {
  readonly result: TargetResult;
  readonly #context: RunContext;
  readonly #target: TargetDescriptor;
  readonly #connections: number;
  readonly #spec: ServerSpec;
  #server: ChildChannel<ToServer, FromServer> | null = null;
  #url = '';
  // S5's runs are bounded by their codes, sized from the fastest rate seen so far (a guess before any).
  #estimatedRate = 500;
  readonly #statementTotals = new Map<string, number>();

  constructor(context: RunContext, target: TargetDescriptor) {
    this.#context = context;
    this.#target = target;
    // Password hashing is bounded by the CPUs (libuv runs four hashes at once on two cores): more
    // clients would only queue behind them, past the end of a round, and measure the queue.
    this.#connections =
      target.id === 'S8' ? Math.min(context.options.connections, PASSWORD_GRANT_CONNECTIONS) : context.options.connections;
    const fileName = target.key.replace(/[/@]/g, '-');
    this.#spec = {
      target: target.id,
      store: target.store,
      mysqlUrl: target.database === undefined || target.store !== 'mysql' ? context.mysqlUrl : buildMysqlUrl(target.database),
      postgresUrl: target.database === undefined || target.store !== 'postgres' ? context.postgresUrl : buildPostgresUrl(target.database),
      sqlitePath: sqlitePathFor(context, target),
      fixturesFile: join(context.workDir, `fixtures-${fileName}.json`),
      connections: this.#connections,
      liveTokens: target.liveTokens ?? context.options.liveTokens,
      profileFile: context.profileDir !== null && context.options.profile ? join(context.profileDir, `${fileName}.cpuprofile`) : null,
      heapProfileFile:
        context.profileDir !== null && context.options.heapProfile ? join(context.profileDir, `${fileName}.heapprofile`) : null,
    };
    this.result = {
      key: target.key,
      id: target.id,
      store: target.store,
      connections: this.#connections,
      liveTokens: this.#spec.liveTokens,
      ok: true,
      block: null,
      problems: [],
      rounds: [],
      requestsPerSecond: { median: Number.NaN, min: Number.NaN, max: Number.NaN },
      cpuMicrosPerRequest: Number.NaN,
      offMainThreadCpuMicrosPerRequest: Number.NaN,
      loadCpuMicrosPerRequest: Number.NaN,
      databaseCpuMicrosPerRequest: Number.NaN,
      queriesPerRequest: Number.NaN,
      statementsPerRequest: {},
      eventLoopP99Ms: Number.NaN,
      eventLoopP99AtHalfRateMs: Number.NaN,
      rssBytes: { before: Number.NaN, afterFirstRound: Number.NaN, afterLastRound: Number.NaN },
      latency: null,
      latencyRuns: [],
      statusCodes: {},
    };
  }

  /** Forks the server and waits until it listens, seeded. */
  start(): Promise<void> {
    return this.#step(async () => {
      // A SQLite yardstick's rows; a scenario's store migrates its own file.
      if (this.#target.store === 'sqlite' && (this.#target.id.startsWith('B') || this.#target.id.startsWith('bare-db-'))) resetSqliteDatabase(this.#spec.sqlitePath);
      this.#server = new Channel(this.#context.serverModule, {
        env: { ...process.env, BENCH_SERVER_SPEC: JSON.stringify(this.#spec) },
        // The server collects garbage before each memory reading (see probe.ts).
        execArgv: ['--expose-gc'],
      });
      // Seeding a million tokens takes a while; anything else is up in seconds.
      const ready = await this.#server.request(null, 'ready', (this.#target.liveTokens ?? 0) > 10_000 ? 900_000 : 120_000);
      this.result.rssBytes.before = ready.rssBytes;
      this.#url = `http://127.0.0.1:${ready.port}`;
    });
  }

  /**
   * Load for the warm-up's time. A run bounded by its requests (S5's codes) can end before it (its
   * first batch is sized from a guess), so it warms in batches, each sized from the fastest rate so
   * far, until the time is spent.
   */
  warmUp(): Promise<void> {
    const seconds = this.#context.options.warmupSeconds;
    if (seconds <= 0) return Promise.resolve();
    return this.#step(async () => {
      let remaining = seconds;
      let bounded: boolean;
      do {
        const limit = this.#requestLimit(remaining, this.#estimatedRate);
        bounded = limit.maxRequests !== undefined;
        const warmup = await this.#runLoad({ duration: remaining, ...limit });
        this.#raiseEstimatedRate(warmup.requestsPerSecond);
        remaining -= warmup.durationSeconds;
      } while (bounded && remaining >= MIN_WARMUP_BATCH_SECONDS);
    });
  }

  measureRound(): Promise<void> {
    return this.#step(async () => {
      const server = this.#server!;
      const seconds = this.#context.options.roundSeconds;
      const job = { duration: seconds, ...this.#requestLimit(seconds, this.#estimatedRate) };
      await this.#prepare(job);
      await writeBackDirtyPages();
      const begun = await server.request({ type: 'begin' }, 'begun', 10_000);
      if (Number.isNaN(this.result.rssBytes.before)) this.result.rssBytes.before = begun.rssBytes;
      const databaseCpu = this.#readDatabaseCpu();
      const summary = await this.#runLoad(job, false);
      this.#raiseEstimatedRate(summary.requestsPerSecond);
      const databaseCpuAfter = this.#readDatabaseCpu();
      const sample = await server.request({ type: 'end' }, 'ended', 10_000);
      for (const [shape, count] of Object.entries(sample.statements)) {
        this.#statementTotals.set(shape, (this.#statementTotals.get(shape) ?? 0) + count);
      }
      this.result.rounds.push({
        requestsPerSecond: summary.requestsPerSecond,
        requests: summary.requests,
        unexpected: countUnexpected(this.#target, summary),
        cpuMicros: sample.cpuMicros,
        offMainThreadCpuMicros: sample.offMainThreadCpuMicros,
        loadCpuMicros: summary.cpuMicros,
        databaseCpuMicros: databaseCpu === null || databaseCpuAfter === null ? null : databaseCpuAfter - databaseCpu,
        serverRequests: sample.requests,
        queries: sample.queries,
        eventLoopP99Ms: sample.eventLoopP99Ms,
        eventLoopMaxMs: sample.eventLoopMaxMs,
        rssBytes: sample.rssBytes,
        youngGenerationBytes: sample.youngGenerationBytes,
      });
    });
  }

  /** Half the median peak of the rounds measured so far: the latency runs' offered rate. */
  halfPeakRate(): number {
    this.#summarizeRounds();
    return Math.max(1, Math.round(this.result.requestsPerSecond.median / 2));
  }

  /**
   * Latency at a fixed offered rate (half the median peak unless given), so queueing at
   * saturation does not dominate. Run again, each run is kept and the reported percentiles are
   * their medians.
   */
  measureLatency(offeredRate?: number): Promise<void> {
    return this.#step(async () => {
      const rate = offeredRate ?? this.halfPeakRate();
      if (!Number.isFinite(rate) || rate <= 1) return;
      const { options } = this.#context;
      // The smoke test only checks that a paced run answers: one request per connection.
      const limit = options.quick ? { amount: this.#connections } : this.#requestLimit(options.latencySeconds, rate);
      const job = { duration: options.latencySeconds, overallRate: rate, ...limit };
      await this.#prepare(job);
      await writeBackDirtyPages();
      await this.#server!.request({ type: 'begin' }, 'begun', 10_000);
      const fixed = await this.#runLoad(job, false);
      const sample = await this.#server!.request({ type: 'end' }, 'ended', 10_000);
      const runs = this.result.latencyRuns;
      runs.push({ rate, p50Ms: fixed.latencyP50Ms, p99Ms: fixed.latencyP99Ms, p999Ms: fixed.latencyP999Ms });
      const median = (pick: (run: LatencyFigures) => number): number => computeMedian(runs.map(pick));
      this.result.latency = { rate, p50Ms: median((r) => r.p50Ms), p99Ms: median((r) => r.p99Ms), p999Ms: median((r) => r.p999Ms) };
      // The worst run's, as for the rounds.
      const previous = this.result.eventLoopP99AtHalfRateMs;
      this.result.eventLoopP99AtHalfRateMs = runs.length === 1 ? sample.eventLoopP99Ms : Math.max(previous, sample.eventLoopP99Ms);
    });
  }

  /** Stops the server (whatever happened before) and returns the figures. */
  async stop(): Promise<TargetResult> {
    if (this.result.rounds.length > 0 && Number.isNaN(this.result.cpuMicrosPerRequest)) this.#summarizeRounds();
    if (this.#server !== null) {
      this.#server.send({ type: 'stop' });
      await this.#server.waitForExit(15_000);
    }
    return this.result;
  }

  #summarizeRounds(): void {
    const { result } = this;
    const rates = result.rounds.map((r) => r.requestsPerSecond);
    result.requestsPerSecond = { median: computeMedian(rates), ...computeSpread(rates) };
    const served = result.rounds.reduce((sum, r) => sum + r.serverRequests, 0);
    result.cpuMicrosPerRequest = result.rounds.reduce((sum, r) => sum + r.cpuMicros, 0) / served;
    result.offMainThreadCpuMicrosPerRequest = sumKnown(result.rounds.map((r) => r.offMainThreadCpuMicros)) / served;
    result.loadCpuMicrosPerRequest = result.rounds.reduce((sum, r) => sum + r.loadCpuMicros, 0) / served;
    result.databaseCpuMicrosPerRequest = sumKnown(result.rounds.map((r) => r.databaseCpuMicros)) / served;
    result.queriesPerRequest = result.rounds.reduce((sum, r) => sum + r.queries, 0) / served;
    for (const [shape, count] of [...this.#statementTotals].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
      result.statementsPerRequest[shape] = Math.round((count / served) * 1000) / 1000;
    }
    result.eventLoopP99Ms = Math.max(...result.rounds.map((r) => r.eventLoopP99Ms));
    result.rssBytes.afterFirstRound = result.rounds[0]?.rssBytes ?? Number.NaN;
    result.rssBytes.afterLastRound = result.rounds.at(-1)?.rssBytes ?? Number.NaN;
  }

  /** The local database server's CPU time so far, for a MySQL or PostgreSQL target; null otherwise. */
  #readDatabaseCpu(): number | null {
    if (this.#target.store === 'postgres') return readPostgresCpuMicros();
    const pid = this.#context.databasePid;
    return this.#target.store === 'mysql' && pid !== null ? readProcessCpuMicros(pid) : null;
  }

  async #step(work: () => Promise<void>): Promise<void> {
    if (!this.result.ok) return;
    try {
      await work();
    } catch (error) {
      this.result.ok = false;
      this.result.problems.push(error instanceof Error ? error.message : String(error));
    }
  }

  /** Issues single-use credentials before the measuring window opens, so it is never counted. */
  async #prepare(job: JobShape): Promise<void> {
    if (NEEDS_PREPARE.has(this.#target.id)) {
      // S5: one code per request; S4: fresh refresh-token chains (the count is only a floor).
      const count = job.amount ?? job.maxRequests ?? this.#connections * 2;
      await this.#server!.request({ type: 'prepare', count }, 'prepared', 300_000);
    }
  }

  async #runLoad(job: JobShape, prepare = true): Promise<LoadSummary> {
    if (prepare) await this.#prepare(job);
    const answer = await this.#context.load.request(
      {
        type: 'run',
        job: { ...job, id: nextJobId++, target: this.#target.id, url: this.#url, connections: this.#connections, fixturesFile: this.#spec.fixturesFile },
      },
      'result',
      Math.max(job.duration, 1) * 1000 + 120_000,
    );
    checkSummary(this.#target, answer.summary, this.result);
    return answer.summary;
  }

  /**
   * The smoke test counts requests instead of seconds: a few per connection, however slow the
   * target (S8 hashes passwords) or the machine, so every run gets answers to check. Otherwise a
   * run lasts its seconds, and S5's is also bounded by its codes: half as many again as the
   * fastest rate seen would use, so only a run faster than any before ends early (timed to its
   * last answer).
   */
  #requestLimit(seconds: number, rate: number): Pick<JobShape, 'amount' | 'maxRequests'> {
    if (this.#context.options.quick) return { amount: this.#connections * 4 };
    if (this.#target.id !== 'S5') return {};
    return { maxRequests: Math.max(this.#connections * 4, Math.round(seconds * rate * 1.5)) };
  }

  #raiseEstimatedRate(requestsPerSecond: number): void {
    if (Number.isFinite(requestsPerSecond)) this.#estimatedRate = Math.max(this.#estimatedRate, requestsPerSecond);
  }
}

/**
 * Writes the page cache's dirty pages out (`sync`) before a measuring window opens. A target
 * that wrote (a SQLite file, B3's rows) leaves the kernel megabytes to write back over the next
 * half minute, and the rounds of whatever ran next would pay for it.
 */
async function writeBackDirtyPages(): Promise<void> {
  await new Promise<void>((resolve) => {
    execFile('sync', () => resolve());
  });
}

/** Each SQLite target has a database file of its own: servers alive side by side share none. */
export function sqlitePathFor(context: RunContext, target: TargetDescriptor): string {
  return join(context.workDir, `${target.key.replace(/[/@]/g, '-')}.sqlite`);
}

/** One target on its own: every round of it, then its latency run. */
export async function measureTarget(context: RunContext, target: TargetDescriptor): Promise<TargetResult> {
  const run = new TargetRun(context, target);
  await run.start();
  await run.warmUp();
  for (let round = 0; round < context.options.rounds; round += 1) await run.measureRound();
  await run.measureLatency();
  return run.stop();
}

/**
 * Targets measured side by side: all servers up, then round 1 of every target (each warmed just
 * before it), then round 2 of every target in the same order, and so on. A scenario's round and its
 * yardstick's are then seconds apart, not minutes, and a slow spell of the shared host lands on
 * both: each throughput ratio is the median of the per-round ratios (see targets.ts).
 */
export interface InterleaveOptions {
  /** Measured rounds, when fewer than the run's. */
  rounds?: number;
  /** Latency runs per target, interleaved as the rounds are; the percentiles are their medians. */
  latencyRuns?: number;
  /**
   * Every target's latency runs offered one rate, so their p99s compare at one load: the first
   * target's half peak (the scale pair), or the slowest target's (the peers, whose servers differ
   * several times over in speed: half the slowest peak is a load every one of them carries).
   */
  sharedLatencyRate?: boolean | 'slowest';
}

export async function measureInterleaved(
  context: RunContext,
  targets: readonly TargetDescriptor[],
  options: InterleaveOptions = {},
): Promise<TargetResult[]> {
  const runs = targets.map((target) => new TargetRun(context, target));
  const block = nextBlock++;
  for (const run of runs) run.result.block = block;
  const rounds = Math.min(context.options.rounds, options.rounds ?? Number.POSITIVE_INFINITY);
  try {
    for (const run of runs) await run.start();
    for (let round = 0; round < rounds; round += 1) {
      // The same order every round: each target then waits the same between two of its rounds,
      // the rest of the block. Rounds in alternating directions would run the block's first and
      // last targets twice in a row at each turn, and a target just measured runs faster: an edge
      // the targets compared with it would not get.
      for (const run of runs) {
        // Warmed right before its first round, as a target measured alone is: warmed a minute
        // earlier, V8 shrinks its heap again in between, and the memory read after the first
        // round comes out low.
        if (round === 0) await run.warmUp();
        await run.measureRound();
      }
    }
    const rate =
      options.sharedLatencyRate === 'slowest'
        ? Math.min(...runs.filter((run) => run.result.ok).map((run) => run.halfPeakRate()))
        : options.sharedLatencyRate
          ? runs[0]!.halfPeakRate()
          : undefined;
    for (let latencyRun = 0; latencyRun < (options.latencyRuns ?? 1); latencyRun += 1) {
      for (const run of runs) await run.measureLatency(rate);
    }
  } finally {
    await Promise.all(runs.map((run) => run.stop()));
  }
  return runs.map((run) => run.result);
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

/** The sum of per-round figures, or NaN when any round could not read its figure. */
function sumKnown(values: readonly (number | null)[]): number {
  return values.every((value) => value !== null) ? values.reduce<number>((sum, value) => sum + value!, 0) : Number.NaN;
}
