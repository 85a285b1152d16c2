import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifySession from '@fastify/session';
import Fastify, { type FastifyInstance, type FastifyServerOptions, type LightMyRequestResponse } from 'fastify';
import type { Kysely } from 'kysely';
import {
  formatAuthorizationHeader,
  signRequest,
  type ClientRecord,
  type OAuthStorage,
} from '@portcullis/core';
import { createDatabase, createKyselyStorage, migrate, PORTCULLIS_TABLES, type Database } from '@portcullis/kysely';
import fastifyPortcullis, { type PortcullisOptions, type PortcullisOptionsBase } from '../src/index.js';
import { CookieJar, createTestScopes, FORM, form, ISSUER, SESSION_SECRET } from './helpers.js';

/** 32 bytes as 64 hex characters: the key sealing OAuth 1.0a secrets. */
export const SECRET_KEY = '3f'.repeat(16) + 'a1'.repeat(16);
export const CALLBACK = 'https://printer.example/ready?from=portcullis';
/**
 * What clients sign for: the issuer. The server checks signatures against its issuer's origin,
 * whatever Host `inject` sends (`localhost:80` by default).
 */
export const BASE = ISSUER;

export interface OAuth1TestApp {
  app: FastifyInstance;
  db: Kysely<Database>;
  storage: OAuthStorage;
  client: ClientRecord;
  consumerSecret: string;
  /** Every row of every table, to prove a refused request changed nothing. */
  snapshot(): Promise<Record<string, unknown[]>>;
  close(): Promise<void>;
}

export interface OAuth1AppOptions {
  plugin?: Partial<PortcullisOptionsBase>;
  /** The register prefix of the plugin. */
  prefix?: string;
  routes?: (app: FastifyInstance) => void | Promise<void>;
  fastify?: FastifyServerOptions;
}

/**
 * An application on the SQLite store with OAuth 1.0a on, development mode (plain HTTP), a login
 * route that signs in whoever it names, a protected `/api/me` (read) and `/api/notes` (write),
 * and one OAuth 1.0a consumer.
 */
export async function buildOAuth1App(options: OAuth1AppOptions = {}): Promise<OAuth1TestApp> {
  const db = await createDatabase('sqlite::memory:');
  await migrate(db);
  const storage = createKyselyStorage(db);
  const app = Fastify({ logger: false, ...options.fastify });
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: SESSION_SECRET,
    cookieName: 'sid',
    cookie: { secure: 'auto', httpOnly: true, sameSite: 'lax', path: '/' },
    saveUninitialized: false,
  });
  // Resource routes take form bodies, which OAuth 1.0a signs.
  await app.register(fastifyFormbody);
  app.post<{ Querystring: { user?: string } }>('/login', async (request) => {
    await request.session.regenerate(['portcullis']);
    request.session.set('userId', request.query.user ?? 'alice');
    return { ok: true };
  });
  const pluginOptions: PortcullisOptions = {
    storage,
    scopes: createTestScopes(),
    issuer: ISSUER,
    development: true,
    secretKey: SECRET_KEY,
    oauth1: true,
    getUser: (request) => {
      const id = request.session.get('userId');
      return id === undefined ? null : { id, username: id };
    },
    loginUrl: '/login',
    ...options.plugin,
  } as PortcullisOptions;
  await app.register(fastifyPortcullis, options.prefix === undefined ? pluginOptions : { ...pluginOptions, prefix: options.prefix });
  app.get('/api/me', { preHandler: app.requireScope('read') }, async (request) => ({ oauth: request.oauth }));
  app.post('/api/notes', { preHandler: app.requireScope('write') }, async (request) => ({
    oauth: request.oauth,
    body: request.body,
  }));
  await options.routes?.(app);
  await app.ready();
  const { client, clientSecret } = await app.oauth.registerClient({
    name: 'Photo <Printer>',
    // OAuth 1.0a callbacks must be among these: the fixed one, and the loopback ones (any port)
    // the client-library tests listen on.
    redirectUris: ['https://printer.example/cb', CALLBACK, 'http://127.0.0.1/callback', 'http://127.0.0.1/callback?app=printer'],
    scopes: ['read', 'write', 'polls:vote'],
    oauth1Enabled: true,
  });
  if (clientSecret === null) throw new Error('a confidential client has a secret');
  return {
    app,
    db,
    storage,
    client,
    consumerSecret: clientSecret,
    snapshot: async () => {
      const rows: Record<string, unknown[]> = {};
      for (const table of PORTCULLIS_TABLES) rows[table] = await db.selectFrom(table).selectAll().execute();
      return rows;
    },
    close: async () => {
      await app.close();
      await db.destroy();
    },
  };
}

let nonceCounter = 0;

