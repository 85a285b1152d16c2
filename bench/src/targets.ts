import type { RoundFigures, TargetResult } from './measure-target.js';
import { computeMedian, computeSpread } from './stats.js';
import type { Store, TargetId } from './protocol.js';

/** One target, evaluated on the figures of one run. */
export interface TargetCheck {
  name: string;
  store: Store | null;
  /** What was compared, in words with the numbers. */
  detail: string;
  pass: boolean | null;
}

export interface ThroughputTarget {
  /** The yardstick. */
  baseline: TargetId;
  /** The least ratio to it that the target asks for. */
  ratio: number;
  /**
   * A baseline that does only part of the scenario's work (S3 is a form POST, as B1 is; S4 and S5
   * are a form POST that writes rows, as B3 is, with one row): the scenario cannot outrun it, so
   * its ratio to the yardstick is the most the scenario could reach on this machine and store.
   */
  ceiling?: TargetId;
}

/** Each scenario's throughput target. */
export const THROUGHPUT_TARGETS: Partial<Record<TargetId, ThroughputTarget>> = {
  S1: { baseline: 'B3S', ratio: 0.75 },
  S2: { baseline: 'B2', ratio: 0.8 },
  S3: { baseline: 'B2', ratio: 0.8, ceiling: 'B1' },
  S4: { baseline: 'B2', ratio: 0.5, ceiling: 'B3' },
  S5: { baseline: 'B2', ratio: 0.5, ceiling: 'B3' },
  S6: { baseline: 'B3', ratio: 0.6 },
};

const EVENT_LOOP_LIMIT_MS = 20;
const MEMORY_GROWTH_LIMIT = 0.1;
const SCALE_P99_LIMIT = 1.2;

/**
 * A side of a scale pair, keyed by its live tokens after an `@` (`S2/mysql@1k`, `S2/postgres@1M`):
 * judged on its latency against the other side, never against a yardstick.
 */
export function isScaleSide(result: Pick<TargetResult, 'key'>): boolean {
  return result.key.includes('@');
}

export function findResult(results: readonly TargetResult[], id: TargetId, store: Store | null): TargetResult | undefined {
  // B0 and B1 touch no database: they serve both stores' comparisons.
  return results.find((r) => r.id === id && (r.store === store || r.store === null) && !isScaleSide(r));
}

/** A scenario's throughput over a yardstick's, and the least and greatest of its paired rounds. */
interface Ratio {
  baseline: string;
  ratio: number;
  rounds: { min: number; max: number } | null;
}

/**
 * The scenario's throughput over its yardstick's, when both ran: the median of the per-round
 * ratios, round i of the scenario against round i of the yardstick, which ran seconds apart
 * (measureInterleaved). Targets measured apart compare their medians instead: a partial run's,
 * and a SQLite scenario against B2/mysql, which runs in the MySQL block.
 */
export function computeRatio(
  results: readonly TargetResult[],
  result: TargetResult,
): Ratio | null {
  const baseline = findBaselineOf(results, result);
  return baseline ? ratioTo(result, baseline) : null;
}

/**
 * The store of a scenario's yardstick: its own store's, in the same block. The exception is B2 for
 * a SQLite scenario: B2 is defined as a `SELECT` through a network driver, and a
 * better-sqlite3 read by integer key costs less than any token request can, so SQLite scenarios
 * meet B2/mysql. B3 and B3S are their own store's on SQLite too (the stricter reading).
 */
function yardstickStore(rule: ThroughputTarget, result: TargetResult): Store | null {
  return rule.baseline === 'B2' && result.store === 'sqlite' ? 'mysql' : result.store;
}

function yardstickKey(rule: ThroughputTarget, result: TargetResult): string {
  const store = yardstickStore(rule, result);
  return store === null ? rule.baseline : `${rule.baseline}/${store}`;
}

/**
 * A SQLite scenario judged against B2/mysql, read against B2 on its own store too: a better-sqlite3
 * read by integer key costs a fraction of a mysql2 round trip, and less than any token request
 * can, so this ratio says what the scenario costs over a bare read on its store. It is reported
 * beside the verdict, not judged (see the README's "What is measured").
 */
export function computeRatioToOwnStoreB2(
  results: readonly TargetResult[],
  result: TargetResult,
): Ratio | null {
  if (result.store !== 'sqlite' || THROUGHPUT_TARGETS[result.id]?.baseline !== 'B2' || !result.ok) return null;
  const ownB2 = findResult(results, 'B2', 'sqlite');
  return ownB2?.ok ? ratioTo(result, ownB2) : null;
}

