import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
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

/** Self time by function and by package, and inclusive time of workspace functions, from one V8 .cpuprofile. */
export function summarizeProfile(profile: CpuProfile, top = 15): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfTime = new Map<number, number>();
  profile.samples.forEach((id, i) => selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  let total = 0;
  let idle = 0;
  const describe = (frame: ProfileNode['callFrame']): string => {
    const where = frame.url ? `${frame.url.replace(/^.*\/(node_modules|packages|bench)\//, '$1/')}:${frame.lineNumber + 1}` : '';
    return `${frame.functionName || '(anonymous)'} ${where}`.trim();
  };
  for (const [id, micros] of selfTime) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    total += micros;
    if (frame.functionName === '(idle)') {
      idle += micros;
      continue;
    }
    const name = describe(frame);
    functions.set(name, (functions.get(name) ?? 0) + micros);
    const pkg = frame.functionName.startsWith('(') ? frame.functionName : classifyUrl(frame.url);
    packages.set(pkg, (packages.get(pkg) ?? 0) + micros);
  }

  // Inclusive time of the workspace's functions (self plus callees), counting a function once per
  // stack even when it recurses: what each Portcullis function costs with everything it calls.
  const inclusive = new Map<string, number>();
  const walk = (id: number, onStack: Set<string>): number => {
    const node = byId.get(id);
    if (!node) return 0;
    let subtotal = selfTime.get(id) ?? 0;
    const name = describe(node.callFrame);
    const own = /(^|\/)packages\//.test(node.callFrame.url) && !onStack.has(name);
    if (own) onStack.add(name);
    for (const child of node.children ?? []) subtotal += walk(child, onStack);
    if (own) {
      onStack.delete(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + subtotal);
    }
    return subtotal;
  };
  const root = profile.nodes[0];
  if (root) walk(root.id, new Set());

  const busy = total - idle;
  const percent = (micros: number): string => `${((micros / busy) * 100).toFixed(1)}%`.padStart(6);
  const rank = (map: Map<string, number>, n: number): string[] =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, micros]) => `  ${percent(micros)}  ${name}`);
  return [
    `busy ${(busy / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms sampled (percentages of busy time); self time by package:`,
    ...rank(packages, 10),
    'self time by function:',
    ...rank(functions, top),
    'inclusive time of workspace functions (packages/*):',
    ...rank(inclusive, top),
  ].join('\n');
}

/** Summarizes every profile in the folder, writing each summary beside its profile. */
export async function summarizeProfiles(dir: string): Promise<string> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort();
  const parts: string[] = [];
  for (const file of files) {
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
    const summary = `== ${file}\n${summarizeProfile(profile)}`;
    await writeFile(join(dir, file.replace(/\.cpuprofile$/, '.summary.txt')), `${summary}\n`);
    parts.push(summary);
  }
  return parts.join('\n\n');
}