export interface SignInput {
  method: string;
  /** Path and query, as sent. */
  url: string;
  consumerKey: string;
  consumerSecret: string;
  token?: string;
  tokenSecret?: string;
  extra?: Record<string, string>;
  body?: Record<string, string>;
  timestamp?: number;
  nonce?: string;
  signatureMethod?: 'HMAC-SHA1' | 'HMAC-SHA256' | 'PLAINTEXT';
  /** The scheme and authority the client signs for; default the issuer. */
  origin?: string;
}

/** The protocol parameters of a request signed as a client would (RFC 5849 section 3.1). */
export function sign(input: SignInput): Record<string, string> {
  return signRequest({
    method: input.method,
    url: new URL(input.url, input.origin ?? BASE),
    consumerKey: input.consumerKey,
    signatureMethod: input.signatureMethod ?? 'HMAC-SHA1',
    credentials: { consumerSecret: input.consumerSecret, tokenSecret: input.tokenSecret ?? '' },
    ...(input.token === undefined ? {} : { token: input.token }),
    timestamp: input.timestamp ?? Math.floor(Date.now() / 1000),
    nonce: input.nonce ?? `nonce-${process.pid}-${++nonceCounter}-${Math.random().toString(36).slice(2)}`,
    ...(input.extra === undefined ? {} : { extra: input.extra }),
    ...(input.body === undefined ? {} : { body: input.body }),
  });
}

/** The `Authorization: OAuth ...` header of a signed request. */
export function signedHeader(input: SignInput): string {
  return formatAuthorizationHeader(sign(input), ISSUER);
}

export function parseForm(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body));
}

export interface Credentials {
  token: string;
  secret: string;
}

/** Leg 1 through inject: temporary credentials for `callback`. */
export async function requestToken(
  built: OAuth1TestApp,
  options: { callback?: string; scope?: string; path?: string } = {},
): Promise<Credentials> {
  const path = options.path ?? '/oauth1/request_token';
  const body = options.scope === undefined ? undefined : { scope: options.scope };
  const response = await built.app.inject({
    method: 'POST',
    url: path,
    headers: {
      ...FORM,
      authorization: signedHeader({
        method: 'POST',
        url: path,
        consumerKey: built.client.id,
        consumerSecret: built.consumerSecret,
        extra: { oauth_callback: options.callback ?? CALLBACK },
        ...(body === undefined ? {} : { body }),
      }),
    },
    payload: body === undefined ? '' : form(body),
  });
  if (response.statusCode !== 200) throw new Error(`request_token: ${response.statusCode} ${response.body}`);
  const answer = parseForm(response.body);
  return { token: answer.oauth_token!, secret: answer.oauth_token_secret! };
}

export async function login(app: FastifyInstance, jar: CookieJar, user = 'alice'): Promise<void> {
  const response = await app.inject({ method: 'POST', url: `/login?user=${user}`, headers: { cookie: jar.header() } });
  jar.store(response);
}

/** Leg 2 through inject: alice opens the authorize page and answers it. Returns the last response. */
export async function authorize(
  built: OAuth1TestApp,
  token: string,
  decision: 'approve' | 'deny' = 'approve',
  jar = new CookieJar(),
): Promise<LightMyRequestResponse> {
  await login(built.app, jar);
  const page = await built.app.inject({
    method: 'GET',
    url: `/oauth1/authorize?oauth_token=${encodeURIComponent(token)}`,
    headers: { cookie: jar.header() },
  });
  jar.store(page);
  if (page.statusCode !== 200) throw new Error(`authorize: ${page.statusCode} ${page.body}`);
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  const answer = await built.app.inject({
    method: 'POST',
    url: '/oauth1/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision, csrf_token: csrf }),
  });
  jar.store(answer);
  return answer;
}

/** Leg 3 through inject. */
export function exchange(
  built: OAuth1TestApp,
  temporary: Credentials,
  verifier: string,
  overrides: Partial<SignInput> = {},
): Promise<LightMyRequestResponse> {
  return built.app.inject({
    method: 'POST',
    url: '/oauth1/access_token',
    headers: {
      authorization: signedHeader({
        method: 'POST',
        url: '/oauth1/access_token',
        consumerKey: built.client.id,
        consumerSecret: built.consumerSecret,
        token: temporary.token,
        tokenSecret: temporary.secret,
        extra: { oauth_verifier: verifier },
        ...overrides,
      }),
    },
  });
}

/** The three legs through inject: token credentials for alice. */
export async function obtainAccessToken(built: OAuth1TestApp, scope?: string): Promise<Credentials> {
  const temporary = await requestToken(built, scope === undefined ? {} : { scope });
  const approved = await authorize(built, temporary.token);
  const verifier = new URL(approved.headers.location as string).searchParams.get('oauth_verifier') ?? '';
  const response = await exchange(built, temporary, verifier);
  if (response.statusCode !== 200) throw new Error(`access_token: ${response.statusCode} ${response.body}`);
  const answer = parseForm(response.body);
  return { token: answer.oauth_token!, secret: answer.oauth_token_secret! };
}
