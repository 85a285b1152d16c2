import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import ts from 'typescript';

/*
 * Every ```ts and ```typescript block of the package READMEs and the root README is type-checked
 * under strict TypeScript with NodeNext modules, against the workspace packages, as a user's
 * project would compile it. Each block is a module of its own: it brings its imports.
 *
 * A block that builds on another says so with an HTML comment on the line before its fence:
 *
 *   <!-- example: NAME -->   names the block that follows
 *   <!-- continues: NAME --> the block that follows is checked appended to the block NAME of the
 *                            same README (and to whatever that one continues)
 *
 * Markdown renders neither comment.
 */

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const repositoryRoot = join(packageRoot, '..');
const READMES = ['README.md', 'packages/scopes/README.md', 'packages/core/README.md', 'packages/kysely/README.md', 'packages/fastify/README.md'];

interface Snippet {
  readme: string;
  /** The README line of the block's first code line (1-based). */
  line: number;
  code: string;
  name: string | undefined;
  continues: string | undefined;
}

const FENCE = /^```(ts|typescript)\s*$/;

function extractSnippets(readme: string, text: string): Snippet[] {
  const lines = text.split('\n');
  const snippets: Snippet[] = [];
  for (let index = 0; index < lines.length; index++) {
    const opening = lines[index]!.trim();
    if (!opening.startsWith('```')) continue;
    const start = index;
    let end = index + 1;
    while (end < lines.length && lines[end]!.trim() !== '```') end++;
    index = end;
    if (!FENCE.test(opening)) continue;
    let before = start - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const comment = before >= 0 ? /^<!--\s*(example|continues):\s*([\w-]+)\s*-->$/.exec(lines[before]!.trim()) : null;
    // Blocks indented in a list keep their indentation in the README; the compiler does not mind.
    snippets.push({
      readme,
      line: start + 2,
      code: lines.slice(start + 1, end).join('\n'),
      name: comment?.[1] === 'example' ? comment[2] : undefined,
      continues: comment?.[1] === 'continues' ? comment[2] : undefined,
    });
  }
  return snippets;
}

/** The blocks a snippet is checked with, first to last (itself last). */
function chainOf(snippet: Snippet, all: Snippet[]): Snippet[] {
  const chain = [snippet];
  let current = snippet;
  while (current.continues !== undefined) {
    const name = current.continues;
    const base = all.find((candidate) => candidate.readme === current.readme && candidate.name === name);
    if (base === undefined) throw new Error(`${current.readme}:${current.line}: continues "${name}", which no <!-- example: ${name} --> names`);
    if (chain.includes(base)) throw new Error(`${current.readme}:${current.line}: a cycle of continues`);
    chain.unshift(base);
    current = base;
  }
  return chain;
}

const OPTIONS: ts.CompilerOptions = {
  strict: true,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts'],
  types: ['node'],
  noEmit: true,
  skipLibCheck: true,
};

t.test('every TypeScript snippet of the READMEs compiles under strict NodeNext', async (t) => {
  const snippets: Snippet[] = [];
  for (const readme of READMES) snippets.push(...extractSnippets(readme, await readFile(join(repositoryRoot, readme), 'utf8')));
  t.ok(snippets.length >= 20, `found ${snippets.length} snippets`);
  for (const readme of READMES.slice(1)) t.ok(snippets.some((snippet) => snippet.readme === readme), `${readme} has snippets`);

  // Inside this package, so @portcullis/* and the other imports resolve as in a user's project.
  const directory = join(packageRoot, '.snippets');
  await rm(directory, { recursive: true, force: true });
  await mkdir(directory, { recursive: true });
  t.teardown(() => rm(directory, { recursive: true, force: true }));

  // Each file line maps back to a README line.
  const origins = new Map<string, { readme: string; line: number }[]>();
  const files: string[] = [];
  for (const [index, snippet] of snippets.entries()) {
    const map: { readme: string; line: number }[] = [];
    const parts: string[] = [];
    for (const part of chainOf(snippet, snippets)) {
      const lines = part.code.split('\n');
      parts.push(...lines);
      lines.forEach((_, offset) => map.push({ readme: part.readme, line: part.line + offset }));
    }
    // A module, even when the block imports nothing, so blocks never share top-level names.
    parts.push('export {};');
    const file = join(directory, `${snippet.readme.replace(/[/.]/g, '-')}-${String(index).padStart(2, '0')}.mts`);
    await writeFile(file, parts.join('\n'));
    origins.set(file, map);
    files.push(file);
  }

  const program = ts.createProgram(files, OPTIONS);
  const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (diagnostic.file === undefined || diagnostic.start === undefined) return message;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const origin = origins.get(diagnostic.file.fileName)?.[line];
    const where = origin ? `${origin.readme}:${origin.line}` : `${relative(repositoryRoot, diagnostic.file.fileName)}:${line + 1}`;
    return `${where}: TS${diagnostic.code} ${message}`;
  });
  // One line per error, README file and line first, so the failure reads as a compiler's.
  t.equal(diagnostics.join('\n'), '', 'no compiler errors');
});

t.test('the snippet extraction reads names and continuations', async (t) => {
  const readme = [
    '<!-- example: base -->',
    '```ts',
    'const a = 1;',
    '```',
    '```js',
    'not checked',
    '```',
    '<!-- continues: base -->',
    '',
    '```typescript',
    'const b: number = a;',
    '```',
  ].join('\n');
  const snippets = extractSnippets('X.md', readme);
  t.strictSame(snippets, [
    { readme: 'X.md', line: 3, code: 'const a = 1;', name: 'base', continues: undefined },
    { readme: 'X.md', line: 11, code: 'const b: number = a;', name: undefined, continues: 'base' },
  ]);
  t.strictSame(chainOf(snippets[1]!, snippets).map((snippet) => snippet.line), [3, 11]);
  t.throws(() => chainOf({ ...snippets[1]!, continues: 'nope' }, snippets), /continues "nope"/);
});
