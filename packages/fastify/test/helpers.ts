import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify, { type FastifyInstance, type FastifyServerOptions, type LightMyRequestResponse } from 'fastify';
import type { OAuthStorage } from '@portcullis/core';
import { createDatabase, createKyselyStorage, migrate } from '@portcullis/kysely';
import { ScopeRegistry } from '@portcullis/scopes';
import portcullis, { type PortcullisOptions } from '../src/index.js';

declare module 'fastify' {
  interface Session {
    userId?: string;
  }
}

export const ISSUER = 'https://auth.example.test';
export const SESSION_SECRET = 'a-session-secret-of-at-least-32-characters!';

/** A fresh SQLite database in memory, migrated, behind the Kysely store. */
export async function createTestStorage(): Promise<{ storage: OAuthStorage; close: () => Promise<void> }> {
  const db = await createDatabase('sqlite::memory:');
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
  plugin?: Partial<PortcullisOptions>;
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
  const { storage, close } = await createTestStorage();
  const app = Fastify({ logger: false, ...options.fastify });
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: SESSION_SECRET,
    cookieName: 'sid',
    cookie: { secure: 'auto', httpOnly: true, sameSite: 'lax', path: '/' },
    saveUninitialized: false,
  });
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
  };
  if (options.mount) await options.mount(app, pluginOptions);
  else await app.register(portcullis, pluginOptions);
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