function ratioTo(
  result: TargetResult,
  baseline: TargetResult,
): Ratio {
  const paired = pairRounds(result, baseline, throughputOf);
  return {
    baseline: baseline.key,
    ratio: paired?.median ?? result.requestsPerSecond.median / baseline.requestsPerSecond.median,
    rounds: paired === null ? null : { min: paired.min, max: paired.max },
  };
}

/** The ceiling's throughput over the yardstick's (see `ThroughputTarget.ceiling`), when both ran. */
export function computeCeiling(results: readonly TargetResult[], result: TargetResult): { ceiling: string; ratio: number } | null {
  const ceilingId = THROUGHPUT_TARGETS[result.id]?.ceiling;
  const baseline = findBaselineOf(results, result);
  const ceiling = ceilingId === undefined ? undefined : findResult(results, ceilingId, result.store);
  if (!baseline || !ceiling?.ok) return null;
  const paired = pairRounds(ceiling, baseline, throughputOf);
  return { ceiling: ceiling.key, ratio: paired?.median ?? ceiling.requestsPerSecond.median / baseline.requestsPerSecond.median };
}

/**
 * The yardstick's CPU per request over the scenario's: the same comparison as `computeRatio`, but
 * from CPU time, which a busy machine disturbs far less than it disturbs throughput.
 */
export function computeCpuRatio(results: readonly TargetResult[], result: TargetResult): number | null {
  const baseline = findBaselineOf(results, result);
  if (!baseline) return null;
  const perRequest = (round: RoundFigures): number => round.cpuMicros / round.serverRequests;
  return (
    pairRounds(result, baseline, (scenario, yardstick) => perRequest(yardstick) / perRequest(scenario))?.median ??
    baseline.cpuMicrosPerRequest / result.cpuMicrosPerRequest
  );
}

export function throughputOf(scenario: RoundFigures, yardstick: RoundFigures): number {
  return scenario.requestsPerSecond / yardstick.requestsPerSecond;
}

function findBaselineOf(results: readonly TargetResult[], result: TargetResult): TargetResult | null {
  const rule = THROUGHPUT_TARGETS[result.id];
  if (!rule) return null;
  const baseline = findResult(results, rule.baseline, yardstickStore(rule, result));
  return baseline && baseline.ok && result.ok ? baseline : null;
}

/**
 * `compare` over rounds of the same index (median, least and greatest), or null when the rounds
 * do not pair.
 */
export function pairRounds(
  scenario: TargetResult,
  yardstick: TargetResult,
  compare: (scenario: RoundFigures, yardstick: RoundFigures) => number,
): { median: number; min: number; max: number } | null {
  if (scenario.block === null || scenario.block !== yardstick.block || scenario.rounds.length !== yardstick.rounds.length) return null;
  const ratios = scenario.rounds.map((round, index) => compare(round, yardstick.rounds[index]!));
  return { median: computeMedian(ratios), ...computeSpread(ratios) };
}

export function evaluateTargets(results: readonly TargetResult[], stores: readonly Store[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const store of stores) {
    for (const [id, rule] of Object.entries(THROUGHPUT_TARGETS) as [TargetId, ThroughputTarget][]) {
      const scenario = findResult(results, id, store);
      if (!scenario) continue;
      const name = `${id} >= ${rule.ratio} x ${rule.baseline}`;
      const own = computeRatioToOwnStoreB2(results, scenario);
      const ownB2 = own === null ? '' : `; ${formatRatio(own.ratio)} x ${own.baseline}, its own store's${formatRounds(own.rounds)}, not judged`;
      if (!findResult(results, rule.baseline, yardstickStore(rule, scenario))) {
        // A partial run (--only, --store) without the yardstick: nothing to judge.
        checks.push({ name, store, detail: `${yardstickKey(rule, scenario)} not run${ownB2}`, pass: null });
        continue;
      }
      const ratio = computeRatio(results, scenario);
      const ceiling = computeCeiling(results, scenario);
      const reach = ceiling ? `; ${ceiling.ceiling}, a part of its work, reaches ${ceiling.ratio.toFixed(2)}` : '';
      checks.push({
        name,
        store,
        detail: ratio
          ? `${formatRatio(ratio.ratio)} x ${ratio.baseline}${formatRounds(ratio.rounds)}${reach}${ownB2}`
          : `not measured (${scenario.problems[0] ?? 'baseline missing'})`,
        pass: ratio ? ratio.ratio >= rule.ratio : false,
      });
    }
    const s7 = findResult(results, 'S7', store);
    const s1 = findResult(results, 'S1', store);
    if (s7 && s1) {
      const measured = s7.ok && s1.ok;
      checks.push({
        name: 'S7 CPU/request <= S1 CPU/request',
        store,
        detail: measured ? `${s7.cpuMicrosPerRequest.toFixed(0)} us vs ${s1.cpuMicrosPerRequest.toFixed(0)} us` : 'not measured',
        pass: measured ? s7.cpuMicrosPerRequest <= s1.cpuMicrosPerRequest : false,
      });
    }
    const s8 = findResult(results, 'S8', store);
    if (s8) {
      checks.push({
        name: `S8 event-loop delay p99 < ${EVENT_LOOP_LIMIT_MS} ms`,
        store,
        detail: s8.ok ? `${s8.eventLoopP99Ms.toFixed(1)} ms at peak (worst round)` : 'not measured',
        pass: s8.ok ? s8.eventLoopP99Ms < EVENT_LOOP_LIMIT_MS : false,
      });
    }
    const memory = checkMemory(results, store);
    if (memory) checks.push(memory);
  }
  for (const store of stores) {
    const scale = checkScalePair(results, store);
    if (scale) checks.push(scale);
  }
  return checks;
}

