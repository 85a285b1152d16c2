/**
 * `pnpm bench`: the orchestrator. It only coordinates: every server runs in its own forked child,
 * and the load generator (autocannon) in another, so neither disturbs the other's measurements.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChildChannel } from './child-channel.js';
import {
  buildMysqlUrl,
  buildPostgresUrl,
  checkMysqlReachable,
  checkPostgresReachable,
  MYSQL_SCALE_DATABASE,
  MYSQL_SERVER_URL,
  POSTGRES_SCALE_DATABASE,
  POSTGRES_SERVER_URL,
  resetMysqlDatabase,
  resetPostgresDatabase,
  resetPostgresScaleDatabase,
  resetScaleDatabase,
} from './database-setup.js';
import { measureInterleaved, measureTarget, type RunContext, type TargetDescriptor, type TargetResult } from './measure-target.js';
import { parseOptions, STORES, type BenchOptions } from './options.js';
import { findDatabaseServerPid } from './process-cpu.js';
import { summarizeProfiles } from './profile-summary.js';
import type { FromLoad, Store, TargetId, ToLoad } from './protocol.js';
import { describeMachine, renderChecks, renderTable, updateReadme, type RunReport } from './report.js';
import { evaluateTargets } from './targets.js';
import { exitStatus, runMain } from './exit-status.js';
import { transpileChildren } from './transpile-children.js';

const benchDir = dirname(dirname(fileURLToPath(import.meta.url)));
const SCENARIOS: TargetId[] = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8'];

/**
 * The targets in blocks. A block's targets are measured side by side, their rounds interleaved
 * (measureInterleaved): B0 with B1, then per store its yardsticks (B2, B3, B3S on that store's
 * database) with its scenarios, so each ratio compares rounds run seconds apart.
 */
function listBlocks(options: BenchOptions): TargetDescriptor[][] {
  const blocks: TargetDescriptor[][] = [[{ id: 'B0', store: null, key: 'B0' }, { id: 'B1', store: null, key: 'B1' }]];
  for (const store of options.stores) {
    const ids: TargetId[] = ['B2', 'B3', 'B3S', ...SCENARIOS];
    blocks.push(ids.map((id) => ({ id, store, key: `${id}/${store}` })));
  }
  return blocks
    .map((block) => (options.only === null ? block : block.filter((t) => options.only!.has(t.id))))
    .filter((block) => block.length > 0);
}

/** 1000 as '1k', 1000000 as '1M': the scale pair's keys. */
function formatCount(count: number): string {
  if (count >= 1_000_000 && count % 1_000_000 === 0) return `${count / 1_000_000}M`;
  if (count >= 1000 && count % 1000 === 0) return `${count / 1000}k`;
  return String(count);
}

/** Each server store's databases: the run's, emptied, and the scale pair's large side's. */
const SERVER_STORES = {
  mysql: { reset: resetMysqlDatabase, resetScale: resetScaleDatabase, scaleDatabase: MYSQL_SCALE_DATABASE },
  postgres: { reset: resetPostgresDatabase, resetScale: resetPostgresScaleDatabase, scaleDatabase: POSTGRES_SCALE_DATABASE },
} as const;

/**
 * A scale pair, after everything else and alone: S2 on the store's emptied bench database with
 * the usual live tokens, and S2 on a database of its own with `scaleTokens` of them, side by side
 * as a block's targets are: two interleaved rounds each (they only set the rate), then five
 * latency runs each, interleaved too and all offered half the small side's peak, so the two p99s
 * (medians of five) compare the same load at nearly the same moments. Five, because at an evenly
 * spread half-peak load a p99 is a few milliseconds, and one pause of the shared host moves it by half.
 */
async function measureScalePair(context: RunContext, store: keyof typeof SERVER_STORES): Promise<TargetResult[]> {
  const { options } = context;
  const databases = SERVER_STORES[store];
  await databases.reset();
  await databases.resetScale();
  try {
    return await measureInterleaved(
      context,
      [
        { id: 'S2', store, key: `S2/${store}@${formatCount(options.liveTokens)}`, liveTokens: options.liveTokens },
        {
          id: 'S2',
          store,
          key: `S2/${store}@${formatCount(options.scaleTokens)}`,
          liveTokens: options.scaleTokens,
          database: databases.scaleDatabase,
        },
      ],
      { rounds: 2, latencyRuns: 5, sharedLatencyRate: true },
    );
  } finally {
    await databases.resetScale({ drop: true });
  }
}

