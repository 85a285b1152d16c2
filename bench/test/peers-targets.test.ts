import { test } from 'tap';
import type { RoundFigures, TargetResult } from '../src/measure-target.js';
import { parsePeerOptions } from '../src/options.js';
import {
  computePeerRatio,
  evaluatePeerTargets,
  listScenarioTargets,
  PEER_SCENARIOS,
  renderPeerTable,
  renderPeerVerdicts,
} from '../src/peers-targets.js';
import { buildRequestPlan } from '../src/load/request-plans.js';
import type { PeerTargetId, Store } from '../src/protocol.js';

/** A peer target's result: one round per rate, all in block 1, with `p99` at the shared rate. */
function result(id: PeerTargetId, store: Store | null, rates: number[], p99: number, ok = true): TargetResult {
  const rounds = rates.map(
    (rate): RoundFigures => ({
      requestsPerSecond: rate,
      requests: rate * 3,
      unexpected: 0,
      cpuMicros: 100 * rate * 3,
      offMainThreadCpuMicros: 0,
      loadCpuMicros: 0,
      databaseCpuMicros: null,
      serverRequests: rate * 3,
      queries: 0,
      eventLoopP99Ms: 10,
      eventLoopMaxMs: 20,
      rssBytes: 0,
    }),
  );
  const sorted = [...rates].sort((a, b) => a - b);
  return {
    key: store === null ? id : `${id}/${store}`,
    id,
    store,
    connections: 50,
    liveTokens: 500,
    ok,
    block: 1,
    problems: ok ? [] : ['no responses'],
    rounds,
    requestsPerSecond: { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted.at(-1)! },
    cpuMicrosPerRequest: 100,
    offMainThreadCpuMicrosPerRequest: 0,
    loadCpuMicrosPerRequest: 0,
    databaseCpuMicrosPerRequest: Number.NaN,
    queriesPerRequest: 0,
    statementsPerRequest: {},
    eventLoopP99Ms: 10,
    eventLoopP99AtHalfRateMs: 5,
    rssBytes: { before: 0, afterFirstRound: 0, afterLastRound: 0 },
    latency: { rate: 1000, p50Ms: p99 / 2, p99Ms: p99, p999Ms: p99 * 2 },
    latencyRuns: [],
    statusCodes: { '200': 100 },
  };
}

/** A client_credentials block: bare at 10000 req/s in each of three rounds, the rest as given. */
function ccBlock(portcullis: Partial<Record<Store, [number, number]>>): TargetResult[] {
  return [
    result('bare-post', null, [10000, 10000, 10000], 5),
    result('oidc-provider-cc', null, [2000, 2000, 2000], 20),
    result('oauth2-server-cc', null, [3000, 3000, 3000], 15),
    ...Object.entries(portcullis).map(([store, [rate, p99]]) => result('portcullis-cc', store as Store, [rate, rate, rate], p99)),
  ];
}

test('a ratio is the median of the rounds paired with the bare yardstick of its scenario', async (t) => {
  const bare = result('bare-get', null, [10000, 5000, 10000], 5);
  // Round 2 ran in a slow spell of the host that hit both: the paired median still reads 0.8.
  const portcullis = result('portcullis-get', 'memory', [8000, 4000, 7000], 5);
  t.equal(computePeerRatio([bare, portcullis], portcullis), 0.8);
  t.equal(computePeerRatio([bare, portcullis], bare), 1);
  t.equal(computePeerRatio([portcullis], portcullis), null, 'no yardstick, no ratio');
  const failed = result('portcullis-get', 'sqlite', [1, 1, 1], 5, false);
  t.equal(computePeerRatio([bare, failed], failed), null, 'a failed target has no ratio');
  // A client_credentials target is never read against the GET yardstick.
  const cc = result('portcullis-cc', 'memory', [5000, 5000, 5000], 5);
  t.equal(computePeerRatio([bare, cc], cc), null);
});

test('the memory store passes at 0.5 of bare and 1.3 x the better peer, and each database ahead of both peers', async (t) => {
  const checks = evaluatePeerTargets(ccBlock({ memory: [5000, 10], sqlite: [3100, 12], mysql: [3000, 14] }));
  const verdict = (store: Store, name: string): boolean | null | undefined =>
    checks.find((c) => c.store === store && c.name.includes(name))?.pass;
  t.equal(verdict('memory', '>= 0.5 x bare-post'), true);
  // The better peer reaches 0.30: 0.50 is 1.67 x it.
  t.equal(verdict('memory', '1.3 x the better peer'), true);
  t.match(checks.find((c) => c.store === 'memory' && c.name.includes('better peer') && !c.name.includes('p99'))?.detail, /0\.50 x bare-post vs 0\.30 \(oauth2-server\): 1\.66 x/);
  t.equal(verdict('sqlite', 'ahead of both peers'), true, '0.31 beats 0.30');
  t.equal(verdict('mysql', 'ahead of both peers'), false, 'a tie with the better peer is not ahead');
  t.equal(verdict('memory', 'p99'), true, '10 ms against the better peer’s 15');
  t.equal(verdict('mysql', 'p99'), true, '14 ms against 15');
  t.notOk(checks.some((c) => c.store === 'postgres'), 'a store that was not run is not judged');
});

