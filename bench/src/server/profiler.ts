import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import type { HeapProfile, HeapProfileNode } from '../profile-summary.js';

/** An inspector session on this process with one profiler enabled. */
async function openSession(profiler: 'Profiler' | 'HeapProfiler'): Promise<Session> {
  const session = new Session();
  session.connect();
  await (profiler === 'Profiler' ? session.post('Profiler.enable') : session.post('HeapProfiler.enable'));
  return session;
}

/**
 * A CPU profile of the measured rounds only. `--cpu-prof` would also record start-up, migrations
 * and seeding, which drown the request path; the inspector lets the server start the profiler at
 * the first measured round and stop it when told to stop.
 */
export class RoundProfiler {
  readonly #file: string;
  #session: Session | null = null;

  constructor(file: string) {
    this.#file = file;
  }

  async start(): Promise<void> {
    if (this.#session !== null) return;
    const session = await openSession('Profiler');
    // 250 us between samples: fine enough for requests that cost about a millisecond.
    await session.post('Profiler.setSamplingInterval', { interval: 250 });
    await session.post('Profiler.start');
    this.#session = session;
  }

  async stop(): Promise<void> {
    if (this.#session === null) return;
    const { profile } = await this.#session.post('Profiler.stop');
    this.#session.disconnect();
    this.#session = null;
    await writeFile(this.#file, JSON.stringify(profile));
  }
}

/** Bytes between samples on average: a token request allocates 10-30 KiB, so a few samples each. */
const HEAP_SAMPLING_INTERVAL = 8192;

/**
 * What the measured windows allocate, and where: V8's sampling heap profiler, run over each window
 * only (S4 and S5 issue their credentials between rounds, in the same process) and merged. Objects
 * the collector has already freed are kept in the profile: a request's garbage is what costs, and
 * `--heap-prof` reports only what is still alive when the process exits.
 */
export class WindowHeapProfiler {
  readonly #file: string;
  #session: Session | null = null;
  readonly #merged: HeapProfile = { head: emptyRoot(), samples: [], requests: 0 };
  #nextId = 1;

  constructor(file: string) {
    this.#file = file;
  }

  async resume(): Promise<void> {
    if (this.#session !== null) return;
    const session = await openSession('HeapProfiler');
    // The two include flags are V8's (Node 20's typings do not list them yet).
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: HEAP_SAMPLING_INTERVAL,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    } as { samplingInterval: number });
    this.#session = session;
  }

  /** Ends a window that served `requests`, folding its samples into the profile. */
  async pause(requests: number): Promise<void> {
    if (this.#session === null) return;
    const { profile } = await this.#session.post('HeapProfiler.stopSampling');
    this.#session.disconnect();
    this.#session = null;
    // Node 20's typings leave `samples` out too.
    const { head, samples = [] } = profile as Partial<HeapProfile> & { head: HeapProfileNode };
    const ids = new Map<number, number>();
    this.#mergeInto(this.#merged.head, head, ids);
    for (const sample of samples) {
      const nodeId = ids.get(sample.nodeId);
      if (nodeId !== undefined) this.#merged.samples.push({ ...sample, nodeId });
    }
    this.#merged.requests += requests;
  }

  async write(): Promise<void> {
    // Loads in Chrome DevTools' Memory panel; `requests` is ours, for the per-request summary.
    await writeFile(this.#file, JSON.stringify(this.#merged));
  }

  /** Adds `from`'s sizes to `into`, matching children by call frame; records each node's new id. */
  #mergeInto(into: HeapProfileNode, from: HeapProfileNode, ids: Map<number, number>): void {
    into.selfSize += from.selfSize;
    ids.set(from.id, into.id);
    for (const child of from.children) {
      const key = frameKey(child);
      let match = into.children.find((candidate) => frameKey(candidate) === key);
      if (match === undefined) {
        match = { callFrame: child.callFrame, selfSize: 0, id: ++this.#nextId, children: [] };
        into.children.push(match);
      }
      this.#mergeInto(match, child, ids);
    }
  }
}

function emptyRoot(): HeapProfileNode {
  return { callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, selfSize: 0, id: 1, children: [] };
}

function frameKey(node: HeapProfileNode): string {
  const frame = node.callFrame;
  return `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}\u0000${frame.columnNumber}`;
}