/**
 * A store's scenarios' memory, one verdict for them all: each one's growth from after its first
 * round to after its last, judged on what the server keeps outside V8's young generation, whose
 * size follows the last window's allocation rate (probe.ts); the largest is shown, with resident
 * memory beside it, and every scenario over the line or not measured is named.
 */
function checkMemory(results: readonly TargetResult[], store: Store): TargetCheck | null {
  const scenarios = results.filter((r) => r.store === store && r.id.startsWith('S') && !isScaleSide(r));
  if (scenarios.length === 0) return null;
  const measured = scenarios
    .filter((r) => r.ok)
    .map((result) => {
      const { afterFirstRound, afterLastRound } = result.rssBytes;
      const first = afterFirstRound - (result.rounds[0]?.youngGenerationBytes ?? 0);
      const last = afterLastRound - (result.rounds.at(-1)?.youngGenerationBytes ?? 0);
      const growth = (last - first) / first;
      const figure = `${(growth * 100).toFixed(1)}% (${mib(first)} -> ${mib(last)} MiB outside the young generation; resident ${mib(afterFirstRound)} -> ${mib(afterLastRound)} MiB)`;
      return { id: result.id, growth, figure };
    })
    .sort((a, b) => b.growth - a.growth);
  const over = measured.filter((m) => !(m.growth <= MEMORY_GROWTH_LIMIT)).map((m) => m.id);
  const unmeasured = scenarios.filter((r) => !r.ok).map((r) => r.id);
  const worst = measured[0];
  const parts = [
    `${scenarios.length} scenario${scenarios.length === 1 ? '' : 's'}${worst ? `, the most: ${worst.id} ${worst.figure}` : ''}`,
    ...(over.length > 0 ? [`over 10%: ${over.join(', ')}`] : []),
    ...(unmeasured.length > 0 ? [`not measured: ${unmeasured.join(', ')}`] : []),
  ];
  return {
    name: 'memory after last round within 10% of after first',
    store,
    detail: parts.join('; '),
    pass: over.length === 0 && unmeasured.length === 0,
  };
}

/** A store's scale pair: its two S2 runs named by their live tokens (S2/mysql@1k, S2/mysql@1M). */
function checkScalePair(results: readonly TargetResult[], store: Store): TargetCheck | null {
  const pair = results.filter((r) => r.id === 'S2' && r.store === store && isScaleSide(r)).sort((a, b) => a.liveTokens - b.liveTokens);
  const small = pair[0];
  const large = pair.at(-1);
  if (!small || !large || small === large) return null;
  const measured = small.ok && large.ok && small.latency && large.latency;
  const runs = large.latencyRuns.length;
  const at = measured ? ` at ${large.latency!.rate} req/s${runs > 1 ? ` (medians of ${runs} interleaved runs)` : ''}` : '';
  return {
    name: `Scale: S2 p99 with ${large.key.split('@')[1]} live tokens within 20% of ${small.key.split('@')[1]}`,
    store,
    detail: measured ? `${large.latency!.p99Ms.toFixed(1)} ms vs ${small.latency!.p99Ms.toFixed(1)} ms${at}` : 'not measured',
    pass: measured ? large.latency!.p99Ms <= small.latency!.p99Ms * SCALE_P99_LIMIT : false,
  };
}

function formatRounds(rounds: { min: number; max: number } | null): string {
  return rounds ? ` (rounds ${rounds.min.toFixed(2)}-${rounds.max.toFixed(2)})` : '';
}

/**
 * A ratio to two decimals, rounded down: a ratio of 0.4996 against a target of 0.5 fails, and must
 * not read 0.50 beside its FAIL.
 */
export function formatRatio(ratio: number): string {
  return (Math.floor(ratio * 100) / 100).toFixed(2);
}

export function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}