/** Whether a server store answers; without it, its half is skipped loudly, or the run fails under REQUIRE_*. */
async function checkServerStore(
  options: BenchOptions,
  store: Store,
  name: string,
  url: string,
  reachable: () => Promise<boolean>,
): Promise<void> {
  if (!options.stores.includes(store) || (await reachable())) return;
  const address = new URL(url).host;
  const requirement = `REQUIRE_${store.toUpperCase()}`;
  if (process.env[requirement] === '1') throw new Error(`${name} does not answer on ${address} and ${requirement}=1`);
  console.warn(`!!! ${name} does not answer on ${address}: the ${name} half of the suite is SKIPPED !!!`);
  options.stores = options.stores.filter((s) => s !== store);
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  const machine = await describeMachine();
  console.log(
    `portcullis bench${options.quick ? ' --quick (smoke test: no targets enforced)' : ''}: ` +
      `${machine.nproc} CPUs, ${machine.cpuModel}, Node ${machine.node}, load average ${machine.loadAverage.atStart.toFixed(1)}`,
  );

  await checkServerStore(options, 'mysql', 'MariaDB', MYSQL_SERVER_URL, checkMysqlReachable);
  await checkServerStore(options, 'postgres', 'PostgreSQL', POSTGRES_SERVER_URL, checkPostgresReachable);
  const workDir = await mkdtemp(join(tmpdir(), 'portcullis-bench-'));
  if (options.stores.includes('mysql')) await resetMysqlDatabase();
  if (options.stores.includes('postgres')) await resetPostgresDatabase();
  const profileDir = options.profile || options.heapProfile ? join(benchDir, 'results', 'profiles') : null;
  if (profileDir) {
    // This run's profiles only: a summary left from an earlier run would be printed as this one's.
    await rm(profileDir, { recursive: true, force: true });
    await mkdir(profileDir, { recursive: true });
  }

  // MariaDB shares this machine's CPUs with the servers and the load generator: its CPU time per
  // request is reported beside theirs when it runs here.
  const databasePid = options.stores.includes('mysql') ? findDatabaseServerPid() : null;
  if (options.stores.includes('mysql') && databasePid === null) console.warn('no local mariadbd/mysqld process: database CPU is not reported');

  const childDir = join(benchDir, 'node_modules', '.cache', 'portcullis-bench');
  await transpileChildren(join(benchDir, 'src'), childDir);
  // Each lane has its own load child; lanes > 1 only in the smoke test, where figures do not count.
  const contexts: RunContext[] = Array.from({ length: options.lanes }, () => ({
    options,
    load: new ChildChannel<ToLoad, FromLoad>(join(childDir, 'load', 'main.js'), {}),
    serverModule: join(childDir, 'server', 'main.js'),
    workDir,
    mysqlUrl: buildMysqlUrl(),
    postgresUrl: buildPostgresUrl(),
    databasePid,
    profileDir,
  }));

  const blocks = listBlocks(options);
  const results: TargetResult[] = [];
  const logResult = (result: TargetResult, seconds: string): void => {
    console.log(
      `${result.key.padEnd(12)} ${result.ok ? 'ok ' : 'FAILED'} ${result.requestsPerSecond.median.toFixed(0).padStart(6)} req/s ` +
        `(${seconds} s)${result.problems.length ? `\n    ${result.problems.slice(0, 3).join('\n    ')}` : ''}`,
    );
  };
  try {
    if (options.quick) {
      // The smoke test: each target alone, several at once (lanes), figures not judged.
      const targets = blocks.flat();
      const slots: (TargetResult | undefined)[] = new Array<TargetResult | undefined>(targets.length);
      let next = 0;
      const runLane = async (context: RunContext): Promise<void> => {
        while (next < targets.length) {
          const index = next++;
          const began = Date.now();
          slots[index] = await measureTarget(context, targets[index]!);
          logResult(slots[index]!, ((Date.now() - began) / 1000).toFixed(1));
        }
      };
      await Promise.all(contexts.map(runLane));
      results.push(...slots.filter((r): r is TargetResult => r !== undefined));
    } else {
      const context = contexts[0]!;
      for (const block of blocks) {
        const began = Date.now();
        const measured = block.length === 1 ? [await measureTarget(context, block[0]!)] : await measureInterleaved(context, block);
        const seconds = ((Date.now() - began) / 1000).toFixed(1);
        for (const result of measured) logResult(result, seconds);
        results.push(...measured);
      }
    }
    // A scale pair empties the database it runs on: nothing may run beside it.
    for (const store of ['mysql', 'postgres'] as const) {
      if (!options.scale || !options.stores.includes(store)) continue;
      const began = Date.now();
      const measured = await measureScalePair(contexts[0]!, store);
      for (const result of measured) logResult(result, ((Date.now() - began) / 1000).toFixed(1));
      results.push(...measured);
    }
  } finally {
    for (const context of contexts) context.load.send({ type: 'stop' });
    await Promise.all(contexts.map((context) => context.load.waitForExit(5000)));
    await rm(workDir, { recursive: true, force: true });
  }

  machine.loadAverage.atEnd = loadavg()[0] ?? Number.NaN;
  const checks = evaluateTargets(results, options.stores);
  const table = renderTable(results);
  const checkTable = renderChecks(checks);
  console.log(`\n${table}\n`);
  if (!options.quick) console.log(`${checkTable}\n`);
  if (profileDir) console.log(await summarizeProfiles(profileDir));

  const report: RunReport = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    options: { ...options, only: options.only === null ? null : [...options.only] },
    results,
    checks,
  };
  if (!options.quick) {
    // Only a complete run describes the suite: a partial one (--only, --store) goes to partial.json
    // (not committed) and leaves latest.json and the README as they were.
    const complete = options.only === null && options.stores.length === STORES.length;
    const resultsPath = join(benchDir, 'results', complete ? 'latest.json' : 'partial.json');
    await mkdir(dirname(resultsPath), { recursive: true });
    await writeFile(resultsPath, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`results written to ${resultsPath}`);
    if (complete) await updateReadme(join(benchDir, 'README.md'), report, table, checkTable);
  }
  const seconds = ((Date.now() - startedAt.getTime()) / 1000).toFixed(0);
  return exitStatus(results, checks, options.quick, seconds);
}

runMain(main);
