import { randomBytes, scrypt, timingSafeEqual, type BinaryLike, type ScryptOptions } from 'node:crypto';
import { availableParallelism } from 'node:os';
import {
  computeS256Challenge,
  generateId,
  generateToken,
  SecretBox,
  type AuthenticatedUser,
  type OAuthStorage,
} from '@portcullis/core';
import fastifyPortcullis from '@portcullis/fastify';
import type { FastifyInstance } from 'fastify';
import type { Fixtures, ServerSpec } from '../protocol.js';
import { createBenchFastify } from './common-plugins.js';
import { openKyselyStore } from './kysely-store.js';
import { insertLiveTokens } from './scale-seeding.js';

/** Fixed so that runs are repeatable; it seals nothing but benchmark secrets. */
const SECRET_KEY = '8c1f0e4a7d2b9c3e5f60718293a4b5c6d7e8f90112233445566778899aabbccd';
const ISSUER = 'http://127.0.0.1';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const USER_ID = 'bench-user';
const USERNAME = 'alice';
const PASSWORD = 'correct horse battery staple';
/** Codes issued in parallel: enough to keep the pool busy, few enough not to starve it. */
const ISSUE_CONCURRENCY = 16;

// Node's scrypt parameters as an application would pick them (N = 2^14, r = 8, p = 1).
const SCRYPT_OPTIONS: ScryptOptions = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

