import { test } from 'tap';
import type { RoundFigures, TargetResult } from '../src/measure-target.js';
import type { Store, TargetId } from '../src/protocol.js';
import { computeCeiling, computeCpuRatio, computeRatio, computeRatioToOwnStoreB2, evaluateTargets, formatRatio } from '../src/targets.js';

/** A result with one round per entry: [requests per second, CPU microseconds per request]. */
function result(id: TargetId, store: Store | null, block: number | null, rounds: [number, number][]): TargetResult {
  const figures: RoundFigures[] = rounds.map(([rate, cpu]) => ({
    requestsPerSecond: rate,
    requests: rate * 3,
    unexpected: 0,
    cpuMicros: cpu * rate * 3,
    offMainThreadCpuMicros: 10 * rate * 3,
    loadCpuMicros: 100 * rate * 3,
    databaseCpuMicros: store === 'mysql' ? 100 * rate * 3 : null,
    serverRequests: rate * 3,
    queries: rate * 3,
    eventLoopP99Ms: 10,
    eventLoopMaxMs: 20,
    rssBytes: 100 * 1024 * 1024,
  }));
  const sorted = rounds.map(([rate]) => rate).sort((a, b) => a - b);
  return {
    key: store === null ? id : `${id}/${store}`,
    id,
    store,
    connections: 32,
    liveTokens: 1000,
    ok: true,
    block,
    problems: [],
    rounds: figures,
    requestsPerSecond: { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted.at(-1)! },
    cpuMicrosPerRequest: rounds.reduce((sum, [, cpu]) => sum + cpu, 0) / rounds.length,
    offMainThreadCpuMicrosPerRequest: 10,
    loadCpuMicrosPerRequest: 100,
    databaseCpuMicrosPerRequest: store === 'mysql' ? 100 : Number.NaN,
    queriesPerRequest: 1,
    statementsPerRequest: {},
    eventLoopP99Ms: 10,
    eventLoopP99AtHalfRateMs: 5,
    rssBytes: { before: 90 * 1024 * 1024, afterFirstRound: 100 * 1024 * 1024, afterLastRound: 100 * 1024 * 1024 },
    latency: null,
    latencyRuns: [],
    statusCodes: { '200': 100 },
  };
}

// A slow spell of the host began during round 3, after the yardstick's round and before the
// scenario's: paired round by round, the ratio is 0.5 in four rounds of five; from the medians of
// the rounds alone it would read 0.125.
const yardstickRounds: [number, number][] = [[8000, 100], [8000, 100], [8000, 100], [2000, 400], [2000, 400]];
const scenarioRounds: [number, number][] = [[4000, 200], [4000, 200], [1000, 800], [1000, 800], [1000, 800]];

test('a throughput ratio pairs rounds of one block, and falls back to medians across blocks', async (t) => {
  const b2 = result('B2', 'mysql', 1, yardstickRounds);
  const paired = result('S4', 'mysql', 1, scenarioRounds);
  t.same(computeRatio([b2, paired], paired), { baseline: 'B2/mysql', ratio: 0.5, rounds: { min: 0.125, max: 0.5 } });
  t.equal(computeCpuRatio([b2, paired], paired), 0.5);

  const apart = result('S4', 'mysql', 2, [[4000, 200], [4000, 200], [6000, 150], [6000, 150], [6000, 150]]);
  t.same(computeRatio([b2, apart], apart), { baseline: 'B2/mysql', ratio: 6000 / 8000, rounds: null });
  const alone = result('S4', 'mysql', null, scenarioRounds);
  t.same(computeRatio([b2, alone], alone), { baseline: 'B2/mysql', ratio: 1000 / 8000, rounds: null });
});

