import { readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import type { TargetResult } from './measure-target.js';
import type { BenchOptions } from './options.js';
import { computeCpuRatio, computeRatio, formatRatio, isScaleSide, mib, THROUGHPUT_TARGETS, type TargetCheck } from './targets.js';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  node: string;
  platform: string;
  /** 1-minute load average when the run started and ended: a busy machine skews every figure. */
  loadAverage: { atStart: number; atEnd: number };
}

export async function describeMachine(): Promise<MachineInfo> {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const cpuinfo = await readFile('/proc/cpuinfo', 'utf8');
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpuModel;
  } catch {
    // Not Linux: os.cpus() said it already.
  }
  return {
    nproc: cpus().length,
    cpuModel,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverage: { atStart: loadavg()[0] ?? Number.NaN, atEnd: Number.NaN },
  };
}

function formatNumber(value: number, digits = 0): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

/** The results as a Markdown table: readable on a terminal, pasted as is into the README. */
export function renderTable(results: readonly TargetResult[]): string {
  const header = [
    'target', 'req/s (median)', 'min-max', 'ratio', 'CPU ratio', 'p50 ms', 'p99 ms', 'p99.9 ms', '@ req/s',
    'CPU us/req (off main thread)', 'load CPU us/req', 'DB CPU us/req', 'queries/req', 'ELD p99 ms', 'RSS MiB before/1st/last', 'ok',
  ];
  const rows = results.map((r) => {
    const judged = !isScaleSide(r);
    const ratio = judged ? computeRatio(results, r) : null;
    const cpuRatio = judged ? computeCpuRatio(results, r) : null;
    const rule = THROUGHPUT_TARGETS[r.id];
    return [
      r.key,
      formatNumber(r.requestsPerSecond.median),
      `${formatNumber(r.requestsPerSecond.min)}-${formatNumber(r.requestsPerSecond.max)}`,
      ratio && rule ? `${formatRatio(ratio.ratio)} x ${ratio.baseline} (>= ${rule.ratio})` : '',
      cpuRatio === null ? '' : cpuRatio.toFixed(2),
      formatNumber(r.latency?.p50Ms ?? Number.NaN, 1),
      formatNumber(r.latency?.p99Ms ?? Number.NaN, 1),
      formatNumber(r.latency?.p999Ms ?? Number.NaN, 1),
      formatNumber(r.latency?.rate ?? Number.NaN),
      `${formatNumber(r.cpuMicrosPerRequest)} (${formatNumber(r.offMainThreadCpuMicrosPerRequest)})`,
      formatNumber(r.loadCpuMicrosPerRequest),
      formatNumber(r.databaseCpuMicrosPerRequest),
      formatNumber(r.queriesPerRequest, 2),
      formatNumber(r.eventLoopP99Ms, 1),
      `${mib(r.rssBytes.before)}/${mib(r.rssBytes.afterFirstRound)}/${mib(r.rssBytes.afterLastRound)}`,
      r.ok ? 'yes' : 'NO',
    ];
  });
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function renderChecks(checks: readonly TargetCheck[]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [
    line(['target', 'store', 'measured', 'result']),
    line(['---', '---', '---', '---']),
    ...checks.map((c) => line([c.name, c.store ?? '', c.detail, c.pass === null ? 'n/a' : c.pass ? 'pass' : 'FAIL'])),
  ].join('\n');
}

export interface RunReport {
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  options: Omit<BenchOptions, 'only'> & { only: string[] | null };
  results: TargetResult[];
  checks: TargetCheck[];
}

/**
 * Replaces one of the README's results sections (between `<!-- bench:<section>:start -->` and its
 * end marker) with this run's: `latest` for `pnpm bench`, `peers` for `pnpm bench:peers`.
 */
export async function updateReadme(
  readmePath: string,
  report: RunReport,
  table: string,
  checks: string,
  section = 'latest',
  latencyRate = 'half the median peak',
): Promise<void> {
  const README_START = `<!-- bench:${section}:start -->`;
  const README_END = `<!-- bench:${section}:end -->`;
  const readme = await readFile(readmePath, 'utf8');
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) return;
  const { machine, options } = report;
  const text = [
    README_START,
    `Run of ${report.startedAt} on ${machine.nproc} CPUs (${machine.cpuModel}), Node ${machine.node}, ${machine.platform}`,
    `(1-minute load average ${machine.loadAverage.atStart.toFixed(1)} at the start, ${machine.loadAverage.atEnd.toFixed(1)} at the end);`,
    `${options.connections} connections, ${options.rounds} rounds of ${options.roundSeconds} s after a ${options.warmupSeconds} s warm-up, latency at ${latencyRate} for ${options.latencySeconds} s.`,
    '',
    table,
    '',
    checks,
    README_END,
  ].join('\n');
  await writeFile(readmePath, readme.slice(0, start) + text + readme.slice(end + README_END.length));
}
