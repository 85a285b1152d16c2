import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions, type LightMyRequestResponse } from 'fastify';
import fp from 'fastify-plugin';
import type { OAuthStorage } from '@portcullis/core';
import { createDatabase, createKyselyStorage, migrate } from '@portcullis/kysely';
import { ScopeRegistry } from '@portcullis/scopes';
import fastifyPortcullis, { type PortcullisOptions, type PortcullisOptionsBase } from '../src/index.js';

declare module 'fastify' {
  interface Session {
    userId?: string;
  }
}

export const ISSUER = 'https://auth.example.test';
export const SESSION_SECRET = 'a-session-secret-of-at-least-32-characters!';

/** A fresh database (by default SQLite in memory), migrated, behind the Kysely store. */
export async function createTestStorage(url = 'sqlite::memory:'): Promise<{ storage: OAuthStorage; close: () => Promise<void> }> {
  const db = await createDatabase(url);
  await migrate(db);
  let closed = false;
  return {
    storage: createKyselyStorage(db),
    close: async () => {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

export function createTestScopes(): ScopeRegistry {
  return new ScopeRegistry([
    { name: 'read', bit: 1, description: 'Read your data' },
    { name: 'write', bit: 2, includes: ['read'], description: 'Read and change your data' },
    { name: 'polls:vote', description: 'Vote in polls <for you>' },
    { name: 'polls:results', description: 'See poll results' },
  ]);
}

export interface TestAppOptions {
  /** The empty database the store migrates and uses; default a SQLite one in memory. */
  databaseUrl?: string;
  plugin?: Partial<PortcullisOptionsBase>;
  fastify?: FastifyServerOptions;
  /** Registers the routes of the test (before ready). */
  routes?: (app: FastifyInstance) => void | Promise<void>;
  /** Registers the plugin itself (for prefix and encapsulation tests); default: at the root. */
  mount?: (app: FastifyInstance, options: PortcullisOptions) => Promise<void>;
}

export interface TestApp {
  app: FastifyInstance;
  storage: OAuthStorage;
  /** Closes the database only, leaving the app up: how a test makes storage fail for real. */
  closeDatabase: () => Promise<void>;
  close: () => Promise<void>;
}

/**
 * An application as a user of the plugin writes it: cookie and session, a tiny login route that
 * signs in whoever it names, and the plugin on the SQLite store, in development mode (plain
 * HTTP, as inject speaks) unless the test says otherwise.
 */
export async function buildTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const { storage, close } = await createTestStorage(options.databaseUrl);
  const app = Fastify({ logger: false, ...options.fastify });
  await registerSession(app);
  app.post<{ Querystring: { user?: string } }>('/login', async (request) => {
    // A new session id at login (no fixation), keeping the pending authorization request.
    await request.session.regenerate(['portcullis', 'oauthPending']);
    request.session.set('userId', request.query.user ?? 'alice');
    return { ok: true };
  });
  const pluginOptions: PortcullisOptions = {
    storage,
    scopes: createTestScopes(),
    issuer: ISSUER,
    development: true,
    getUser: (request) => {
      const id = request.session.get('userId');
      return id === undefined ? null : { id, username: id };
    },
    loginUrl: '/login',
    ...options.plugin,
  } as PortcullisOptions;
  if (options.mount) await options.mount(app, pluginOptions);
  else await app.register(fastifyPortcullis, pluginOptions);
  await options.routes?.(app);
  await app.ready();
  return {
    app,
    storage,
    closeDatabase: close,
    close: async () => {
      await app.close();
      await close();
    },
  };
}

/** Carries cookies between injects, as a browser would. */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(response: LightMyRequestResponse): void {
    for (const cookie of response.cookies as { name: string; value: string }[]) this.#cookies.set(cookie.name, cookie.value);
  }

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

export function form(values: Record<string, string | string[]>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    for (const item of Array.isArray(value) ? value : [value]) params.append(name, item);
  }
  return params.toString();
}

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

export function basicAuth(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** The hidden CSRF field of a consent page. */
export function readCsrfToken(html: string): string {
  const match = /name="csrf_token" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error('no csrf_token in the page');
  return match[1];
}

/**
 * How a test application keeps sessions: `@fastify/session` itself, or `plain`, a session of the
 * application's own that has no hook after the handler (no onSend), so a reply leaves the route
 * with nothing in between.
 */
export type SessionKind = 'fastify-session' | 'plain';

/**
 * The plain session: a Map per `sid` cookie, set when the session starts. Registered under
 * `@fastify/session`'s name, the dependency the plugin declares, as an application on another
 * session library would.
 */
const plainSession = fp(
  async function plainSession(app: FastifyInstance) {
    const sessions = new Map<string, Map<string, unknown>>();
    const open = (request: FastifyRequest, id: string): void => {
      const data = sessions.get(id) ?? new Map<string, unknown>();
      sessions.set(id, data);
      const session = {
        get: (key: string) => data.get(key),
        set: (key: string, value: unknown) => (value === undefined ? data.delete(key) : data.set(key, value)),
        regenerate: async (keep: string[] = []) => {
          const next = randomBytes(16).toString('hex');
          sessions.set(next, new Map([...data].filter(([key]) => keep.includes(key))));
          sessions.delete(id);
          open(request, next);
        },
      };
      (request as unknown as { session: typeof session }).session = session;
      (request as unknown as { sid: string }).sid = id;
    };
    app.decorateRequest('sid', '');
    app.addHook('onRequest', async (request, reply) => {
      const sent = request.cookies.sid;
      const id = sent !== undefined && sessions.has(sent) ? sent : randomBytes(16).toString('hex');
      open(request, id);
      if (id !== sent) reply.header('set-cookie', `sid=${id}; Path=/; HttpOnly`);
    });
    // Regenerated in the handler: the new id goes out before the reply does.
    app.addHook('preSerialization', async (request, reply, payload) => {
      const id = (request as unknown as { sid: string }).sid;
      if (id !== request.cookies.sid) reply.header('set-cookie', `sid=${id}; Path=/; HttpOnly`);
      return payload;
    });
  },
  { name: '@fastify/session', dependencies: ['@fastify/cookie'] },
);

/** Cookies and the session of the given kind, as the plugin needs them. */
export async function registerSession(app: FastifyInstance, kind: SessionKind = 'fastify-session'): Promise<void> {
  await app.register(fastifyCookie);
  if (kind === 'plain') {
    await app.register(plainSession);
    return;
  }
  await app.register(fastifySession, {
    secret: SESSION_SECRET,
    cookieName: 'sid',
    cookie: { secure: 'auto', httpOnly: true, sameSite: 'lax', path: '/' },
    saveUninitialized: false,
  });
}

/** A free loopback port: the issuer must be known before the plugin is registered. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A browser's cookie handling, enough for one host. */
export class Browser {
  readonly #cookies = new Map<string, string>();

  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#cookies.size > 0) headers.set('cookie', [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const separator = pair!.indexOf('=');
      this.#cookies.set(pair!.slice(0, separator), pair!.slice(separator + 1));
    }
    return response;
  }
}