test("a SQLite scenario meets B2 through mysql2, the defined B2, and its own store's B3", async (t) => {
  const mysqlB2 = result('B2', 'mysql', 1, yardstickRounds.map(([rate, cpu]) => [rate / 4, cpu * 4]));
  const sqliteB2 = result('B2', 'sqlite', 2, yardstickRounds);
  // A quarter of the SQLite B2 in every round, the MySQL B2's rate (medians: blocks 1 and 2 do not pair).
  const s2 = result('S2', 'sqlite', 2, yardstickRounds.map(([rate, cpu]) => [rate / 4, cpu * 4]));
  t.same(computeRatio([mysqlB2, sqliteB2, s2], s2), { baseline: 'B2/mysql', ratio: 1, rounds: null });
  t.equal(computeCpuRatio([mysqlB2, sqliteB2, s2], s2), 1);
  t.equal(computeRatio([sqliteB2, s2], s2), null, 'no MySQL half in the run: no yardstick');

  const mysqlB3 = result('B3', 'mysql', 1, yardstickRounds.map(([rate, cpu]) => [rate / 4, cpu * 4]));
  const sqliteB3 = result('B3', 'sqlite', 2, yardstickRounds);
  const s6 = result('S6', 'sqlite', 2, yardstickRounds.map(([rate, cpu]) => [rate * 0.9, cpu / 0.9]));
  t.equal(computeRatio([mysqlB3, sqliteB3, s6], s6)?.baseline, 'B3/sqlite');
  t.ok(Math.abs(computeRatio([mysqlB3, sqliteB3, s6], s6)!.ratio - 0.9) < 1e-9);

  mysqlB2.ok = false;
  t.equal(computeRatio([mysqlB2, sqliteB2, s2], s2), null, 'a failed yardstick judges nothing');
  t.equal(computeCpuRatio([mysqlB2, sqliteB2, s2], s2), null);
});

test("a SQLite scenario's verdict also reads it against its own store's B2, without judging by it", async (t) => {
  const mysqlB2 = result('B2', 'mysql', 1, yardstickRounds.map(([rate, cpu]) => [rate / 4, cpu * 4]));
  const sqliteB2 = result('B2', 'sqlite', 2, yardstickRounds);
  // 0.45 of the SQLite yardstick in every round, 1.8 of the MySQL one.
  const s4 = result('S4', 'sqlite', 2, yardstickRounds.map(([rate, cpu]) => [rate * 0.45, cpu / 0.45]));
  const own = computeRatioToOwnStoreB2([mysqlB2, sqliteB2, s4], s4);
  t.equal(own?.baseline, 'B2/sqlite');
  t.ok(Math.abs(own!.ratio - 0.45) < 1e-9);
  const check = evaluateTargets([mysqlB2, sqliteB2, s4], ['sqlite']).find((c) => c.name === 'S4 >= 0.5 x B2');
  t.equal(check?.pass, true, 'judged against B2/mysql: 1.80');
  t.equal(check?.detail, "1.80 x B2/mysql; 0.45 x B2/sqlite, its own store's (rounds 0.45-0.45), not judged");

  // A --store=sqlite run: the own store's ratio is shown, and nothing is judged.
  const alone = evaluateTargets([sqliteB2, s4], ['sqlite']).find((c) => c.name === 'S4 >= 0.5 x B2');
  t.same(alone, { name: 'S4 >= 0.5 x B2', store: 'sqlite', detail: "B2/mysql not run; 0.45 x B2/sqlite, its own store's (rounds 0.45-0.45), not judged", pass: null });

  const s6 = result('S6', 'sqlite', 2, yardstickRounds);
  t.equal(computeRatioToOwnStoreB2([mysqlB2, sqliteB2, s6], s6), null, 'S6 is judged against B3');
  const s4mysql = result('S4', 'mysql', 1, yardstickRounds);
  t.equal(computeRatioToOwnStoreB2([mysqlB2, s4mysql], s4mysql), null, 'a MySQL scenario has its own store\'s B2 as its yardstick');
});

