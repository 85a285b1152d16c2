import type { TargetResult } from './measure-target.js';
import type { PeerTargetId, Store } from './protocol.js';
import { computeMedian } from './stats.js';
import { formatRatio, pairRounds, throughputOf, type TargetCheck } from './targets.js';

/**
 * The peers' two scenarios, each measured against its bare-Fastify yardstick. `databaseBaseline`
 * is the same bare route doing the least database work of the scenario on each store: what any
 * server keeping its tokens there can at most reach.
 */
export const PEER_SCENARIOS = [
  { suffix: 'cc', name: 'client_credentials', baseline: 'bare-post', databaseBaseline: 'bare-db-post', least: 0.5 },
  { suffix: 'get', name: 'protected GET', baseline: 'bare-get', databaseBaseline: 'bare-db-get', least: 0.8 },
] as const;
export type PeerScenario = (typeof PEER_SCENARIOS)[number];

/** The servers other than Portcullis that a user would pick instead. */
export const PEERS = ['oidc-provider', 'oauth2-server'] as const;
/** Portcullis's stores, in the order they are measured and shown. */
export const PORTCULLIS_STORES: readonly Store[] = ['memory', 'sqlite', 'mysql', 'postgres'];
/** The stores that are databases, each with its bare yardstick. */
const DATABASE_STORES = PORTCULLIS_STORES.filter((store) => store !== 'memory');

/** How far ahead of the better peer Portcullis on its memory store must be. */
const MEMORY_LEAD = 1.3;

/** A target's key: `portcullis-cc/sqlite` for Portcullis, `oidc-provider-get` for the others. */
export function peerKey(id: PeerTargetId, store: Store | null): string {
  return store === null ? id : `${id}/${store}`;
}

/** Every target of a scenario, yardstick first, in the order they alternate within a round. */
export function listScenarioTargets(scenario: PeerScenario): { id: PeerTargetId; store: Store | null; key: string }[] {
  const ids: { id: PeerTargetId; store: Store | null }[] = [
    { id: scenario.baseline, store: null },
    ...DATABASE_STORES.map((store) => ({ id: scenario.databaseBaseline as PeerTargetId, store })),
    ...PEERS.map((peer) => ({ id: `${peer}-${scenario.suffix}` as PeerTargetId, store: null })),
    ...PORTCULLIS_STORES.map((store) => ({ id: `portcullis-${scenario.suffix}` as PeerTargetId, store })),
  ];
  return ids.map((target) => ({ ...target, key: peerKey(target.id, target.store) }));
}

/**
 * A target's throughput over its scenario's bare yardstick: the median of the per-round ratios
 * (round i against round i, seconds apart), or of the medians when the rounds do not pair. Null
 * when either did not answer as expected.
 */
export function computePeerRatio(results: readonly TargetResult[], result: TargetResult): number | null {
  const scenario = scenarioOf(result);
  const baseline = scenario && results.find((r) => r.id === scenario.baseline);
  if (!baseline?.ok || !result.ok) return null;
  return pairRounds(result, baseline, throughputOf)?.median ?? result.requestsPerSecond.median / baseline.requestsPerSecond.median;
}

function scenarioOf(result: TargetResult): PeerScenario | undefined {
  return PEER_SCENARIOS.find((s) => result.id.endsWith(`-${s.suffix}`) || result.id === s.baseline || result.id === s.databaseBaseline);
}

function find(results: readonly TargetResult[], key: string): TargetResult | undefined {
  return results.find((r) => r.key === key);
}

/** The better peer of a scenario: the higher ratio, and the lower p99, each with its name. */
function betterPeer(results: readonly TargetResult[], scenario: PeerScenario) {
  let ratio: { value: number; name: string } | null = null;
  let p99: { value: number; name: string } | null = null;
  for (const peer of PEERS) {
    const result = find(results, `${peer}-${scenario.suffix}`);
    if (!result) continue;
    const own = computePeerRatio(results, result);
    if (own !== null && (ratio === null || own > ratio.value)) ratio = { value: own, name: peer };
    const latency = result.ok ? result.latency?.p99Ms : undefined;
    if (latency !== undefined && (p99 === null || latency < p99.value)) p99 = { value: latency, name: peer };
  }
  return { ratio, p99 };
}

/**
 * The peers' targets on one run's figures: Portcullis on its memory store at least `least` of the
 * bare yardstick and MEMORY_LEAD times the better peer; on each database ahead of both peers; and
 * every Portcullis row's p99 no worse than the better peer's (all measured at one offered rate).
 * A figure that was not measured fails its check; a target that was not run is not judged.
 */