test('a target missed by a little fails, and one not measured fails too', async (t) => {
  const checks = evaluatePeerTargets(ccBlock({ memory: [4999, 16], postgres: [3500, 10] }));
  const memory = checks.filter((c) => c.store === 'memory');
  t.same(
    memory.map((c) => c.pass),
    [false, true, false],
    '0.4999 of bare fails (and reads 0.49), 1.67 x the better peer passes, a p99 of 16 ms loses to 15',
  );
  t.match(memory[0]!.detail, /^0\.49 x bare-post$/);
  const failed = evaluatePeerTargets([...ccBlock({}), result('portcullis-cc', 'sqlite', [1, 1, 1], 1, false)]);
  t.same(
    failed.map((c) => [c.store, c.pass]),
    [
      ['sqlite', false],
      ['sqlite', false],
    ],
  );
  t.match(failed[1]!.detail, /not measured vs 15\.0 ms/);
});

test('without a peer there is nothing to compare with, and nothing is judged against it', async (t) => {
  const checks = evaluatePeerTargets([result('bare-post', null, [100], 5), result('portcullis-cc', 'memory', [60], 5)]);
  t.same(
    checks.map((c) => c.pass),
    [true, null, null],
  );
});

test('the table has a row per server that ran, with both scenarios side by side', async (t) => {
  const results = [
    ...ccBlock({ memory: [5000, 10], postgres: [2500, 30] }),
    result('bare-get', null, [20000, 20000, 20000], 3),
    result('portcullis-get', 'memory', [16000, 16000, 16000], 4),
    result('portcullis-get', 'postgres', [1, 1, 1], 4, false),
  ];
  const lines = renderPeerTable(results).split('\n');
  t.equal(lines[0], '| server | store | client_credentials ratio | req/s | p99 ms | protected GET ratio | req/s | p99 ms |');
  t.equal(lines.length, 2 + 5, 'bare, two peers, Portcullis on two stores');
  t.equal(lines[2], '| bare Fastify | - | 1.00 | 10000 | 5.0 | 1.00 | 20000 | 3.0 |');
  t.equal(lines[3], '| oidc-provider (memory adapter) | memory | 0.20 | 2000 | 20.0 |  |  |  |', 'a scenario it did not run is left blank');
  t.equal(lines[5], '| Portcullis | memory | 0.50 | 5000 | 10.0 | 0.80 | 16000 | 4.0 |');
  t.equal(lines[6], '| Portcullis | postgres | 0.25 | 2500 | 30.0 | failed | - | - |');
});

test('each scenario alternates its yardstick, both peers and Portcullis on every store', async (t) => {
  t.same(
    listScenarioTargets(PEER_SCENARIOS[0]).map((target) => target.key),
    [
      'bare-post',
      'bare-db-post/sqlite',
      'bare-db-post/mysql',
      'bare-db-post/postgres',
      'oidc-provider-cc',
      'oauth2-server-cc',
      'portcullis-cc/memory',
      'portcullis-cc/sqlite',
      'portcullis-cc/mysql',
      'portcullis-cc/postgres',
    ],
  );
  t.equal(listScenarioTargets(PEER_SCENARIOS[1])[0]!.key, 'bare-get');
});

test('bench:peers runs three rounds, and --quick one short one', async (t) => {
  t.equal(parsePeerOptions([]).rounds, 3);
  t.equal(parsePeerOptions(['--quick']).rounds, 1);
  t.equal(parsePeerOptions(['--profile']).profile, true);
  t.throws(() => parsePeerOptions(['--store=sqlite']), /unknown argument/);
});

test('the verdicts read as a row per store, blank where a target does not apply', async (t) => {
  const lines = renderPeerVerdicts(evaluatePeerTargets(ccBlock({ memory: [5000, 10], sqlite: [2000, 30] }))).split('\n');
  t.equal(
    lines[0],
    "| store | client_credentials >= 0.5 x bare-post | client_credentials >= 1.3 x the better peer | client_credentials p99 <= the better peer's | client_credentials ahead of both peers |",
  );
  t.equal(lines.length, 4);
  t.equal(lines[2], '| memory | 0.50 x bare-post: pass | 0.50 x bare-post vs 0.30 (oauth2-server): 1.66 x: pass | 10.0 ms vs 15.0 ms (oauth2-server): pass |  |');
  t.equal(lines[3], '| sqlite |  |  | 30.0 ms vs 15.0 ms (oauth2-server): FAIL | 0.20 x bare-post vs 0.30 (oauth2-server): 0.66 x: FAIL |');
});

test("a database store's row shows its bare yardstick, and its verdict names the yardstick's ratio", async (t) => {
  const results = [
    ...ccBlock({ mysql: [1500, 10] }),
    result('bare-db-post', 'mysql', [2000, 2000, 2000], 8),
  ];
  t.equal(computePeerRatio(results, results.at(-1)!), 0.2, 'the yardstick is read against the bare POST');
  const lines = renderPeerTable(results).split('\n');
  t.equal(lines[3], '| bare Fastify, its database work only | mysql | 0.20 | 2000 | 8.0 |  |  |  |');
  const ahead = evaluatePeerTargets(results).find((c) => c.store === 'mysql' && c.name === 'client_credentials ahead of both peers');
  t.match(ahead?.detail, /^0\.15 x bare-post vs 0\.30 \(oauth2-server\): 0\.50 x; the bare route's own database work: 0\.20$/);
  t.equal(ahead?.pass, false);
});

test('each yardstick gets the requests of the servers it measures', async (t) => {
  const fixtures = { clientId: 'c', clientSecret: 's', tokenPath: '/token', resourcePath: '/resource', accessTokens: ['a'] };
  for (const id of ['bare-post', 'bare-db-post', 'portcullis-cc', 'oidc-provider-cc'] as const) {
    t.equal(buildRequestPlan(id, fixtures).requests[0]!.method, 'POST', `${id} is a form POST`);
  }
  for (const id of ['bare-get', 'bare-db-get', 'portcullis-get'] as const) {
    t.equal(buildRequestPlan(id, fixtures).requests[0]!.method, 'GET', `${id} is a GET`);
  }
});