function hashPassword(password: BinaryLike, salt: Buffer): Promise<Buffer> {
  // The callback form runs on libuv's thread pool: the event loop stays free while it hashes.
  return new Promise((resolve, reject) => {
    scrypt(password, salt, 32, SCRYPT_OPTIONS, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/**
 * At most this many hashes at once. libuv would run four on two cores, leaving the event loop's
 * thread to fight them for a core; one core's worth fewer keeps a core free for the loop (the
 * S8 target is the loop's delay, and hashing throughput is bounded by the cores either way).
 */
const HASH_CONCURRENCY = Math.max(1, availableParallelism() - 1);

/** A FIFO gate: `run` waits for one of `limit` slots. */
function createGate(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await task();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
}

/** The application's side of S8: one user, its password kept as a scrypt hash. */
async function createUserVerifier(): Promise<(username: string, password: string) => Promise<AuthenticatedUser | null>> {
  const salt = randomBytes(16);
  const stored = await hashPassword(PASSWORD, salt);
  const gate = createGate(HASH_CONCURRENCY);
  return async (username, password) => {
    const candidate = await gate(() => hashPassword(password, salt));
    return username === USERNAME && timingSafeEqual(candidate, stored) ? { id: USER_ID, username } : null;
  };
}

export interface ScenarioServer {
  app: FastifyInstance;
  fixtures: Fixtures;
  prepare(count: number): Promise<Fixtures>;
  close(): Promise<void>;
}

/**
 * A Portcullis server as an application sets it up: the Fastify plugin on a Kysely store, one
 * protected route, and the credentials each scenario needs, issued through Portcullis itself.
 */
export async function createScenarioServer(spec: ServerSpec): Promise<ScenarioServer> {
  if (spec.store === null) throw new Error(`${spec.target} needs a store`);
  if (spec.store === 'memory') throw new Error(`${spec.target} runs on a database`);
  const urls = { mysql: spec.mysqlUrl, postgres: spec.postgresUrl, sqlite: `sqlite:${spec.sqlitePath}` };
  const store = await openKyselyStore(urls[spec.store]);
  const app = await createBenchFastify();
  await app.register(fastifyPortcullis, {
    storage: store.storage,
    issuer: ISSUER,
    getUser: () => null,
    loginUrl: '/login',
    development: true,
    enforceSecure: false,
    secretKey: SECRET_KEY,
    // Codes are issued before the run and must outlive it.
    authorizationCodeTtl: 3600,
    verifyUser: spec.target === 'S8' ? await createUserVerifier() : undefined,
    // S8 measures the password grant, which only the OAuth 2.0 profile has.
    profile: 'oauth2.0',
    // S6 measures the plugin's own OAuth 1.0a request verification.
    oauth1: spec.target === 'S6',
  });
  app.get('/api/resource', { preHandler: app.requireScope('read') }, async (request) => ({
    client_id: request.oauth?.clientId,
    scope: request.oauth?.scope.join(' '),
    protocol: request.oauth?.protocol,
  }));
  await app.ready();

  const registered = await app.oauth.registerClient({
    name: `bench ${spec.target}`,
    redirectUris: [REDIRECT_URI],
    scopes: ['read', 'write'],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials', 'password'],
    type: 'confidential',
    oauth1Enabled: spec.target === 'S6',
  });
  const clientId = registered.client.id;
  const clientSecret = registered.clientSecret ?? '';
  const fixtures: Fixtures = { clientId, clientSecret };

  if (spec.target === 'S2' || spec.target === 'S3') {
    fixtures.accessTokens = await issueAccessTokens(app, clientId, Math.min(spec.liveTokens, 1000));
    // The scale mode: the rest of the live tokens go in by multi-row INSERTs (nobody presents them).
    if (spec.liveTokens > 1000) await insertLiveTokens(store.db, spec.store, clientId, spec.liveTokens - 1000);
  }
  if (spec.target === 'S6') fixtures.oauth1 = await issueOAuth1Token(store.storage, clientId, clientSecret);
  if (spec.target === 'S8') Object.assign(fixtures, { username: USERNAME, password: PASSWORD });

  const prepare = async (count: number): Promise<Fixtures> => {
    if (spec.target === 'S4') {
      // Two chains per connection: a spare covers a response still in flight when a run ends.
      const chains = Math.max(count, spec.connections * 2);
      const issued = await runConcurrently(chains, () =>
        app.oauth.issueTokens({ clientId, userId: USER_ID, scope: ['read'], withRefreshToken: true }),
      );
      return { ...fixtures, refreshTokens: issued.map((t) => t.refresh_token ?? '') };
    }
    if (spec.target === 'S5') return { ...fixtures, codes: await issueCodes(app, clientId, count) };
    return fixtures;
  };

  return {
    app,
    fixtures,
    prepare,
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}

async function runConcurrently<T>(count: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(ISSUE_CONCURRENCY, count) }, worker));
  return results;
}

async function issueAccessTokens(app: FastifyInstance, clientId: string, count: number): Promise<string[]> {
  const issued = await runConcurrently(count, () => app.oauth.issueTokens({ clientId, userId: USER_ID, scope: ['read'] }));
  return issued.map((t) => t.access_token);
}

/** S5's codes, each through the core's two authorization steps as a browser flow would make them. */
async function issueCodes(app: FastifyInstance, clientId: string, count: number): Promise<NonNullable<Fixtures['codes']>> {
  const server = app.oauth.server;
  return runConcurrently(count, async () => {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${ISSUER}/oauth/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      scope: 'read',
      state: 'bench',
      code_challenge: computeS256Challenge(verifier),
      code_challenge_method: 'S256',
    }).toString();
    const validated = await server.validateAuthorizationRequest({ method: 'GET', url, headers: {}, secure: false });
    if (validated.kind !== 'consent') throw new Error(`authorize did not ask for consent: ${JSON.stringify(validated)}`);
    const completed = await server.completeAuthorization(validated.request, { userId: USER_ID, approved: true });
    if (completed.kind !== 'redirect') throw new Error(`consent did not redirect: ${JSON.stringify(completed)}`);
    const code = new URL(completed.location).searchParams.get('code');
    if (!code) throw new Error(`no code in ${completed.location}`);
    return { code, verifier, redirectUri: REDIRECT_URI };
  });
}

/** OAuth 1.0a token credentials, stored as the provider's access-token leg stores them. */
async function issueOAuth1Token(
  storage: OAuthStorage,
  clientId: string,
  consumerSecret: string,
): Promise<NonNullable<Fixtures['oauth1']>> {
  const box = new SecretBox(SECRET_KEY);
  const token = generateToken('oauth1AccessToken');
  const tokenSecret = randomBytes(32).toString('base64url');
  const now = new Date();
  await storage.saveOAuth1AccessToken({
    id: generateId(),
    token,
    secretEncrypted: box.encrypt(tokenSecret),
    clientId,
    userId: USER_ID,
    scope: ['read'],
    issuedAt: now,
    expiresAt: null,
    revokedAt: null,
  });
  return { consumerKey: clientId, consumerSecret, token, tokenSecret, origin: ISSUER };
}
