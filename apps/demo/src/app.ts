import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifySession from '@fastify/session';
import type { OAuthStorage } from '@portcullis/core';
import { OAuthError, SecretBox } from '@portcullis/core';
import fastifyPortcullis, { sendOAuthError, sendOAuthResponse, toOAuthRequest, type LoginHints } from '@portcullis/fastify';
import { createKyselyStorage, migrate } from '@portcullis/kysely';
import type { ScopeRegistry } from '@portcullis/scopes';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { auditLog } from './audit-log.js';
import { AccountThrottle, DEFAULT_ACCOUNT_THROTTLE, type AccountThrottleSettings } from './account-throttle.js';
import { registerPollsApi } from './api/polls-routes.js';
import { mcpResourceIdentifier } from './config.js';
import { DemoMetrics, registerMetricsRoute } from './metrics.js';
import { asDemoDb, openDatabase, type AnyDb, type DemoDb } from './db/database.js';
import { migrateDemo } from './db/migrations.js';
import { handleDemoError } from './error-handler.js';
import { registerHeaderGuard } from './header-guard.js';
import { registerMcpRoutes } from './mcp/mcp-routes.js';
import type { OAuthOperations } from './oauth-operations.js';
import { registerAccountRoutes } from './pages/account-routes.js';
import { registerAdminRoutes } from './pages/admin-routes.js';
import { registerHomeRoutes } from './pages/home-routes.js';
import { OAUTH_SESSION_KEY, registerLoginRoutes } from './pages/login-routes.js';
import { createDemoScopes } from './scopes.js';
import type { DemoServices } from './services.js';
import { DEFAULT_RATE_LIMIT, registerRateLimits } from './rate-limits.js';
import { RedisSessionStore } from './redis-session-store.js';
import { fastifyTrustProxy, type TrustedProxies } from './trusted-proxies.js';
import { registerRelyingPartyRoutes } from './relying-party.js';
import { registerSecurityHeaders } from './security-headers.js';
import { DatabaseSessionStore } from './session-store.js';
import { findAccountClaims, findUserById } from './users.js';

export interface BuildAppOptions {
  /** `sqlite:path`, `sqlite::memory:`, `mysql://...` or `postgres://...`; ignored when `db` is given. Default `sqlite::memory:`. */
  databaseUrl?: string;
  /** An open database to use (the caller closes it); otherwise the app opens one and closes it on `close()`. */
  db?: AnyDb;
  /** Plain HTTP allowed, cookies without Secure. */
  development: boolean;
  /** The OAuth 1.0a sealing key (64 hex characters); OAuth 1.0a is off without it. */
  secretKey?: string;
  /** Signs the session cookie; at least 32 characters. */
  sessionSecret: string;
  logger?: FastifyServerOptions['logger'];
  /** The RFC 8414 issuer. Default `http://127.0.0.1:3000`. */
  issuer?: string;
  /** Apply the Portcullis and demo migrations first. Default true. */
  migrate?: boolean;
  /**
   * The proxies whose X-Forwarded-* headers count (behind a TLS-terminating proxy): a hop count,
   * or their addresses and CIDR ranges (trusted-proxies.ts). Default none.
   */
  trustProxy?: TrustedProxies;
  /**
   * Shared state for several instances: sessions and rate-limit counts go to this Redis (the
   * caller connects and closes it); without it sessions live in the database and counts in memory.
   */
  redis?: Redis;
  /** Prefix of every Redis key the demo writes. Default `portcullis-demo:`. */
  redisKeyPrefix?: string;
  /** Brute-force limit per client address on the login and OAuth endpoints (rate-limits.ts). Default 120 a minute. */
  rateLimit?: { max: number; windowMs: number };
  /** Wrong passwords per account (login form and password grant, from any address). Default 10 in 15 minutes. */
  accountThrottle?: AccountThrottleSettings;
  /** The bearer token a Prometheus scraper sends to `GET /metrics`; without it only admin sessions may read them. */
  metricsToken?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    demo: DemoServices & { oauthOperations: OAuthOperations };
  }
}