export function evaluatePeerTargets(results: readonly TargetResult[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const scenario of PEER_SCENARIOS) {
    const better = betterPeer(results, scenario);
    for (const store of PORTCULLIS_STORES) {
      const result = find(results, peerKey(`portcullis-${scenario.suffix}` as PeerTargetId, store));
      if (!result) continue;
      const ratio = computePeerRatio(results, result);
      const shown = ratio === null ? 'not measured' : `${formatRatio(ratio)} x ${scenario.baseline}`;
      if (store === 'memory') {
        checks.push({
          name: `${scenario.name} >= ${scenario.least} x ${scenario.baseline}`,
          store,
          detail: shown,
          pass: ratio !== null && ratio >= scenario.least,
        });
      }
      const lead = store === 'memory' ? MEMORY_LEAD : 1;
      const yardstick = find(results, peerKey(scenario.databaseBaseline, store));
      const yardstickRatio = yardstick === undefined ? null : computePeerRatio(results, yardstick);
      const ceiling = yardstickRatio === null ? '' : `; the bare route's own database work: ${formatRatio(yardstickRatio)}`;
      checks.push({
        name: store === 'memory' ? `${scenario.name} >= ${lead} x the better peer` : `${scenario.name} ahead of both peers`,
        store,
        detail:
          better.ratio === null
            ? 'no peer measured'
            : `${shown} vs ${formatRatio(better.ratio.value)} (${better.ratio.name})${ratio === null ? '' : `: ${formatRatio(ratio / better.ratio.value)} x`}${ceiling}`,
        pass: better.ratio === null ? null : ratio !== null && (lead === 1 ? ratio > better.ratio.value : ratio >= lead * better.ratio.value),
      });
      const p99 = result.ok ? result.latency?.p99Ms : undefined;
      checks.push({
        name: `${scenario.name} p99 <= the better peer's`,
        store,
        detail:
          better.p99 === null
            ? 'no peer measured'
            : `${p99 === undefined ? 'not measured' : `${p99.toFixed(1)} ms`} vs ${better.p99.value.toFixed(1)} ms (${better.p99.name})`,
        pass: better.p99 === null ? null : p99 !== undefined && p99 <= better.p99.value,
      });
    }
  }
  return checks;
}

const ROW_NAMES: Record<string, string> = {
  bare: 'bare Fastify',
  'bare-db': 'bare Fastify, its database work only',
  'oidc-provider': 'oidc-provider (memory adapter)',
  'oauth2-server': '@node-oauth/oauth2-server (Express, memory model)',
  portcullis: 'Portcullis',
};

/**
 * One Markdown table: a row per server, per scenario its ratio to the bare yardstick (median of
 * the paired rounds), its median requests per second and its p99 at the shared offered rate.
 */
export function renderPeerTable(results: readonly TargetResult[]): string {
  const header = ['server', 'store'];
  for (const scenario of PEER_SCENARIOS) header.push(`${scenario.name} ratio`, 'req/s', 'p99 ms');
  const rows: string[][] = [];
  const servers: { name: string; store: Store | null }[] = [
    { name: 'bare', store: null },
    ...DATABASE_STORES.map((store) => ({ name: 'bare-db', store })),
    ...PEERS.map((name) => ({ name, store: null })),
    ...PORTCULLIS_STORES.map((store) => ({ name: 'portcullis', store })),
  ];
  for (const server of servers) {
    const row = [ROW_NAMES[server.name] ?? server.name, server.name === 'bare' ? '-' : (server.store ?? 'memory')];
    let any = false;
    for (const scenario of PEER_SCENARIOS) {
      const id = server.name === 'bare' ? scenario.baseline : server.name === 'bare-db' ? scenario.databaseBaseline : `${server.name}-${scenario.suffix}`;
      const result = find(results, peerKey(id as PeerTargetId, server.store));
      if (!result) {
        row.push('', '', '');
        continue;
      }
      any = true;
      const ratio = computePeerRatio(results, result);
      row.push(
        result.ok && ratio !== null ? formatRatio(ratio) : 'failed',
        result.ok ? result.requestsPerSecond.median.toFixed(0) : '-',
        result.ok && result.latency ? result.latency.p99Ms.toFixed(1) : '-',
      );
    }
    if (any) rows.push(row);
  }
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The offered rate of each scenario's latency runs (the same for every server of it), for the table's caption. */
export function describeLatencyRates(results: readonly TargetResult[]): string {
  return PEER_SCENARIOS.map((scenario) => {
    const rates = results.filter((r) => r.latency && scenarioOf(r) === scenario);
    const rate = computeMedian(rates.map((r) => r.latency!.rate));
    return `${scenario.name} at ${Number.isFinite(rate) ? rate.toFixed(0) : '-'} req/s`;
  }).join(', ');
}

/**
 * The verdicts as one table, a row per Portcullis store and a column per target, each cell the
 * measured figures and pass or FAIL; blank where a target does not apply to that store.
 */
export function renderPeerVerdicts(checks: readonly TargetCheck[]): string {
  const names = [...new Set(checks.map((c) => c.name))];
  const stores = PORTCULLIS_STORES.filter((store) => checks.some((c) => c.store === store));
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const verdict = (pass: boolean | null): string => (pass === null ? 'n/a' : pass ? 'pass' : 'FAIL');
  return [
    line(['store', ...names]),
    line(['---', ...names.map(() => '---')]),
    ...stores.map((store) =>
      line([
        store,
        ...names.map((name) => {
          const check = checks.find((c) => c.store === store && c.name === name);
          return check ? `${check.detail}: ${verdict(check.pass)}` : '';
        }),
      ]),
    ),
  ].join('\n');
}
