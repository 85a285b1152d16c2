import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RATE_LIMIT } from './rate-limits.js';
import { parseTrustProxy, type TrustedProxies } from './trusted-proxies.js';

/** apps/demo, whether running from src (tsx) or dist. */
export const DEMO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface DemoConfig {
  host: string;
  port: number;
  databaseUrl: string;
  dataDir: string;
  development: boolean;
  issuer: string;
  /** REDIS_URL: sessions and rate-limit counts shared by every instance. */
  redisUrl?: string;
  /** REDIS_KEY_PREFIX: instances that share state share it. */
  redisKeyPrefix: string;
  /** RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW per client address (rate-limits.ts). */
  rateLimit: { max: number; windowMs: number };
  /** TRUST_PROXY: the proxies whose X-Forwarded-* headers count; none when absent. */
  trustProxy?: TrustedProxies;
  /** METRICS_TOKEN: the bearer token that reads `/metrics` (at least 32 characters); admins' sessions only when absent. */
  metricsToken?: string;
}


/**
 * Reads the environment. A relative `sqlite:` path is taken from the demo folder, so `pnpm start`
 * at the repository root and `node dist/main.js` in apps/demo open the same file.
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env): DemoConfig {
  const host = env.HOST || '127.0.0.1';
  const port = env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number (got ${JSON.stringify(env.PORT)})`);
  const dataDir = env.DATA_DIR ? resolve(env.DATA_DIR) : resolve(DEMO_ROOT, 'data');
  const databaseUrl = resolveDatabaseUrl(env.DATABASE_URL || 'sqlite:data/portcullis.sqlite');
  const development = env.NODE_ENV !== 'production';
  const issuer = env.ISSUER || defaultIssuer(host, port, development);
  const max = env.RATE_LIMIT_MAX ? Number(env.RATE_LIMIT_MAX) : DEFAULT_RATE_LIMIT.max;
  if (!Number.isInteger(max) || max < 1) throw new Error(`RATE_LIMIT_MAX must be a positive integer (got ${JSON.stringify(env.RATE_LIMIT_MAX)})`);
  const windowMs = env.RATE_LIMIT_WINDOW ? parseWindow(env.RATE_LIMIT_WINDOW) : DEFAULT_RATE_LIMIT.windowMs;
  const trustProxy = env.TRUST_PROXY ? parseTrustProxy(env.TRUST_PROXY) : undefined;
  const metricsToken = env.METRICS_TOKEN || undefined;
  if (metricsToken !== undefined && metricsToken.length < 32) throw new Error('METRICS_TOKEN must be at least 32 characters');
  return {
    host,
    port,
    databaseUrl,
    dataDir,
    development,
    issuer,
    ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
    redisKeyPrefix: env.REDIS_KEY_PREFIX || 'portcullis-demo:',
    rateLimit: { max, windowMs },
    ...(trustProxy === undefined ? {} : { trustProxy }),
    ...(metricsToken === undefined ? {} : { metricsToken }),
  };
}


/**
 * The MCP server's resource identifier (RFC 8707 section 2, RFC 9728 section 1.2): its URL, the
 * issuer's origin and path with `/mcp` appended. It is what MCP clients send as `resource` and where
 * the demo serves the MCP endpoint.
 */
export function mcpResourceIdentifier(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/mcp`;
}

function defaultIssuer(host: string, port: number, development: boolean): string {
  return `${development ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * PORT=0 asks for any free port, but the issuer (in the metadata, and the base of every URL the
 * app hands out) must name its port before the app is built: take a free port from the kernel
 * now and listen on that one. Another process could take it in between; PORT=0 is for tests and
 * throwaway runs, where that is a failed start, not a wrong answer.
 */
export async function claimFreePort(config: DemoConfig, env: NodeJS.ProcessEnv = process.env): Promise<DemoConfig> {
  if (config.port !== 0) return config;
  const port = await new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host: config.host, port: 0, exclusive: true }, () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port was bound'))));
    });
  });
  return { ...config, port, issuer: env.ISSUER || defaultIssuer(config.host, port, config.development) };
}

/** `RATE_LIMIT_WINDOW`: milliseconds (`60000`), or seconds and minutes (`30s`, `1m`). */
export function parseWindow(value: string): number {
  const match = /^(\d+)(ms|s|m)?$/.exec(value.trim());
  const amount = match ? Number(match[1]) : NaN;
  const windowMs = match?.[2] === 's' ? amount * 1000 : match?.[2] === 'm' ? amount * 60_000 : amount;
  if (!Number.isSafeInteger(windowMs) || windowMs < 1) throw new Error(`RATE_LIMIT_WINDOW must be milliseconds, or a number of s or m (got ${JSON.stringify(value)})`);
  return windowMs;
}

export function resolveDatabaseUrl(url: string): string {
  if (!url.startsWith('sqlite:')) return url;
  const path = url.slice('sqlite:'.length);
  if (path === ':memory:' || path === '' || isAbsolute(path)) return url;
  return `sqlite:${resolve(DEMO_ROOT, path)}`;
}

/** Creates the folder of a SQLite file (and the data folder) before the driver opens it. */
export function prepareFolders(config: Pick<DemoConfig, 'databaseUrl' | 'dataDir'>): void {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  if (config.databaseUrl.startsWith('sqlite:')) {
    const path = config.databaseUrl.slice('sqlite:'.length);
    if (path !== ':memory:' && !existsSync(dirname(path))) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  }
}
