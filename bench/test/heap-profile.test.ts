import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'tap';
import { summarizeHeapProfile, type HeapProfile, type HeapProfileNode } from '../src/profile-summary.js';
import { WindowHeapProfiler } from '../src/server/profiler.js';

function node(id: number, functionName: string, url: string, selfSize: number, children: HeapProfileNode[] = []): HeapProfileNode {
  return { callFrame: { functionName, url, lineNumber: 0, columnNumber: 0, scriptId: '1' }, selfSize, id, children };
}

test('the summary divides by the requests served and attributes a workspace function its callees', async (t) => {
  const core = 'file:///work/packages/core/dist/crypto.js';
  const profile: HeapProfile = {
    head: node(1, '(root)', '', 0, [
      node(2, 'handle', 'file:///work/packages/fastify/dist/token-routes.js', 1000, [
        node(3, 'generateId', core, 3000, [node(4, 'toString', 'node:buffer', 2000)]),
      ]),
      node(5, 'parserOnIncoming', 'node:_http_server', 4000),
    ]),
    samples: [],
    requests: 10,
  };
  const summary = summarizeHeapProfile(profile);
  t.match(summary, /^allocated 1\.0 KiB per request over 10 requests/, '10,000 bytes over 10 requests');
  t.match(summary, /\n\s+600 B {2}node\n/, 'node: 4,000 + 2,000 bytes self');
  t.match(summary, /\n\s+300 B {2}packages\/core\n/);
  t.match(summary, /self by function:\n\s+400 B {2}parserOnIncoming/, 'the heaviest function first');
  t.match(summary, /inclusive of workspace functions \(packages\/\*\):\n\s+600 B {2}handle [^\n]+\n\s+500 B {2}generateId/, 'callees included');
});

test('a window profile keeps only what the windows allocated, freed objects included', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'heap-profile-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'X.heapprofile');
  const profiler = new WindowHeapProfiler(file);
  // Garbage made in named functions, dropped at once: only a profile that keeps freed objects sees it.
  function allocateInWindow(): number {
    let kept = 0;
    for (let i = 0; i < 20_000; i++) kept += new Array(64).fill(i).length;
    return kept;
  }
  function allocateOutsideWindow(): number {
    let kept = 0;
    for (let i = 0; i < 20_000; i++) kept += new Array(64).fill(i).length;
    return kept;
  }
  for (const requests of [7, 5]) {
    await profiler.resume();
    allocateInWindow();
    await profiler.pause(requests);
    allocateOutsideWindow();
  }
  await profiler.write();
  const profile = JSON.parse(await readFile(file, 'utf8')) as HeapProfile;
  t.equal(profile.requests, 12, 'the windows\' requests add up');
  const bytes = new Map<string, number>();
  const walk = (n: HeapProfileNode): void => {
    bytes.set(n.callFrame.functionName, (bytes.get(n.callFrame.functionName) ?? 0) + n.selfSize);
    n.children.forEach(walk);
  };
  walk(profile.head);
  // Two windows of 20,000 arrays of 64 slots: about 22 MB, nearly all of it collected before the
  // window ended (without the profiler's include flags the profile holds a few kilobytes).
  t.ok((bytes.get('allocateInWindow') ?? 0) > 10_000_000, `the windows' garbage is counted: ${bytes.get('allocateInWindow')} bytes`);
  t.notOk(bytes.get('allocateOutsideWindow'), 'nothing from between the windows');
  const ids = new Set<number>();
  const collect = (n: HeapProfileNode): void => {
    ids.add(n.id);
    n.children.forEach(collect);
  };
  collect(profile.head);
  t.ok(profile.samples.length > 0 && profile.samples.every((s) => ids.has(s.nodeId)), 'every sample points at a node of the merged tree');
  t.match(summarizeHeapProfile(profile), /allocateInWindow/);
});
