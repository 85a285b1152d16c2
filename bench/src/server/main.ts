/**
 * A server child: serves one baseline, scenario or peer on an ephemeral loopback port and measures
 * itself over the windows the orchestrator opens. Started with fork(), one per target, so no
 * target's heap, JIT state or pool warms another's.
 */
import type { AddressInfo } from 'node:net';
import { fromFastify, type BenchServer } from './bench-server.js';
import { isPeerTarget, type FromServer, type ServerSpec, type ToServer } from '../protocol.js';
import { writeFixtures } from './fixtures-file.js';
import { residentAfterCollection, ServerProbe } from './probe.js';
import { RoundProfiler, WindowHeapProfiler } from './profiler.js';
import { installQueryCounter } from './query-counter.js';

export type { BenchServer } from './bench-server.js';

function send(message: FromServer): void {
  process.send?.(message);
}

async function startServer(spec: ServerSpec): Promise<BenchServer> {
  if (isPeerTarget(spec.target)) {
    const { createPeerServer } = await import('./peer-apps.js');
    return createPeerServer(spec.target, spec);
  }
  if (spec.target.startsWith('B')) {
    const { createBaselineServer } = await import('./baseline-app.js');
    const { app, ...rest } = await createBaselineServer(spec);
    return fromFastify(app, rest);
  }
  const { createScenarioServer } = await import('./scenario-app.js');
  const { app, ...rest } = await createScenarioServer(spec);
  return fromFastify(app, rest);
}

async function main(): Promise<void> {
  const specText = process.env.BENCH_SERVER_SPEC;
  if (!specText) throw new Error('BENCH_SERVER_SPEC is not set: this file is started by src/run.ts');
  const spec = JSON.parse(specText) as ServerSpec;
  // The orchestrator gone (killed, crashed): nobody will ever say stop, so stop now.
  process.once('disconnect', () => process.exit(0));
  // Statements are counted for `pnpm bench`'s table; a peer runs as its users run it, uninstrumented.
  if (!isPeerTarget(spec.target)) installQueryCounter();
  const probe = new ServerProbe();
  const profiler = spec.profileFile === null ? null : new RoundProfiler(spec.profileFile);
  const heapProfiler = spec.heapProfileFile === null ? null : new WindowHeapProfiler(spec.heapProfileFile);
  const server = await startServer(spec);
  server.server.on('request', () => probe.countRequest());
  await server.listen();
  await writeFixtures(spec.fixturesFile, server.fixtures);
  const { port } = server.server.address() as AddressInfo;

  process.on('message', (message: ToServer) => {
    void handleMessage(message).catch((error: unknown) => {
      send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    });
  });

  async function handleMessage(message: ToServer): Promise<void> {
    switch (message.type) {
      case 'prepare': {
        if (!server.prepare) throw new Error(`${spec.target} has nothing to prepare`);
        const fixtures = await server.prepare(message.count);
        await writeFixtures(spec.fixturesFile, fixtures);
        send({ type: 'prepared', count: message.count });
        return;
      }
      case 'begin': {
        await profiler?.start();
        const rssBytes = probe.begin();
        await heapProfiler?.resume();
        send({ type: 'begun', rssBytes });
        return;
      }
      case 'end': {
        const sample = probe.end();
        await heapProfiler?.pause(sample.requests);
        send({ type: 'ended', ...sample });
        return;
      }
      case 'stop':
        await profiler?.stop();
        await heapProfiler?.write();
        await server.close();
        // Exit now: a pool or a timer left open must not keep a finished server alive.
        process.exit(0);
    }
  }

  send({ type: 'ready', port, rssBytes: residentAfterCollection() });
}

main().catch((error: unknown) => {
  send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
});
