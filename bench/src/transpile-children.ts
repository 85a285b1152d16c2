import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

/**
 * Turns the bench's TypeScript into plain JavaScript once per run, so that the many children run
 * on bare Node: tsx's loader hooks cost each child about a second of CPU at start-up and would
 * stay installed in the very process being measured. Type-only syntax is simply dropped; the
 * type check is `tsc` (the root typecheck covers bench/).
 *
 * The output sits under bench/node_modules/.cache so that the children still resolve the bench's
 * dependencies from bench/node_modules.
 */
export async function transpileChildren(sourceDir: string, outDir: string): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  for (const file of await listTypeScriptFiles(sourceDir)) {
    const source = await readFile(file, 'utf8');
    const output = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: {
        // ES modules out, whatever transpileModule guesses for a lone file.
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
        sourceMap: false,
      },
    });
    const target = join(outDir, relative(sourceDir, file)).replace(/\.ts$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, output.outputText);
  }
  // The bench package is "type": "module"; say so for the copy too, whatever lies above it.
  await writeFile(join(outDir, 'package.json'), '{ "type": "module" }\n');
}

async function listTypeScriptFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listTypeScriptFiles(path)));
    // Declaration files carry types only: nothing to run.
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}