/** Builds the demo: Portcullis registered in a Fastify app with the polls API, pages and admin. */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const ownsDb = options.db === undefined;
  const db = options.db ?? (await openDatabase(options.databaseUrl ?? 'sqlite::memory:'));
  try {
    if (options.migrate !== false) {
      await migrate(db);
      await migrateDemo(db);
    }
  } catch (error) {
    if (ownsDb) await db.destroy();
    throw error;
  }
  const demoDb = asDemoDb(db);
  const storage: OAuthStorage = createKyselyStorage(db);
  const scopes = createDemoScopes();
  const secretBox = options.secretKey ? new SecretBox(options.secretKey) : null;

  const fastify = Fastify({
    logger: options.logger ?? false,
    trustProxy: fastifyTrustProxy(options.trustProxy),
    // The Django providers' URLs end in a slash (`/oauth2/access_token/`); accept both forms.
    routerOptions: { ignoreTrailingSlash: true },
  });
  if (ownsDb) fastify.addHook('onClose', async () => db.destroy());

  try {
    await registerEverything(fastify, options, { db, demoDb, storage, scopes, secretBox });
  } catch (error) {
    // A plugin that refused its options must not leave the database open (the CLI would hang).
    if (ownsDb) await db.destroy();
    throw error;
  }
  return fastify;
}