test('a PostgreSQL scenario meets its own store\'s B2 and B3S, round by round in its block', async (t) => {
  // B2/mysql twice as fast as B2/postgres: judged against it, S2/postgres would fail.
  const mysqlB2 = result('B2', 'mysql', 1, yardstickRounds.map(([rate, cpu]) => [rate * 2, cpu / 2]));
  const postgresB2 = result('B2', 'postgres', 3, yardstickRounds);
  const postgresB3S = result('B3S', 'postgres', 3, yardstickRounds.map(([rate, cpu]) => [rate / 2, cpu * 2]));
  const s2 = result('S2', 'postgres', 3, yardstickRounds.map(([rate, cpu]) => [rate * 0.85, cpu / 0.85]));
  const s1 = result('S1', 'postgres', 3, yardstickRounds.map(([rate, cpu]) => [rate * 0.35, cpu / 0.35]));
  const all = [mysqlB2, postgresB2, postgresB3S, s2, s1];
  const s2Ratio = computeRatio(all, s2)!;
  t.equal(s2Ratio.baseline, 'B2/postgres');
  t.ok(Math.abs(s2Ratio.ratio - 0.85) < 1e-9, 'paired round by round');
  t.not(s2Ratio.rounds, null);
  t.equal(computeRatio(all, s1)?.baseline, 'B3S/postgres');

  const checks = evaluateTargets(all, ['mysql', 'postgres']);
  const s2Check = checks.find((c) => c.name === 'S2 >= 0.8 x B2' && c.store === 'postgres');
  t.equal(s2Check?.pass, true);
  t.equal(s2Check?.detail, '0.85 x B2/postgres (rounds 0.85-0.85)', 'no SQLite-style ratio to its own store beside it');
  // 0.35 of B2/postgres is 0.70 of B3S/postgres: under 0.75.
  const s1Check = checks.find((c) => c.name === 'S1 >= 0.75 x B3S' && c.store === 'postgres');
  t.equal(s1Check?.pass, false);
  t.match(s1Check?.detail, /^0\.70 x B3S\/postgres/);
  t.equal(checks.filter((c) => c.store === 'mysql' && c.name.startsWith('S')).length, 0, 'no MySQL scenario, no MySQL verdict');

  // A --store=postgres run without its yardstick judges nothing, and never falls back to MySQL's.
  t.same(
    evaluateTargets([mysqlB2, s2], ['postgres']).find((c) => c.name === 'S2 >= 0.8 x B2'),
    { name: 'S2 >= 0.8 x B2', store: 'postgres', detail: 'B2/postgres not run', pass: null },
  );
});

test('MySQL and PostgreSQL scenarios are each judged against their own store', async (t) => {
  const mysqlB3S = result('B3S', 'mysql', 1, yardstickRounds);
  const mysqlS1 = result('S1', 'mysql', 1, yardstickRounds.map(([rate, cpu]) => [rate * 0.8, cpu / 0.8]));
  const postgresB3S = result('B3S', 'postgres', 2, yardstickRounds.map(([rate, cpu]) => [rate / 4, cpu * 4]));
  // Faster than B3S/postgres, slower than B3S/mysql.
  const postgresS1 = result('S1', 'postgres', 2, yardstickRounds.map(([rate, cpu]) => [rate / 2, cpu * 2]));
  const checks = evaluateTargets([mysqlB3S, mysqlS1, postgresB3S, postgresS1], ['mysql', 'postgres']).filter((c) =>
    c.name.startsWith('S1 >='),
  );
  t.same(
    checks.map((c) => [c.store, c.detail, c.pass]),
    [
      ['mysql', '0.80 x B3S/mysql (rounds 0.80-0.80)', true],
      ['postgres', '2.00 x B3S/postgres (rounds 2.00-2.00)', true],
    ],
  );
});

