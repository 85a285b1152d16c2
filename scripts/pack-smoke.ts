/**
 * The published packages, as a user gets them: packs every package with pnpm, checks what each
 * tarball holds, installs the tarballs with npm into a scratch Fastify project outside the
 * workspace, type-checks the plugin README's app example there under strict TypeScript
 * (`module: NodeNext`), starts it, and drives it over real HTTP: a client registered, a
 * client_credentials token, a 401 without it and a 200 with it from the protected route.
 *
 * The example is the fenced ts block after `<!-- example: app -->` in packages/fastify/README.md.
 * It must read `PORT` and `DATABASE_URL` from the environment, keep its Fastify instance in a
 * top-level `const app`, and protect one route with `preHandler: app.requireScope('<scope>')`.
 *
 * Usage: `pnpm test:pack` (`KEEP_SCRATCH=1` keeps the scratch directory for a look).
 */
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const packages = ['scopes', 'core', 'kysely', 'fastify'] as const;
const rootManifest = readJson(join(root, 'package.json')) as { packageManager: string };

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  scripts?: unknown;
  tap?: unknown;
  files?: string[];
  exports?: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const failures: string[] = [];
function check(condition: boolean, message: string): void {
  if (!condition) failures.push(message);
}
function fail(message: string): never {
  throw new Error(message);
}
function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}
function log(message: string): void {
  process.stdout.write(`pack-smoke: ${message}\n`);
}

/** Runs a command to completion; a non-zero exit fails the run with its output. */
function run(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.status !== 0) {
    fail(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}\n${result.stdout}${result.stderr}`);
  }
  return String(result.stdout);
}

/** pnpm as the workspace pins it: the running one under `pnpm test:pack`, else through npx. */
function pnpm(args: string[], cwd: string): string {
  const execPath = process.env['npm_execpath'];
  if (execPath && /pnpm/.test(execPath)) return run(process.execPath, [execPath, ...args], { cwd });
  return run('npx', ['-y', rootManifest.packageManager, ...args], { cwd });
}

/** The fenced ts block right after `<!-- example: NAME -->`. */
function extractExample(markdown: string, name: string, file: string): string {
  const lines = markdown.split('\n');
  const marker = lines.findIndex((line) => line.trim() === `<!-- example: ${name} -->`);
  if (marker === -1) fail(`${file} has no <!-- example: ${name} --> marker`);
  if (lines[marker + 1]?.trim() !== '```ts') fail(`${file}: the line after <!-- example: ${name} --> must open a ts block`);
  const end = lines.findIndex((line, index) => index > marker + 1 && line.trim() === '```');
  if (end === -1) fail(`${file}: the ${name} example's block is not closed`);
  return lines.slice(marker + 2, end).join('\n') + '\n';
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

// 1. Pack, and check each tarball holds what a user needs and nothing that points elsewhere.
log('building and packing');
run(join(root, 'node_modules/.bin/tsc'), ['-b'], { cwd: root });
const scratch = mkdtempSync(join(tmpdir(), 'portcullis-pack-'));
process.on('exit', () => {
  if (process.env['KEEP_SCRATCH']) log(`kept ${scratch}`);
  else rmSync(scratch, { recursive: true, force: true });
});
if (!relative(root, scratch).startsWith('..')) fail(`the scratch directory ${scratch} is inside the workspace`);
const tarballs = join(scratch, 'tarballs');
mkdirSync(tarballs);
const packed = new Map<string, Manifest>();
for (const name of packages) {
  const dir = join(root, 'packages', name);
  pnpm(['pack', '--pack-destination', tarballs], dir);
  const version = (readJson(join(dir, 'package.json')) as Manifest).version;
  const tarball = join(tarballs, `portcullis-${name}-${version}.tgz`);
  if (!existsSync(tarball)) fail(`pnpm pack wrote no ${tarball}`);
  const unpacked = join(scratch, 'unpacked', name);
  mkdirSync(unpacked, { recursive: true });
  run('tar', ['-xzf', tarball, '-C', unpacked]);
  const base = join(unpacked, 'package');
  const files = run('tar', ['-tzf', tarball]).trim().split('\n').map((path) => path.replace(/^package\//, ''));
  const manifest = readJson(join(base, 'package.json')) as Manifest;
  packed.set(manifest.name, manifest);

  for (const required of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md']) {
    check(files.includes(required), `${manifest.name}: the tarball has no ${required}`);
  }
  check(!files.some((path) => path.endsWith('.map')), `${manifest.name}: the tarball ships source maps`);
  check(!files.some((path) => path.endsWith('.tsbuildinfo')), `${manifest.name}: the tarball ships a .tsbuildinfo`);
  check(!files.some((path) => /^(src|test)\//.test(path)), `${manifest.name}: the tarball ships src/ or test/`);
  for (const path of files.filter((file) => /\.(js|d\.ts)$/.test(file))) {
    check(!readFileSync(join(base, path), 'utf8').includes('sourceMappingURL'), `${manifest.name}: ${path} names a source map`);
  }
  check(manifest.scripts === undefined, `${manifest.name}: the packed package.json has scripts`);
  check(manifest.tap === undefined, `${manifest.name}: the packed package.json has a tap configuration`);
  check(!JSON.stringify(manifest).includes('workspace:'), `${manifest.name}: the packed package.json keeps a workspace: range`);
  for (const [dependency, range] of Object.entries(manifest.dependencies ?? {})) {
    if (!dependency.startsWith('@portcullis/')) continue;
    const own = readJson(join(root, 'packages', dependency.slice('@portcullis/'.length), 'package.json')) as Manifest;
    check(range === `^${own.version}`, `${manifest.name}: ${dependency} is ${range}, not ^${own.version}`);
  }
  for (const target of Object.values(manifest.exports ?? {}).flatMap((entry) => (typeof entry === 'string' ? [entry] : Object.values(entry)))) {
    check(files.includes(target.replace(/^\.\//, '')), `${manifest.name}: exports names ${target}, which the tarball lacks`);
  }
}
if (failures.length > 0) fail(`the tarballs are not fit to publish:\n  ${failures.join('\n  ')}`);

// 2. A scratch Fastify project outside the workspace, with the tarballs installed by npm.
const readmePath = join(root, 'packages/fastify/README.md');
const example = extractExample(readFileSync(readmePath, 'utf8'), 'app', readmePath);
const route = /app\.(get|post|put|patch|delete)\(\s*'([^']+)'\s*,\s*\{[^}]*preHandler:\s*app\.requireScope\(\s*'([^']+)'\s*\)/.exec(example);
if (!route) fail(`${readmePath}: the app example protects no route with preHandler: app.requireScope('<scope>')`);
const method = route[1]!.toUpperCase();
const routePath = route[2]!;
const scope = route[3]!;

const app = join(scratch, 'app');
mkdirSync(join(app, 'src'), { recursive: true });
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'portcullis-pack-smoke', private: true, type: 'module' }, null, 2));
writeFileSync(
  join(app, 'tsconfig.json'),
  JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        types: ['node'],
        outDir: 'dist',
        rootDir: 'src',
      },
      include: ['src'],
    },
    null,
    2,
  ),
);

// pnpm passes its own settings to scripts as npm_config_*, which npm does not know and warns about.
const npmEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.startsWith('npm_') || ['npm_config_registry', 'npm_config_cache', 'npm_config_userconfig'].includes(key)),
);