async function registerEverything(
  fastify: FastifyInstance,
  options: BuildAppOptions,
  parts: { db: AnyDb; demoDb: DemoDb; storage: OAuthStorage; scopes: ScopeRegistry; secretBox: SecretBox | null },
): Promise<void> {
  const { demoDb, storage, scopes, secretBox } = parts;
  fastify.setErrorHandler(handleDemoError);
  // First, so that every route, the plugin's included, is timed.
  const metrics = new DemoMetrics();
  metrics.timeRequests(fastify);
  registerHeaderGuard(fastify);
  await registerSecurityHeaders(fastify, { development: options.development });
  // Before any route, so that the plugin's routes are limited too (rate-limits.ts).
  const keyPrefix = options.redisKeyPrefix ?? 'portcullis-demo:';
  await registerRateLimits(fastify, {
    ...(options.rateLimit ?? DEFAULT_RATE_LIMIT),
    ...(options.redis ? { redis: options.redis, keyPrefix } : {}),
  });
  await fastify.register(fastifyCookie);
  const reportError = (error: unknown) => fastify.log.error({ err: error }, 'demo: a request failed after the session store answered');
  await fastify.register(fastifySession, {
    secret: options.sessionSecret,
    cookieName: 'polls_session',
    store: options.redis
      ? new RedisSessionStore(options.redis, { keyPrefix: `${keyPrefix}session:`, reportError })
      : new DatabaseSessionStore(demoDb, { reportError }),
    // A session is stored and its cookie set only once a page writes to it: API, token and
    // metadata responses carry no Set-Cookie.
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: !options.development, path: '/', maxAge: 8 * 60 * 60 * 1000 },
  });
  await fastify.register(fastifyFormbody);

  const enforceSecure = !options.development;
  const accountThrottle = new AccountThrottle(
    options.accountThrottle ?? DEFAULT_ACCOUNT_THROTTLE,
    options.redis ? { client: options.redis, keyPrefix } : undefined,
  );

  const getUser = (request: FastifyRequest) => {
    const id = request.session.get('userId');
    if (!id) return null;
    const username = request.session.get('username');
    const authTime = request.session.get('authTime');
    return {
      id,
      ...(username === undefined ? {} : { username }),
      ...(typeof authTime === 'number' ? { authTime: new Date(authTime) } : {}),
    };
  };

  const issuer = options.issuer ?? 'http://127.0.0.1:3000';
  const writeAudit = auditLog(fastify.log);
  await fastify.register(fastifyPortcullis, {
    storage,
    scopes,
    issuer,
    getUser,
    // OpenID Connect's prompt=login (or max_age) asks a signed-in user to log in again; login_hint prefills the username.
    loginUrl: (_request: FastifyRequest, returnTo: string, hints: LoginHints) =>
      `/login?returnTo=${encodeURIComponent(returnTo)}` +
      (hints.prompt === undefined ? '' : `&prompt=${hints.prompt}`) +
      (hints.loginHint === undefined ? '' : `&login_hint=${encodeURIComponent(hints.loginHint)}`),
    sessionKey: OAUTH_SESSION_KEY,
    development: options.development,
    // Said outright (it is the plugin's default too): the admin pages check redirect URIs with it.
    enforceSecure,
    // The demo shows what the Django projects served: the implicit and password grants, and the
    // code grant without PKCE for confidential clients, which OAuth 2.1 (the default) removes.
    profile: 'oauth2.0',
    // Native and command-line clients (MCP clients among them) register http://localhost/... and
    // listen on whatever port they get.
    allowLocalhostAnyPort: true,
    // MCP clients may arrive unregistered, their client_id the URL of their metadata document; in
    // development such a document may be served from this machine.
    clientIdMetadataDocuments: { enabled: true, allowLoopbackForDevelopment: options.development },
    // OAuth 1.0a (as django-oauth-plus served it): the plugin's three endpoints, and signed requests
    // accepted by requireScope on the API; it needs the key that seals consumer and token secrets.
    // The same key seals the private JWS signing keys, published at /oauth/jwks.json; RS256 signs
    // the ID tokens of OpenID Connect, which the demo's users sign in to other sites with.
    ...(options.secretKey
      ? {
          secretKey: options.secretKey,
          oauth1: { realm: 'portcullis-polls' },
          signingKeys: { algorithms: ['ES256', 'EdDSA', 'RS256'] },
          openid: {
            findAccount: (userId: string) => findAccountClaims(demoDb, userId),
            // RP-initiated logout ends the demo's own session: the user is signed out here too.
            endSession: (request: FastifyRequest) => request.session.destroy(),
          },
        }
      : {}),
    verifyUser: async (username: string, password: string) => {
      const checked = await accountThrottle.check(demoDb, username, password);
      if (checked.kind === 'locked') {
        // Thrown OAuthErrors reach the client as they are: RFC 6749 section 5.2's shape, with Retry-After.
        throw new OAuthError('temporarily_unavailable', {
          status: 429,
          description: `Too many failed logins for this account; retry after ${checked.retryAfterSeconds} seconds.`,
          headers: { 'retry-after': String(checked.retryAfterSeconds) },
        });
      }
      return checked.kind === 'valid' ? { id: checked.user.id, username: checked.user.username } : null;
    },
    findUsername: async (userId: string) => (await findUserById(demoDb, userId))?.username ?? null,
    // MCP clients arrive without an administrator: open dynamic registration (RFC 7591), limited
    // per client address by registerRateLimits; registrations that never obtain a token expire.
    registration: { enabled: true },
    // The audit trail in the log, and the counters of /metrics.
    onEvent: (event) => {
      writeAudit(event);
      metrics.observe(event);
    },
  });

  // Secrets shown once wait in the session sealed; without an OAuth 1.0a key, under one derived from the session secret.
  const flashBox = secretBox ?? new SecretBox(createHash('sha256').update(`demo flash:${options.sessionSecret}`).digest('hex'));
  const services: DemoServices = { db: demoDb, storage, scopes, oauth1Available: secretBox !== null, flashBox, accountThrottle, enforceSecure };
  const oauthOperations: OAuthOperations = {
    registerClient: (input) => fastify.oauth.registerClient(input),
    issueTokens: (input) => fastify.oauth.issueTokens(input),
    deleteClient: (clientId) => fastify.oauth.deleteClient(clientId),
    setClientDisabled: (clientId, disabled) => fastify.oauth.setClientDisabled(clientId, disabled),
    // The plugin revokes both protocols' tokens of the grant.
    revokeGrant: (userId, clientId) => fastify.oauth.revokeGrant(userId, clientId),
    // Only the admin page forgets a consent without the tokens.
    revokeConsent: (userId, clientId) => fastify.oauth.server.revokeConsent(userId, clientId, { revokedBy: 'admin' }),
    declaredScopes: () => fastify.oauth.declaredScopes().map((d) => d.scope),
    sealSecret: secretBox ? (secret) => secretBox.encrypt(secret) : null,
  };
  fastify.decorate('demo', { ...services, oauthOperations });

  // The Django providers' paths: django-oauth2-provider's `/oauth2/access_token/` (the password
  // grant with credentials in the body, as it and Django REST framework document it) and oauthost's
  // `token/`; both are the token endpoint. Anything thrown (a malformed request, a storage failure)
  // answers in the RFC's JSON shape.
  const tokenAlias = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      return sendOAuthResponse(reply, await fastify.oauth.server.handleTokenRequest(toOAuthRequest(request)));
    } catch (error) {
      return sendOAuthError(reply, error);
    }
  };
  fastify.post('/oauth2/access_token', tokenAlias);
  fastify.post('/token', tokenAlias);
  // oauthost's `auth/`: sent on to the authorization endpoint with its query.
  fastify.get('/auth', async (request, reply) => {
    const query = request.url.indexOf('?');
    return reply.redirect(`${fastify.oauth.paths.authorization}${query === -1 ? '' : request.url.slice(query)}`, 302);
  });

  registerMetricsRoute(fastify, metrics, options.metricsToken);
  await registerHomeRoutes(fastify, services);
  await registerLoginRoutes(fastify, services);
  // "Sign in with Portcullis": an OpenID Connect relying party calling this issuer over HTTP.
  await registerRelyingPartyRoutes(fastify, { issuer });
  await registerAccountRoutes(fastify, services, oauthOperations.revokeGrant);
  await registerAdminRoutes(fastify, services, oauthOperations);
  await registerPollsApi(fastify, services);
  // The plugin's bearer challenges name the issuer as their realm.
  await registerMcpRoutes(fastify, services, { resource: mcpResourceIdentifier(issuer), realm: issuer });
}
