import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A node of V8's sampling heap profile: a call tree whose nodes carry the bytes they allocated. */
export interface HeapProfileNode {
  callFrame: CallFrame & { scriptId: string; columnNumber: number };
  selfSize: number;
  id: number;
  children: HeapProfileNode[];
}

/** V8's sampling heap profile, plus the requests its windows served. */
export interface HeapProfile {
  head: HeapProfileNode;
  samples: { size: number; nodeId: number; ordinal: number }[];
  requests: number;
}

/** Where a frame's code lives: a workspace package, a dependency, or Node itself. */
function classifyUrl(url: string): string {
  if (!url) return '(native)';
  if (url.startsWith('node:')) return 'node';
  const dependency = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1]!;
  const workspace = /\/(packages\/[^/]+|bench)\//.exec(url);
  return workspace ? workspace[1]! : url;
}

function describeFrame(frame: CallFrame): string {
  const where = frame.url ? `${frame.url.replace(/^.*\/(node_modules|packages|bench)\//, '$1/')}:${frame.lineNumber + 1}` : '';
  return `${frame.functionName || '(anonymous)'} ${where}`.trim();
}

/** A call tree with a weight of its own per node (CPU time, or bytes allocated), idle left out. */
interface WeightedTree {
  byId: Map<number, ProfileNode>;
  root: number | undefined;
  self: Map<number, number>;
}

/**
 * Self weight by package and by function, and the inclusive weight of the workspace's own
 * functions, as lines of `format(weight) name`, heaviest first.
 */
function rankTree(tree: WeightedTree, format: (weight: number) => string, top: number): { packages: string[]; functions: string[]; inclusive: string[] } {
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  for (const [id, weight] of tree.self) {
    const frame = tree.byId.get(id)?.callFrame;
    if (!frame) continue;
    const name = describeFrame(frame);
    functions.set(name, (functions.get(name) ?? 0) + weight);
    const pkg = frame.functionName.startsWith('(') ? frame.functionName : classifyUrl(frame.url);
    packages.set(pkg, (packages.get(pkg) ?? 0) + weight);
  }

  // Inclusive weight of the workspace's functions (self plus callees), counting a function once per
  // stack even when it recurses: what each Portcullis function costs with everything it calls.
  const inclusive = new Map<string, number>();
  const walk = (id: number, onStack: Set<string>): number => {
    const node = tree.byId.get(id);
    if (!node) return 0;
    let subtotal = tree.self.get(id) ?? 0;
    const name = describeFrame(node.callFrame);
    const own = /(^|\/)packages\//.test(node.callFrame.url) && !onStack.has(name);
    if (own) onStack.add(name);
    for (const child of node.children ?? []) subtotal += walk(child, onStack);
    if (own) {
      onStack.delete(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + subtotal);
    }
    return subtotal;
  };
  if (tree.root !== undefined) walk(tree.root, new Set());

  const rank = (map: Map<string, number>, n: number): string[] =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, weight]) => `  ${format(weight)}  ${name}`);
  return { packages: rank(packages, 10), functions: rank(functions, top), inclusive: rank(inclusive, top) };
}

/** Self time by function and by package, and inclusive time of workspace functions, from one V8 .cpuprofile. */
export function summarizeProfile(profile: CpuProfile, top = 15): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const micros = profile.timeDeltas[i] ?? 0;
    total += micros;
    if (byId.get(id)?.callFrame.functionName === '(idle)') idle += micros;
    else self.set(id, (self.get(id) ?? 0) + micros);
  });
  const busy = total - idle;
  const ranked = rankTree({ byId, root: profile.nodes[0]?.id, self }, (micros) => `${((micros / busy) * 100).toFixed(1)}%`.padStart(6), top);
  return [
    `busy ${(busy / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms sampled (percentages of busy time); self time by package:`,
    ...ranked.packages,
    'self time by function:',
    ...ranked.functions,
    'inclusive time of workspace functions (packages/*):',
    ...ranked.inclusive,
  ].join('\n');
}

/**
 * Bytes allocated per request, by package and by function (self), and by the workspace's
 * functions with what they call, from a profile of WindowHeapProfiler.
 */
export function summarizeHeapProfile(profile: HeapProfile, top = 15): string {
  const byId = new Map<number, ProfileNode>();
  const self = new Map<number, number>();
  let total = 0;
  const flatten = (node: HeapProfileNode): void => {
    byId.set(node.id, { id: node.id, callFrame: node.callFrame, children: node.children.map((child) => child.id) });
    if (node.selfSize > 0) self.set(node.id, node.selfSize);
    total += node.selfSize;
    node.children.forEach(flatten);
  };
  flatten(profile.head);
  const requests = Math.max(profile.requests, 1);
  const ranked = rankTree({ byId, root: profile.head.id, self }, (bytes) => `${(bytes / requests).toFixed(0).padStart(7)} B`, top);
  return [
    `allocated ${(total / requests / 1024).toFixed(1)} KiB per request over ${profile.requests} requests ` +
      '(freed objects included; bytes per request); self by package:',
    ...ranked.packages,
    'self by function:',
    ...ranked.functions,
    'inclusive of workspace functions (packages/*):',
    ...ranked.inclusive,
  ].join('\n');
}

/** Summarizes every CPU and heap profile in the folder, writing each summary beside its profile. */
export async function summarizeProfiles(dir: string): Promise<string> {
  const parts: string[] = [];
  for (const file of (await readdir(dir)).sort()) {
    const kind = /\.(cpu|heap)profile$/.exec(file)?.[1];
    if (kind === undefined) continue;
    const text = await readFile(join(dir, file), 'utf8');
    const body = kind === 'cpu' ? summarizeProfile(JSON.parse(text) as CpuProfile) : summarizeHeapProfile(JSON.parse(text) as HeapProfile);
    const summary = `== ${file}\n${body}`;
    // B2-sqlite.cpu-summary.txt beside B2-sqlite.cpuprofile.
    await writeFile(join(dir, file.replace(/profile$/, '-summary.txt')), `${summary}\n`);
    parts.push(summary);
  }
  return parts.join('\n\n');
}