test('the verdict of S4 says how far B3, a part of its work, reaches', async (t) => {
  const b2 = result('B2', 'mysql', 1, yardstickRounds);
  const b3 = result('B3', 'mysql', 1, yardstickRounds.map(([rate, cpu]) => [rate * 0.45, cpu / 0.45]));
  const s4 = result('S4', 'mysql', 1, yardstickRounds.map(([rate, cpu]) => [rate * 0.4, cpu / 0.4]));
  const ceiling = computeCeiling([b2, b3, s4], s4);
  t.equal(ceiling?.ceiling, 'B3/mysql');
  t.ok(Math.abs(ceiling!.ratio - 0.45) < 1e-9);

  const check = evaluateTargets([b2, b3, s4], ['mysql']).find((c) => c.name === 'S4 >= 0.5 x B2');
  t.equal(check?.pass, false);
  t.equal(check?.detail, '0.40 x B2/mysql (rounds 0.40-0.40); B3/mysql, a part of its work, reaches 0.45');

  // On SQLite the ceiling is the store's own B3, over the yardstick B2/mysql.
  const sqliteB3 = result('B3', 'sqlite', 2, yardstickRounds);
  const s4sqlite = result('S4', 'sqlite', 2, yardstickRounds.map(([rate, cpu]) => [rate * 0.5, cpu / 0.5]));
  t.equal(computeCeiling([b2, b3, sqliteB3, s4sqlite], s4sqlite)?.ceiling, 'B3/sqlite');

  // No ceiling for S2, and none when the ceiling's baseline did not run.
  t.equal(computeCeiling([b2, s4], s4), null);
  const s2 = result('S2', 'mysql', 1, yardstickRounds);
  t.equal(computeCeiling([b2, b3, s2], s2), null);
  t.equal(evaluateTargets([b2, s2], ['mysql']).find((c) => c.name === 'S2 >= 0.8 x B2')?.detail, '1.00 x B2/mysql (rounds 1.00-1.00)');
});

test('a scenario whose yardstick did not run is not judged', async (t) => {
  const s4 = result('S4', 'mysql', null, scenarioRounds);
  const check = evaluateTargets([s4], ['mysql']).find((c) => c.name === 'S4 >= 0.5 x B2');
  t.same(check, { name: 'S4 >= 0.5 x B2', store: 'mysql', detail: 'B2/mysql not run', pass: null });
});

test('a ratio just under its target never reads as the target', async (t) => {
  t.equal(formatRatio(0.4996), '0.49');
  t.equal(formatRatio(0.5), '0.50');
  t.equal(formatRatio(1.129), '1.12');
  const b2 = result('B2', 'mysql', 1, yardstickRounds);
  const s4 = result('S4', 'mysql', 1, yardstickRounds.map(([rate, cpu]) => [rate * 0.4996, cpu / 0.4996]));
  const check = evaluateTargets([b2, s4], ['mysql']).find((c) => c.name === 'S4 >= 0.5 x B2');
  t.equal(check?.pass, false);
  t.match(check?.detail, /^0\.49 x B2\/mysql/);
});

test('the scale pair: the larger S2 run against the smaller, by p99 at the same rate', async (t) => {
  const run = (count: number, p99Ms: number): TargetResult => ({
    ...result('S2', 'mysql', null, [[2000, 300]]),
    key: `S2/mysql@${count === 1000 ? '1k' : '1M'}`,
    liveTokens: count,
    latency: { rate: 1000, p50Ms: 2, p99Ms, p999Ms: p99Ms * 2 },
    latencyRuns: [1, 2, 3].map(() => ({ rate: 1000, p50Ms: 2, p99Ms, p999Ms: p99Ms * 2 })),
  });
  const check = (results: TargetResult[]) => evaluateTargets(results, ['mysql']).find((c) => c.name.startsWith('Scale'));
  const within = check([run(1_000_000, 11.9), run(1000, 10)]);
  t.equal(within?.name, 'Scale: S2 p99 with 1M live tokens within 20% of 1k', 'named from the keys, whatever their order');
  t.equal(within?.detail, '11.9 ms vs 10.0 ms at 1000 req/s (medians of 3 interleaved runs)');
  t.equal(within?.pass, true);
  t.equal(check([run(1000, 10), run(1_000_000, 12.1)])?.pass, false, 'over 20% more');
  t.equal(check([run(1000, 10), { ...run(1_000_000, 5), ok: false }])?.pass, false, 'a failed run is no pass');
  t.equal(check([run(1000, 10)]), undefined, 'no pair, no check');
  t.equal(check([result('S2', 'mysql', null, [[2000, 300]])]), undefined, 'the block S2 is not half of a pair');
});

