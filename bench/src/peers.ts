/**
 * `pnpm bench:peers`: Portcullis beside the servers a user would pick instead, on the same
 * machinery as `pnpm bench` (a forked child per server, one load child, interleaved rounds). Per
 * scenario, the bare yardstick, oidc-provider, @node-oauth/oauth2-server and Portcullis on each
 * store are all up at once and take their rounds in turn.
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
  MYSQL_SERVER_URL,
  POSTGRES_SERVER_URL,
  resetMysqlDatabase,
  resetPostgresDatabase,
} from './database-setup.js';
import { measureInterleaved, measureTarget, type RunContext, type TargetDescriptor, type TargetResult } from './measure-target.js';
import { parsePeerOptions } from './options.js';
import {
  describeLatencyRates,
  evaluatePeerTargets,
  listScenarioTargets,
  PEER_SCENARIOS,
  renderPeerTable,
  renderPeerVerdicts,
} from './peers-targets.js';
import { summarizeProfiles } from './profile-summary.js';
import type { FromLoad, ToLoad } from './protocol.js';
import { describeMachine, updateReadme, type RunReport } from './report.js';
import { exitStatus, runMain } from './exit-status.js';
import { transpileChildren } from './transpile-children.js';

const benchDir = dirname(dirname(fileURLToPath(import.meta.url)));

/** A database that does not answer fails the run: the comparison is of every store or none. */
async function requireDatabase(name: string, url: string, reachable: () => Promise<boolean>): Promise<void> {
  if (!(await reachable())) throw new Error(`${name} does not answer on ${new URL(url).host}: pnpm bench:peers measures Portcullis on it`);
}

async function main(): Promise<number> {
  const options = parsePeerOptions(process.argv.slice(2));
  const startedAt = new Date();
  const machine = await describeMachine();
  console.log(
    `portcullis bench:peers${options.quick ? ' --quick (smoke test: no targets judged)' : ''}: ` +
      `${machine.nproc} CPUs, ${machine.cpuModel}, Node ${machine.node}, load average ${machine.loadAverage.atStart.toFixed(1)}`,
  );
  await requireDatabase('MariaDB', MYSQL_SERVER_URL, checkMysqlReachable);
  await requireDatabase('PostgreSQL', POSTGRES_SERVER_URL, checkPostgresReachable);
  await resetMysqlDatabase();
  await resetPostgresDatabase();
  const workDir = await mkdtemp(join(tmpdir(), 'portcullis-peers-'));
  const profileDir = options.profile ? join(benchDir, 'results', 'profiles') : null;
  if (profileDir) {
    await rm(profileDir, { recursive: true, force: true });
    await mkdir(profileDir, { recursive: true });
  }
  const childDir = join(benchDir, 'node_modules', '.cache', 'portcullis-bench-peers');
  await transpileChildren(join(benchDir, 'src'), childDir);
  const contexts: RunContext[] = Array.from({ length: options.lanes }, () => ({
    options,
    load: new ChildChannel<ToLoad, FromLoad>(join(childDir, 'load', 'main.js'), {}),
    serverModule: join(childDir, 'server', 'main.js'),
    workDir,
    mysqlUrl: buildMysqlUrl(),
    postgresUrl: buildPostgresUrl(),
    databasePid: null,
    profileDir,
  }));

  const blocks: TargetDescriptor[][] = PEER_SCENARIOS.map((scenario) => listScenarioTargets(scenario));
  const results: TargetResult[] = [];
  const log = (result: TargetResult): void => {
    console.log(
      `${result.key.padEnd(24)} ${result.ok ? 'ok ' : 'FAILED'} ${result.requestsPerSecond.median.toFixed(0).padStart(6)} req/s` +
        `${result.problems.length ? `\n    ${result.problems.slice(0, 3).join('\n    ')}` : ''}`,
    );
  };
  try {
    if (options.quick) {
      // Each server alone, several at once: the figures do not count.
      const targets = blocks.flat();
      let next = 0;
      const slots: TargetResult[] = [];
      await Promise.all(
        contexts.map(async (context) => {
          while (next < targets.length) {
            const index = next++;
            slots[index] = await measureTarget(context, targets[index]!);
            log(slots[index]);
          }
        }),
      );
      results.push(...slots);
    } else {
      for (const block of blocks) {
        const measured = await measureInterleaved(contexts[0]!, block, { sharedLatencyRate: 'slowest' });
        for (const result of measured) log(result);
        results.push(...measured);
      }
    }
  } finally {
    for (const context of contexts) context.load.send({ type: 'stop' });
    await Promise.all(contexts.map((context) => context.load.waitForExit(5000)));
    await rm(workDir, { recursive: true, force: true });
  }

  machine.loadAverage.atEnd = loadavg()[0] ?? Number.NaN;
  const checks = evaluatePeerTargets(results);
  const table = renderPeerTable(results);
  const checkTable = renderPeerVerdicts(checks);
  console.log(`\n${table}\np99 at one offered rate per scenario: ${describeLatencyRates(results)}\n`);
  if (!options.quick) console.log(`${checkTable}\n`);
  if (profileDir) console.log(await summarizeProfiles(profileDir));

  const seconds = ((Date.now() - startedAt.getTime()) / 1000).toFixed(0);
  if (!options.quick) {
    const report: RunReport = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine,
      options: { ...options, only: null },
      results,
      checks,
    };
    // A profiled run's figures carry the profiler's cost: they go to partial.json, not committed.
    const resultsPath = join(benchDir, 'results', options.profile ? 'partial.json' : 'peers-latest.json');
    await writeFile(resultsPath, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`results written to ${resultsPath}`);
    if (results.every((r) => r.ok) && !options.profile) {
      await updateReadme(join(benchDir, 'README.md'), report, `${table}\n\np99 at one offered rate per scenario: ${describeLatencyRates(results)}.`, checkTable, 'peers', "half the slowest server's peak");
    }
  }
  return exitStatus(results, checks, options.quick, seconds);
}

runMain(main);
