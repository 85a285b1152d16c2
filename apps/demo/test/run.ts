import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEMO_DIR = fileURLToPath(new URL('..', import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The built entry points, exactly what `pnpm demo` and `pnpm start` run (the root `pnpm test`
 * builds first; alone, run `npx tsc -b` at the root).
 */
function entryPoint(name: 'cli' | 'main'): string {
  const path = join(DEMO_DIR, 'dist', `${name}.js`);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npx tsc -b\` at the repository root first`);
  return path;
}

/** Runs a built demo entry point in a child Node. */
export function runNode(name: 'cli' | 'main', args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entryPoint(name), ...args], { cwd: DEMO_DIR, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export function runCliProcess(args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return runNode('cli', args, env);
}

/** A loopback port nobody listens on now: a test's issuer must name the port the demo will listen on. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface RunningServer {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
  stop(): Promise<number | null>;
}

/** Starts dist/main.js on an ephemeral port and waits for its "on http://..." line. */
export function startServer(env: NodeJS.ProcessEnv): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entryPoint('main')], {
      cwd: DEMO_DIR,
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env },
    });
    let output = '';
    const timer = setTimeout(() => reject(new Error(`the demo did not start:\n${output}`)), 30_000);
    const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Portcullis polls demo on (http:\/\/[^\s]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({
          child,
          baseUrl: match[1]!,
          output: () => output,
          stop: async () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited (${code}):\n${output}`));
    });
  });
}

/** A cookie jar over fetch, for real HTTP against a child process. */
export class HttpBrowser {
  readonly cookies = new Map<string, string>();

  /** `headers` go with every request (a proxy's X-Forwarded-Proto, say). */
  constructor(private readonly headers: Record<string, string> = {}) {}

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<{ status: number; location: string | null; body: string }> {
    const headers: Record<string, string> = { ...this.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const response = await fetch(url, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, redirect: 'manual', ...(body === undefined ? {} : { body }) });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(cookie)) this.cookies.delete(name);
      else this.cookies.set(name, pair!.slice(eq + 1));
    }
    return { status: response.status, location: response.headers.get('location'), body: await response.text() };
  }
}

/** A form POST over real HTTP; the body parsed when it is JSON. */
export async function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
  const text = await response.text();
  return { status: response.status, json: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