test('each server store has its own scale pair and verdict', async (t) => {
  const run = (store: Store, count: number, p99Ms: number): TargetResult => ({
    ...result('S2', store, null, [[2000, 300]]),
    key: `S2/${store}@${count === 1000 ? '1k' : '1M'}`,
    liveTokens: count,
    latency: { rate: 1000, p50Ms: 2, p99Ms, p999Ms: p99Ms * 2 },
    latencyRuns: [],
  });
  const scaleChecks = (results: TargetResult[], stores: Store[]) => evaluateTargets(results, stores).filter((c) => c.name.startsWith('Scale'));
  // MySQL's pair within 20%, PostgreSQL's not: neither side is compared across stores.
  const results = [run('mysql', 1000, 10), run('mysql', 1_000_000, 11), run('postgres', 1000, 5), run('postgres', 1_000_000, 9)];
  t.same(
    scaleChecks(results, ['mysql', 'postgres']).map((c) => [c.store, c.detail, c.pass]),
    [
      ['mysql', '11.0 ms vs 10.0 ms at 1000 req/s', true],
      ['postgres', '9.0 ms vs 5.0 ms at 1000 req/s', false],
    ],
  );
  t.same(
    scaleChecks(results, ['postgres']).map((c) => c.store),
    ['postgres'],
    'only the stores of the run',
  );
  t.same(scaleChecks([run('mysql', 1000, 10), run('postgres', 1_000_000, 9)], ['mysql', 'postgres']), [], 'one side per store is no pair');
});

test("memory is judged outside V8's young generation, with resident memory shown beside it", async (t) => {
  const MiB = 1024 * 1024;
  const withMemory = (rounds: [rss: number, young: number][]): TargetResult => {
    const target = result('S3', 'sqlite', 1, rounds.map(() => [5000, 100]));
    target.rounds.forEach((round, index) => {
      round.rssBytes = rounds[index]![0] * MiB;
      round.youngGenerationBytes = rounds[index]![1] * MiB;
    });
    target.rssBytes = { before: 90 * MiB, afterFirstRound: rounds[0]![0] * MiB, afterLastRound: rounds.at(-1)![0] * MiB };
    return target;
  };
  const check = (target: TargetResult) => evaluateTargets([target], ['sqlite']).find((c) => c.name.startsWith('memory'))!;

  // The 06:05 run's S3/sqlite: resident 105 -> 119 MiB (+13%), the young generation grown by 16 MiB.
  const grownScratch = check(withMemory([[105, 16], [120, 32], [119, 32]]));
  t.equal(grownScratch.pass, true);
  t.equal(grownScratch.detail, '1 scenario, the most: S3 -2.2% (89 -> 87 MiB outside the young generation; resident 105 -> 119 MiB)');

  // A leak lands in the old generation: the young generation's size does not hide it.
  const leak = check(withMemory([[105, 32], [120, 32], [125, 32]]));
  t.equal(leak.pass, false);
  t.match(leak.detail, /^1 scenario, the most: S3 27\.4% \(73 -> 93 MiB outside the young generation.*; over 10%: S3$/);

  // Results written before the young generation was recorded are judged on resident memory.
  const older = withMemory([[100, 0], [112, 0]]);
  for (const round of older.rounds) delete round.youngGenerationBytes;
  t.equal(check(older).pass, false);

  // One verdict per store: the largest growth shown, and a scenario that did not answer named.
  const broken = withMemory([[100, 16], [100, 16]]);
  broken.ok = false;
  const both = evaluateTargets([withMemory([[105, 16], [120, 32], [119, 32]]), { ...broken, id: 'S4', key: 'S4/sqlite' }], ['sqlite']);
  const memory = both.filter((c) => c.name.startsWith('memory'));
  t.equal(memory.length, 1);
  t.equal(memory[0]!.pass, false);
  t.match(memory[0]!.detail, /^2 scenarios, the most: S3 -2\.2% .*; not measured: S4$/);
});
