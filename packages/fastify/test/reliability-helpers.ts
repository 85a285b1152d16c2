// Shared set-up of the reliability-*.test.ts files: the plugin on a real store (SQLite or a
// private MariaDB database), codes minted through the core, and the database checks the race,
// fuzz and fault tests assert.
import { randomBytes, createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { sql, type Kysely } from 'kysely';
import type { OAuthStorage } from '@portcullis/core';
import {
  createDatabase,
  createKyselyStorage,
  migrate,
  PORTCULLIS_TABLES,
  type CreateDatabaseOptions,
  type Database,
} from '@portcullis/kysely';
import fastifyPortcullis, { type PortcullisOptions, type PortcullisOptionsBase } from '../src/index.js';
import { createTestScopes, FORM, registerSession, type SessionKind } from './helpers.js';
import { signedHeader } from './oauth1-helpers.js';

export const MYSQL_ADMIN_URL = `mysql://root:@127.0.0.1:${Number(process.env.PORTCULLIS_TEST_MYSQL_PORT ?? 3306)}/mysql`;
export const mysqlRequired = process.env.REQUIRE_MYSQL === '1';

export const POSTGRES_ADMIN_URL = `postgres://postgres@127.0.0.1:${Number(process.env.PORTCULLIS_TEST_POSTGRES_PORT ?? 5432)}/postgres`;
export const postgresRequired = process.env.REQUIRE_POSTGRES === '1';

export type Dialect = 'sqlite' | 'mysql' | 'postgres';

export interface TestDatabase {
  dialect: Dialect;
  db: Kysely<Database>;
  storage: OAuthStorage;
  /** The MariaDB database name (null on SQLite): the fault tests kill its connections. */
  name: string | null;
  drop(): Promise<void>;
}

/** Opens an admin connection to MariaDB, or returns why it cannot. */
export async function openMysqlAdmin(): Promise<Kysely<Database> | string> {
  let admin: Kysely<Database> | undefined;
  try {
    admin = await createDatabase(MYSQL_ADMIN_URL, { connectionLimit: 2, connectTimeout: 3000 });
    await sql`SELECT 1`.execute(admin);
    return admin;
  } catch (error) {
    await admin?.destroy().catch(() => {});
    const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
    return `${(error as Error).name}: ${code ?? (error as Error).message}`;
  }
}

/** The loud notice when MariaDB is not there (a failure instead under REQUIRE_MYSQL=1). */
export function announceMysqlSkip(reason: string): string {
  const message = `MariaDB at 127.0.0.1 is unreachable (${reason}): the MariaDB reliability tests are SKIPPED. Set REQUIRE_MYSQL=1 to fail instead.`;
  console.error(`\n${'!'.repeat(100)}\n!! ${message}\n${'!'.repeat(100)}\n`);
  return message;
}

/** A migrated SQLite file (WAL, as in production) in a temporary folder. */
export async function createSqliteDatabase(): Promise<TestDatabase> {
  const folder = await mkdtemp(join(tmpdir(), 'portcullis-rel-'));
  const db = await createDatabase(`sqlite:${join(folder, 'portcullis.sqlite')}`);
  await migrate(db);
  return {
    dialect: 'sqlite',
    db,
    storage: createKyselyStorage(db),
    name: null,
    drop: async () => {
      await db.destroy();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

/** A private database `portcullis_rel_<random>` on MariaDB, migrated; `drop()` removes it. */
export async function createMysqlDatabase(admin: Kysely<Database>, options: CreateDatabaseOptions = {}): Promise<TestDatabase> {
  const name = `portcullis_rel_${randomBytes(6).toString('hex')}`;
  await sql`CREATE DATABASE ${sql.id(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`.execute(admin);
  const db = await createDatabase(MYSQL_ADMIN_URL.replace(/\/mysql$/, `/${name}`), { connectionLimit: 10, ...options });
  await migrate(db);
  return {
    dialect: 'mysql',
    db,
    storage: createKyselyStorage(db),
    name,
    drop: async () => {
      await db.destroy().catch(() => {});
      await sql`DROP DATABASE IF EXISTS ${sql.id(name)}`.execute(admin);
    },
  };
}

/** A private database `portcullis_rel_<random>` on PostgreSQL, migrated; `drop()` removes it. */
export async function createPostgresDatabase(admin: Kysely<Database>): Promise<TestDatabase> {
  const name = `portcullis_rel_${randomBytes(6).toString('hex')}`;
  await sql`CREATE DATABASE ${sql.id(name)}`.execute(admin);
  const db = await createDatabase(POSTGRES_ADMIN_URL.replace(/\/postgres$/, `/${name}`), { connectionLimit: 10 });
  await migrate(db);
  return {
    dialect: 'postgres',
    db,
    storage: createKyselyStorage(db),
    name,
    drop: async () => {
      await db.destroy().catch(() => {});
      await sql`DROP DATABASE IF EXISTS ${sql.id(name)} WITH (FORCE)`.execute(admin);
    },
  };
}

/**
 * Runs `suite` as tap subtests, on a migrated SQLite file and on a private MariaDB database (and,
 * with `postgres`, on a private PostgreSQL database), each dropped afterwards. Without a server
 * its subtest is skipped loudly, or fails under REQUIRE_MYSQL=1 / REQUIRE_POSTGRES=1.
 */
export function onEachDatabase(
  name: string,
  suite: (t: Test, database: TestDatabase) => Promise<void>,
  options: { postgres?: boolean } = {},
): void {
  t.test('SQLite file', async (t) => {
    const database = await createSqliteDatabase();
    t.teardown(() => database.drop());
    await suite(t, database);
  });
  t.test('MariaDB', async (t) => {
    const admin = await openMysqlAdmin();
    if (typeof admin === 'string') {
      if (mysqlRequired) t.fail(`MariaDB is required (REQUIRE_MYSQL=1): ${admin}`);
      else t.test(`${name} on MariaDB`, { skip: announceMysqlSkip(admin) }, async () => {});
      return;
    }
    const database = await createMysqlDatabase(admin);
    t.teardown(async () => {
      await database.drop();
      await admin.destroy();
    });
    await suite(t, database);
  });
  if (options.postgres !== true) return;
  t.test('PostgreSQL', async (t) => {
    let admin: Kysely<Database>;
    try {
      admin = await createDatabase(POSTGRES_ADMIN_URL, { connectionLimit: 1 });
      await sql`SELECT 1`.execute(admin);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (postgresRequired) t.fail(`PostgreSQL is required (REQUIRE_POSTGRES=1): ${reason}`);
      else {
        const message = `PostgreSQL at 127.0.0.1 is unreachable (${reason}): ${name} on PostgreSQL is SKIPPED. Set REQUIRE_POSTGRES=1 to fail instead.`;
        console.error(`\n${'!'.repeat(100)}\n!! ${message}\n${'!'.repeat(100)}\n`);
        t.test(`${name} on PostgreSQL`, { skip: message }, async () => {});
      }
      return;
    }
    const database = await createPostgresDatabase(admin);
    t.teardown(async () => {
      await database.drop();
      await admin.destroy();
    });
    await suite(t, database);
  });
}

/** A temporary-credentials request naming `callback`, signed for the reliability app's issuer. */
export function requestTemporaryCredentials(
  app: FastifyInstance,
  consumer: { id: string; secret: string },
  callback: string,
): Promise<LightMyRequestResponse> {
  const authorization = signedHeader({
    method: 'POST',
    url: '/oauth1/request_token',
    origin: RELIABILITY_ISSUER,
    consumerKey: consumer.id,
    consumerSecret: consumer.secret,
    extra: { oauth_callback: callback },
  });
  return app.inject({ method: 'POST', url: '/oauth1/request_token', headers: { ...FORM, authorization }, payload: '' });
}

/** Rows per Portcullis table: equal before and after means nothing was written. */
export async function countRows(db: Kysely<Database>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of PORTCULLIS_TABLES) {
    const row = await db.selectFrom(table).select(db.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}

/**
 * The plugin on the given store, as an application mounts it, with a protected route
 * `GET /api/me` (scope read) that answers who the token belongs to; sessions of the given kind
 * (`@fastify/session` by default) and the test's own routes.
 */
/** The reliability apps' issuer: OAuth 1.0a requests to them are signed for its origin. */
export const RELIABILITY_ISSUER = 'http://127.0.0.1';

export async function buildReliabilityApp(
  storage: OAuthStorage,
  plugin: Partial<PortcullisOptionsBase> = {},
  options: { session?: SessionKind; routes?: (app: FastifyInstance) => void } = {},
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await registerSession(app, options.session);
  await app.register(fastifyPortcullis, {
    storage,
    scopes: createTestScopes(),
    issuer: RELIABILITY_ISSUER,
    development: true,
    getUser: (request) => {
      const id = request.session.get('userId');
      return id === undefined ? null : { id };
    },
    loginUrl: '/login',
    ...plugin,
  } as PortcullisOptions);
  app.post<{ Querystring: { user?: string } }>('/login', async (request) => {
    await request.session.regenerate(['portcullis']);
    request.session.set('userId', request.query.user ?? 'alice');
    return { ok: true };
  });
  app.route({
    method: ['GET', 'POST'],
    url: '/api/me',
    preHandler: app.requireScope('read'),
    handler: async (request) => ({ user: request.oauth?.userId ?? null, client: request.oauth?.clientId ?? null }),
  });
  options.routes?.(app);
  await app.ready();
  return app;
}

export const REDIRECT_URI = 'https://client.example/callback';

export function createPkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** A code for `clientId`, approved by `userId`, minted through the core's two authorize steps. */
export async function mintCode(app: FastifyInstance, clientId: string, challenge: string, userId = 'alice'): Promise<string> {
  const url = new URL('http://127.0.0.1/oauth/authorize');
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: 'read',
    state: 's',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  const validated = await app.oauth.server.validateAuthorizationRequest({ method: 'GET', url, headers: {}, secure: false });
  if (validated.kind !== 'consent') throw new Error(`authorization request refused: ${validated.kind}`);
  const done = await app.oauth.server.completeAuthorization(validated.request, { userId, approved: true });
  if (done.kind !== 'redirect') throw new Error(`authorization not completed: ${done.kind}`);
  const code = new URL(done.location).searchParams.get('code');
  if (code === null) throw new Error('no code in the redirect');
  return code;
}

export function basicAuthHeader(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export const OAUTH_ERROR_CODES = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'access_denied',
  'unsupported_response_type',
  'unsupported_token_type',
  'server_error',
  'temporarily_unavailable',
  'invalid_token',
  'insufficient_scope',
  // OAuth 1.0a problem codes (the oauth_problem extension RFC 5849 points to).
  'parameter_absent',
  'parameter_rejected',
  'signature_method_rejected',
  'signature_invalid',
  'consumer_key_unknown',
  'consumer_key_rejected',
  'token_rejected',
  'token_expired',
  'token_revoked',
  'token_used',
  'timestamp_refused',
  'nonce_used',
  'verifier_invalid',
  'version_rejected',
  'permission_denied',
]);

/** Why a JSON error body is not RFC 6749 section 5.2 shaped, or null when it is. */
export function checkErrorBody(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'not a JSON object';
  const record = body as Record<string, unknown>;
  if (typeof record.error !== 'string' || !OAUTH_ERROR_CODES.has(record.error)) return `unknown error ${String(record.error)}`;
  if ('error_description' in record && typeof record.error_description !== 'string') return 'error_description not a string';
  if ('error_uri' in record && typeof record.error_uri !== 'string') return 'error_uri not a string';
  // insufficient_scope may name the scope it lacks.
  const extra = Object.keys(record).filter((key) => !['error', 'error_description', 'error_uri', 'scope'].includes(key));
  return extra.length === 0 ? null : `unexpected keys ${extra.join(', ')}`;
}
