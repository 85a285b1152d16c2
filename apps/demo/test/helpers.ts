import { formatAuthorizationHeader, signRequest } from '@portcullis/core';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Test } from 'tap';
import { buildApp, type BuildAppOptions } from '../src/app.js';
import { createPoll } from '../src/polls.js';
import { createUser, type DemoUser } from '../src/users.js';

export const SESSION_SECRET = 'a test session secret of at least 32 characters';
export const SECRET_KEY = '0123456789abcdef'.repeat(4);
export const ALICE_PASSWORD = 'alice-password';
export const ADMIN_PASSWORD = 'admin-password';
/** The test app's issuer; OAuth 1.0a requests are signed for its origin, whatever address they reach. */
export const TEST_ISSUER = 'http://127.0.0.1:3000';

export interface TestApp {
  app: FastifyInstance;
  alice: DemoUser;
  admin: DemoUser;
  pollId: number;
  /** A confidential client with every grant, redirecting to https://client.example/cb. */
  client: { id: string; secret: string };
}

/** The demo on a private in-memory SQLite database, with two users, a poll and a client. */
export async function buildTestApp(overrides: Partial<BuildAppOptions> = {}): Promise<TestApp> {
  const app = await buildApp({
    databaseUrl: 'sqlite::memory:',
    development: true,
    sessionSecret: SESSION_SECRET,
    secretKey: SECRET_KEY,
    issuer: TEST_ISSUER,
    ...overrides,
  });
  await app.ready();
  const { db, scopes } = app.demo;
  const alice = await createUser(db, { username: 'alice', password: ALICE_PASSWORD });
  const admin = await createUser(db, { username: 'admin', password: ADMIN_PASSWORD, isAdmin: true });
  const pollId = await createPoll(db, 'Tea or coffee?', ['Tea', 'Coffee']);
  const registered = await app.oauth.registerClient({
    name: 'Test <Client>',
    redirectUris: ['https://client.example/cb'],
    scopes: scopes.list().map((s) => s.name),
    grantTypes: ['authorization_code', 'implicit', 'password', 'client_credentials', 'refresh_token'],
    type: 'confidential',
    oauth1Enabled: true,
  });
  return { app, alice, admin, pollId, client: { id: registered.client.id, secret: registered.clientSecret ?? '' } };
}

/** A cookie jar over inject: keeps what Set-Cookie sends, sends it back. */
export class Browser {
  readonly cookies = new Map<string, string>();
  constructor(private readonly app: FastifyInstance) {}

  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** `remoteAddress`: the peer every request comes from (inject's default is 127.0.0.1). */
  remoteAddress: string | undefined;
  /** Headers sent with every request (a proxy's X-Forwarded-Proto, say). */
  headers: Record<string, string> = {};

  async request(options: { method?: 'GET' | 'POST'; url: string; form?: Record<string, string | string[]>; headers?: Record<string, string> }): Promise<LightMyRequestResponse> {
    const headers: Record<string, string> = { ...this.headers, ...(options.headers ?? {}) };
    if (this.cookies.size) headers.cookie = this.cookieHeader;
    let payload: string | undefined;
    if (options.form) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(options.form)) for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
      payload = params.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const response = await this.app.inject({
      method: options.method ?? (options.form ? 'POST' : 'GET'),
      url: options.url,
      headers,
      ...(payload === undefined ? {} : { payload }),
      ...(this.remoteAddress === undefined ? {} : { remoteAddress: this.remoteAddress }),
    });
    for (const cookie of response.cookies as { name: string; value: string; expires?: Date }[]) {
      if (cookie.expires && cookie.expires.getTime() < Date.now()) this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
    return response;
  }

  get(url: string) {
    return this.request({ url });
  }

  post(url: string, form: Record<string, string | string[]>) {
    return this.request({ method: 'POST', url, form });
  }

  /** The `_csrf` field of the last form on a page. */
  static csrf(body: string, field = '_csrf'): string {
    const matches = [...body.matchAll(new RegExp(`name="${field}" value="([^"]+)"`, 'g'))];
    const value = matches.at(-1)?.[1];
    if (!value) throw new Error(`no ${field} field on the page`);
    return value;
  }

  async login(username: string, password: string, returnTo = '/'): Promise<LightMyRequestResponse> {
    const page = await this.get(`/login?returnTo=${encodeURIComponent(returnTo)}`);
    return this.post('/login', { _csrf: Browser.csrf(page.body), username, password, returnTo });
  }
}

/** application/x-www-form-urlencoded, as curl -d sends it. */
export function form(fields: Record<string, string>, headers: Record<string, string> = {}): { payload: string; headers: Record<string, string> } {
  return { payload: new URLSearchParams(fields).toString(), headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' } };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** HTTP Basic client authentication, id and secret form-encoded first (RFC 6749 section 2.3.1). */
export function basicAuth(id: string, secret: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` };
}

/**
 * Records every promise rejection left unhandled from now until the test ends: in the demo process
 * such a rejection stops the server. Node reports them a tick late, so the check waits a moment.
 */
export function watchUnhandledRejections(t: Test): { assertNone(): Promise<void> } {
  const seen: unknown[] = [];
  const record = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', record);
  t.teardown(() => {
    process.off('unhandledRejection', record);
  });
  return {
    async assertNone() {
      await new Promise((resolve) => setTimeout(resolve, 50));
      t.same(seen.map(String), [], 'no unhandled rejection');
    },
  };
}

/** The answer to a request, or a failure if none comes (a request left hanging). */
export async function answered<T>(response: Promise<T>, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([response, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

let nonce = 0;

/** The `Authorization` header of an OAuth 1.0a request to the test app, signed for its issuer. */
export function signedHeader(input: { method: string; path: string; consumerKey: string; consumerSecret: string; token?: string; tokenSecret?: string; extra?: Record<string, string>; body?: Record<string, string>; nonce?: string }): string {
  const parameters = signRequest({
    method: input.method,
    url: `${TEST_ISSUER}${input.path}`,
    consumerKey: input.consumerKey,
    signatureMethod: 'HMAC-SHA1',
    credentials: { consumerSecret: input.consumerSecret, tokenSecret: input.tokenSecret ?? '' },
    ...(input.token === undefined ? {} : { token: input.token }),
    timestamp: Math.floor(Date.now() / 1000),
    nonce: input.nonce ?? `nonce-${++nonce}-${Math.random().toString(36).slice(2)}`,
    ...(input.extra ? { extra: input.extra } : {}),
    ...(input.body ? { body: input.body } : {}),
  });
  return formatAuthorizationHeader(parameters);
}