// What the example imports, at the range our packages ask for when it is one of their peers.
const peerRanges = new Map<string, string>();
for (const manifest of packed.values()) {
  for (const [peer, range] of Object.entries(manifest.peerDependencies ?? {})) peerRanges.set(peer, range);
}
const imported = new Set([...example.matchAll(/from '([^']+)'/g)].map((match) => match[1]!));
const appDependencies = [...imported]
  .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:') && !specifier.startsWith('@portcullis/'))
  .map((specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'))
  .map((name) => `${name}@${peerRanges.get(name) ?? 'latest'}`);
// The SQLite driver the README says to install, at the workspace's version so its native build can be reused.
const workspaceSqlite = join(root, 'packages/kysely/node_modules/better-sqlite3');
const sqliteVersion = (readJson(join(workspaceSqlite, 'package.json')) as Manifest).version;
const typescriptVersion = (readJson(join(root, 'node_modules/typescript/package.json')) as Manifest).version;

log(`installing the tarballs and ${appDependencies.join(', ')} with npm in ${app}`);
run(
  'npm',
  [
    'install',
    '--no-audit',
    '--no-fund',
    '--ignore-scripts',
    ...packages.map((name) => join(tarballs, `portcullis-${name}-${packed.get(`@portcullis/${name}`)!.version}.tgz`)),
    ...appDependencies,
    `better-sqlite3@${sqliteVersion}`,
  ],
  { cwd: app, env: npmEnv },
);
run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--save-dev', `typescript@${typescriptVersion}`, '@types/node@20'], {
  cwd: app,
  env: npmEnv,
});
// better-sqlite3's install script compiles it from source. The workspace compiled this very
// version for this Node already, so its addon is copied; another version is compiled here.
const addon = 'build/Release/better_sqlite3.node';
const installedSqlite = join(app, 'node_modules/better-sqlite3');
if (existsSync(join(workspaceSqlite, addon)) && (readJson(join(installedSqlite, 'package.json')) as Manifest).version === sqliteVersion) {
  mkdirSync(join(installedSqlite, 'build/Release'), { recursive: true });
  copyFileSync(join(workspaceSqlite, addon), join(installedSqlite, addon));
} else {
  run('npm', ['rebuild', 'better-sqlite3'], { cwd: app, env: npmEnv });
}

// npm ls lists an optional peer that is not installed as "UNMET OPTIONAL DEPENDENCY". The only
// ones allowed are the database drivers this app does not use; anything else is a problem.
const ls = spawnSync('npm', ['ls', '--all'], { cwd: app, encoding: 'utf8', env: npmEnv });
const unusedDrivers = /UNMET OPTIONAL DEPENDENCY (mysql2|pg)@/;
const problems = `${ls.stdout}${ls.stderr}`
  .split('\n')
  .filter((line) => /UNMET|invalid|missing|extraneous|ERR!/i.test(line) && !unusedDrivers.test(line));
if (ls.status !== 0 || problems.length > 0) {
  fail(`npm ls reports problems in the scratch project (exit ${ls.status}):\n${problems.join('\n')}\n${ls.stderr}`);
}
const installed = readdirSync(join(app, 'node_modules/@portcullis')).sort();
if (installed.join() !== [...packages].sort().join()) fail(`node_modules/@portcullis holds ${installed.join(', ')}`);

// 3. The README's example, type-checked as it stands, then run with a client registered as the
// README's next snippet does it, its credentials printed for this script.
writeFileSync(
  join(app, 'src/app.ts'),
  `${example}
// Appended by the pack smoke test.
const smokeClient = await app.oauth.registerClient({ name: 'Pack smoke test', grantTypes: ['client_credentials'], scopes: [${JSON.stringify(scope)}] });
console.log('PACK_SMOKE ' + JSON.stringify({ clientId: smokeClient.client.id, clientSecret: smokeClient.clientSecret }));
`,
);
// The storage contract suite's entry, which must type-check with no test framework installed.
writeFileSync(
  join(app, 'src/contract-entry.ts'),
  `import { runStorageContract, type ContractTest } from '@portcullis/core/testing';
import { MemoryStorage } from '@portcullis/core';
export const runOnMemory = (t: ContractTest) => runStorageContract(t, 'memory', async () => ({ storage: new MemoryStorage(), close: async () => {} }));
`,
);
log('type-checking and building the README example under strict TypeScript (module NodeNext)');
run(join(app, 'node_modules/.bin/tsc'), ['-p', app], { cwd: app });

const port = await freePort();
const child = spawn(process.execPath, ['dist/app.js'], {
  cwd: app,
  env: {
    ...process.env,
    PORT: String(port),
    DATABASE_URL: `sqlite:${join(app, 'portcullis.sqlite')}`,
    SESSION_SECRET: 'pack-smoke-session-secret-of-32-characters',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let output = '';
child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));

try {
  const credentials = await new Promise<{ clientId: string; clientSecret: string }>((resolveCredentials, reject) => {
    const timer = setTimeout(() => reject(new Error(`the example did not start within 30 s:\n${output}`)), 30_000);
    child.on('exit', (code) => reject(new Error(`the example exited with ${code}:\n${output}`)));
    child.stdout.on('data', () => {
      const line = /^PACK_SMOKE (.*)$/m.exec(output);
      if (!line) return;
      clearTimeout(timer);
      resolveCredentials(JSON.parse(line[1]!) as { clientId: string; clientSecret: string });
    });
  });
  const base = `http://127.0.0.1:${port}`;
  log(`the example listens on ${base}; client ${credentials.clientId} registered`);

  const tokenResponse = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.clientSecret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
  });
  const tokenBody = (await tokenResponse.json()) as Record<string, unknown>;
  if (tokenResponse.status !== 200) fail(`POST /oauth/token answered ${tokenResponse.status}: ${JSON.stringify(tokenBody)}`);
  if (tokenResponse.headers.get('cache-control') !== 'no-store') fail('the token response is not Cache-Control: no-store');
  if (typeof tokenBody['access_token'] !== 'string' || tokenBody['token_type'] !== 'Bearer' || tokenBody['scope'] !== scope) {
    fail(`unexpected token response: ${JSON.stringify(tokenBody)}`);
  }

  const url = `${base}${routePath.replace(/:[A-Za-z_]+/g, '1')}`;
  const refused = await fetch(url, { method });
  if (refused.status !== 401 || !refused.headers.get('www-authenticate')?.startsWith('Bearer ')) {
    fail(`${method} ${url} without a token answered ${refused.status}, WWW-Authenticate ${refused.headers.get('www-authenticate')}`);
  }
  const allowed = await fetch(url, { method, headers: { authorization: `Bearer ${tokenBody['access_token'] as string}` } });
  const allowedBody = await allowed.text();
  if (allowed.status !== 200) fail(`${method} ${url} with the token answered ${allowed.status}: ${allowedBody}`);
  log(`token issued; ${method} ${routePath} answered 401 without it and 200 with it: ${allowedBody}`);
} finally {
  child.kill();
}
log('ok');
