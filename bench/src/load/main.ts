/**
 * The load child: runs autocannon jobs for the orchestrator, one at a time. It lives for the whole
 * run (so its start-up costs nothing per target) and shares no process with any server.
 */
import { readFile } from 'node:fs/promises';
import { createHistogram } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import autocannon from 'autocannon';
import type { Fixtures, FromLoad, LoadJob, LoadSummary, ToLoad } from '../protocol.js';
import { planLaunches } from './launches.js';
import { buildRequestPlan } from './request-plans.js';

function send(message: FromLoad): void {
  process.send?.(message);
}

async function runJob(job: LoadJob): Promise<LoadSummary> {
  const fixtures = JSON.parse(await readFile(job.fixturesFile, 'utf8')) as Fixtures;
  const plan = buildRequestPlan(job.target, fixtures);
  const statusCodes: Record<string, number> = {};
  let sampleFailure: string | null = null;
  const isExpected = (status: number): boolean =>
    plan.expectedStatus === 'success' ? status >= 200 && status < 300 : status === plan.expectedStatus;
  // Record every status and keep one unexpected body, without disturbing the plan's own hooks.
  const requests = plan.requests.map((request): autocannon.Request => {
    const own = typeof request.onResponse === 'function' ? request.onResponse : undefined;
    return {
      ...request,
      onResponse: (status, body, context, headers) => {
        statusCodes[status] = (statusCodes[status] ?? 0) + 1;
        if (sampleFailure === null && !isExpected(status)) sampleFailure = `${status} ${body.slice(0, 300)}`;
        own?.(status, body, context, headers);
      },
    };
  });

  // autocannon reports its duration at its next whole-second sample, so a run counted in requests
  // (S5's codes) that ends at 1.2 s would read as 2 s. The rate is timed here instead: from the
  // start to the last response.
  const startedAt = performance.now();
  const cpuAtStart = process.cpuUsage();
  let lastResponseAt = startedAt;
  // Our own histogram, in microseconds: autocannon keeps whole milliseconds and only 2xx answers.
  const latency = createHistogram();
  const launches = planLaunches(job);
  const results = await Promise.all(
    launches.map(async (launch) => {
      if (launch.delayMs > 0) await delay(launch.delayMs);
      let instance: autocannon.Instance | undefined;
      const finished = new Promise<autocannon.Result>((resolve, reject) => {
        instance = autocannon({
          url: job.url,
          connections: launch.connections,
          pipelining: 1,
          duration: launch.duration,
          ...(launch.amount !== undefined ? { amount: launch.amount } : {}),
          ...(launch.rate !== undefined ? { overallRate: launch.rate } : {}),
          timeout: 10,
          sampleInt: launch.sampleIntervalMs,
          requests,
        }, (error, result) => (error ? reject(error as Error) : resolve(result)));
      });
      instance?.on('response', (_client, _status, _bytes, responseTimeMs) => {
        lastResponseAt = performance.now();
        latency.record(Math.max(1, Math.round(responseTimeMs * 1000)));
      });
      const stopTimer = launch.stopAtDuration ? setTimeout(() => instance?.stop(), launch.duration * 1000) : undefined;
      try {
        return await finished;
      } finally {
        clearTimeout(stopTimer);
      }
    }),
  );
  const sum = (read: (result: autocannon.Result) => number): number => results.reduce((total, result) => total + read(result), 0);
  const cpu = process.cpuUsage(cpuAtStart);
  const percentileMs = (p: number): number => (latency.count > 0 ? latency.percentile(p) / 1000 : Number.NaN);
  const total = sum((result) => result['2xx'] + result.non2xx);
  const durationSeconds = total > 0 ? (lastResponseAt - startedAt) / 1000 : job.duration;
  return {
    requests: total,
    durationSeconds,
    requestsPerSecond: total / durationSeconds,
    status2xx: sum((result) => result['2xx']),
    statusNon2xx: sum((result) => result.non2xx),
    statusCodes,
    errors: sum((result) => result.errors),
    timeouts: sum((result) => result.timeouts),
    latencyP50Ms: percentileMs(50),
    latencyP99Ms: percentileMs(99),
    latencyP999Ms: percentileMs(99.9),
    sampleFailure,
    cpuMicros: cpu.user + cpu.system,
  };
}

// The orchestrator gone: no more jobs will come, and a running one reports to nobody.
process.once('disconnect', () => process.exit(0));

process.on('message', (message: ToLoad) => {
  if (message.type === 'stop') {
    process.disconnect?.();
    return;
  }
  runJob(message.job).then(
    (summary) => send({ type: 'result', id: message.job.id, summary }),
    (error: unknown) =>
      send({ type: 'error', id: message.job.id, message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
