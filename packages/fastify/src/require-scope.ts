import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import {
  invalidRequest,
  insufficientScope,
  OAuthError,
  toOAuthError,
} from '@portcullis/core';
import { isScopeToken, type ScopeRegistry } from '@portcullis/scopes';
import type { ScopeDeclarations } from './declared-scopes.js';
import { InvalidScopeError } from './errors.js';
import type { AccessTokenCheck } from './remote-introspection.js';
import { isFormRequest, sendOAuthError } from './request-adapter.js';
import { deriveAutoScope } from './scope-auto.js';
import type { RequestAuth, RequestVerifier, RequireScope, RequireScopeOptions, ScopeGuard, ScopedRoute } from './types.js';

/** What every guard of one plugin instance shares. Built once at registration. */
export interface GuardContext {
  /** The storage's `verifyAccessToken`, or a remote authorization server's introspection. */
  verifyAccessToken: AccessTokenCheck;
  registry: ScopeRegistry;
  verifiers: readonly RequestVerifier[];
  declarations: ScopeDeclarations;
  allowQueryToken: boolean;
  enforceSecure: boolean;
  realm: string;
}

const kGuardSpec = Symbol('portcullis.requireScope');

interface GuardSpec {
  scopes: readonly string[];
  auto: RequireScopeOptions | null;
}

type TaggedGuard = ScopeGuard & { [kGuardSpec]?: GuardSpec };

/** `Bearer realm="..."` with RFC 6750 section 3 error attributes. */
export function formatBearerChallenge(realm: string, error?: OAuthError): string {
  let challenge = `Bearer realm="${realm}"`;
  if (error === undefined) return challenge;
  challenge += `, error="${error.error}"`;
  // Descriptions are the server's own words; quotes and backslashes are dropped to keep the quoted-string valid.
  if (error.description !== undefined) challenge += `, error_description="${error.description.replace(/["\\]/g, '')}"`;
  if (error.scope !== undefined) challenge += `, scope="${error.scope}"`;
  return challenge;
}

/** The error with a `WWW-Authenticate` challenge, when it needs one and the core did not add it. */
function withChallenge(error: OAuthError, realm: string): OAuthError {
  if (error.status !== 400 && error.status !== 401 && error.status !== 403) return error;
  if (Object.keys(error.headers).some((name) => name.toLowerCase() === 'www-authenticate')) return error;
  return new OAuthError(error.error, {
    status: error.status,
    ...(error.description === undefined ? {} : { description: error.description }),
    ...(error.uri === undefined ? {} : { uri: error.uri }),
    ...(error.scope === undefined ? {} : { scope: error.scope }),
    headers: { ...error.headers, 'www-authenticate': formatBearerChallenge(realm, error) },
  });
}

function challengeError(realm: string, build: () => OAuthError): OAuthError {
  return withChallenge(build(), realm);
}

/** The mask of the scopes, or null while one of them is not defined in the registry. */
function maskOfDefined(registry: ScopeRegistry, scopes: readonly string[]): bigint | null {
  let mask = 0n;
  for (const scope of scopes) {
    const info = registry.get(scope);
    if (info === undefined) return null;
    mask |= info.mask;
  }
  return mask;
}

/** The mask a token's scopes grant; names the registry no longer knows grant nothing. */
function maskOfGranted(registry: ScopeRegistry, scopes: readonly string[]): bigint {
  let mask = 0n;
  for (const scope of scopes) mask |= registry.get(scope)?.mask ?? 0n;
  return mask;
}

/** Errors that do not depend on the request, built once per plugin instance. */
interface SharedErrors {
  missing: string;
  insecure: OAuthError;
  ambiguous: OAuthError;
  mixed: OAuthError;
  malformed: OAuthError;
}

const sharedErrors = new WeakMap<GuardContext, SharedErrors>();

function getSharedErrors(context: GuardContext): SharedErrors {
  let errors = sharedErrors.get(context);
  if (errors === undefined) {
    errors = {
      missing: formatBearerChallenge(context.realm),
      insecure: challengeError(context.realm, () => invalidRequest('Protected resources are served over HTTPS only.')),
      ambiguous: challengeError(context.realm, () =>
        invalidRequest('The request carries an access token in more than one way; use exactly one.'),
      ),
      mixed: challengeError(context.realm, () =>
        invalidRequest('The request carries a bearer token and another credential (an OAuth 1.0a signature); use one.'),
      ),
      malformed: challengeError(context.realm, () => invalidRequest('The access token parameter is malformed.')),
    };
    sharedErrors.set(context, errors);
  }
  return errors;
}

/** The credentials of an `Authorization: Bearer` header, or undefined for another scheme. */
function readBearer(authorization: string): string | undefined {
  // The canonical spelling first: no allocation beyond the slice on the hot path.
  if (authorization.startsWith('Bearer ')) return authorization.slice(7).trim();
  // The scheme is case-insensitive (RFC 9110 section 11.1); "Bearer" alone is a malformed attempt.
  if (
    authorization.length >= 6 &&
    (authorization.length === 6 || authorization.charCodeAt(6) === 32) &&
    authorization.slice(0, 6).toLowerCase() === 'bearer'
  ) {
    return authorization.slice(7).trim();
  }
  return undefined;
}

/**
 * Finds who the request acts for, or answers it (and returns null): RFC 6750 section 2 token
 * lookup, then the extra verifiers (OAuth 1.0a) when no bearer token is there.
 */
async function authenticate(
  context: GuardContext,
  errors: SharedErrors,
  request: FastifyRequest,
  reply: FastifyReply,
  required: readonly string[],
): Promise<RequestAuth | null> {
  if (context.enforceSecure && request.protocol !== 'https') {
    sendOAuthError(reply, errors.insecure);
    return null;
  }
  let token: unknown;
  let found = 0;
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const bearer = readBearer(authorization);
    if (bearer !== undefined) {
      token = bearer;
      found++;
    }
  }
  const body = request.body as Record<string, unknown> | null | undefined;
  if (body !== null && typeof body === 'object' && body.access_token !== undefined && isFormRequest(request)) {
    token = body.access_token;
    found++;
  }
  if (context.allowQueryToken) {
    const query = request.query as Record<string, unknown> | null | undefined;
    if (query !== null && typeof query === 'object' && query.access_token !== undefined) {
      token = query.access_token;
      found++;
    }
  }
  if (found > 1) {
    sendOAuthError(reply, errors.ambiguous);
    return null;
  }
  if (found === 0) {
    for (const verifier of context.verifiers) {
      let pending: Promise<RequestAuth> | null;
      try {
        pending = verifier.verify(request, required);
        if (pending === null) continue;
        return await pending;
      } catch (error) {
        // A verifier speaks its own scheme (`WWW-Authenticate: OAuth realm=...`): its error goes
        // out as it built it, with no Bearer challenge added.
        const wire = toOAuthError(error);
        if (wire.status >= 500) request.log.error({ err: error }, `portcullis: ${wire.error}`);
        sendOAuthError(reply, wire);
        return null;
      }
    }
    // RFC 6750 section 3.1: a request without credentials gets a challenge and no error code.
    // The body stays empty for the same reason.
    reply.code(401).header('www-authenticate', errors.missing).header('cache-control', 'no-store').send();
    return null;
  }
  // Only when a verifier is installed, so a plain OAuth 2 server's bearer path costs nothing more.
  if (context.verifiers.length > 0 && carriesOtherCredential(context, request)) {
    sendOAuthError(reply, errors.mixed);
    return null;
  }
  if (typeof token !== 'string' || token === '') {
    sendOAuthError(reply, errors.malformed);
    return null;
  }
  try {
    const grant = await context.verifyAccessToken(token);
    return {
      protocol: 'oauth2',
      clientId: grant.clientId,
      userId: grant.userId,
      scope: grant.scope,
      tokenId: grant.tokenId,
    };
  } catch (error) {
    sendFailure(context, request, reply, error);
    return null;
  }
}

function carriesOtherCredential(context: GuardContext, request: FastifyRequest): boolean {
  for (const verifier of context.verifiers) if (verifier.carries?.(request) === true) return true;
  return false;
}

function sendFailure(context: GuardContext, request: FastifyRequest, reply: FastifyReply, error: unknown): void {
  const wire = withChallenge(toOAuthError(error), context.realm);
  if (wire.status >= 500) request.log.error({ err: error }, `portcullis: ${wire.error}`);
  sendOAuthError(reply, wire);
}

/** A guard for fixed scopes. Everything but the token lookup is computed here, once. */
function createGuard(context: GuardContext, scopes: readonly string[]): ScopeGuard {
  const required = Object.freeze([...scopes]);
  const errors = getSharedErrors(context);
  let requiredMask = maskOfDefined(context.registry, required);
  const needed = required.join(' ');
  const insufficient = challengeError(context.realm, () =>
    insufficientScope(`This resource needs the scope "${needed}".`, { scope: needed }),
  );
  // An async hook that answered must return the reply, or Fastify runs the handler as well.
  return async function requireScopeGuard(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const auth = await authenticate(context, errors, request, reply, required);
    if (auth === null) return reply;
    if (required.length > 0) {
      // A scope the registry does not define (yet) is held by no token: refuse until it is defined.
      if (requiredMask === null) requiredMask = maskOfDefined(context.registry, required);
      if (requiredMask === null || (maskOfGranted(context.registry, auth.scope) & requiredMask) !== requiredMask) {
        return sendOAuthError(reply, insufficient);
      }
    }
    request.oauth = auth;
    return undefined;
  };
}

/**
 * A `requireScope({ auto: true })` guard: the scope comes from the URL of the route the request
 * matched (`request.routeOptions.url`), derived on the first request of each route and kept, so
 * one guard serves every route it is attached to (a route option or an `addHook`) and no route is
 * edited to hold it.
 */
function createAutoGuard(context: GuardContext, options: RequireScopeOptions): ScopeGuard {
  const byUrl = new Map<string, ScopeGuard>();
  return async function requireAutoScopeGuard(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | undefined> {
    const url = request.routeOptions.url;
    // No route matched (the not-found handler answers): no route names a scope, and nothing is
    // served to protect. Deriving one from the raw URL would let any stranger's path declare a scope.
    if (url === undefined) return undefined;
    let guard = byUrl.get(url);
    if (guard === undefined) {
      const scope = deriveAutoScope(url, options);
      try {
        context.declarations.declare([scope], request.method === 'HEAD' ? [] : [{ method: request.method, url }]);
      } catch (error) {
        // A scope the registry does not define: the application's mistake, logged with its name
        // on every request of the route and answered 500 server_error, never a silent 403.
        return sendOAuthError(reply, error);
      }
      guard = createGuard(context, [scope]);
      byUrl.set(url, guard);
    }
    return guard(request, reply);
  };
}

/** Builds `fastify.requireScope`. */
export function createRequireScope(context: GuardContext): RequireScope {
  return function requireScope(...args: (string | RequireScopeOptions)[]): ScopeGuard {
    const [first] = args;
    if (first !== null && typeof first === 'object') {
      if (args.length !== 1 || first.auto !== true) {
        throw new InvalidScopeError('options', 'must be the only argument and have auto: true');
      }
      for (const part of [first.app, first.view]) {
        if (part !== undefined && (typeof part !== 'string' || !isScopeToken(part))) {
          throw new InvalidScopeError(JSON.stringify(part), 'is not a valid app or view name');
        }
      }
      const guard: TaggedGuard = createAutoGuard(context, first);
      guard[kGuardSpec] = { scopes: [], auto: { ...first } };
      return guard;
    }
    for (const scope of args) {
      if (typeof scope !== 'string' || !isScopeToken(scope)) {
        throw new InvalidScopeError(JSON.stringify(scope), 'is not an RFC 6749 scope-token');
      }
    }
    const scopes = [...new Set(args as string[])];
    context.declarations.declare(scopes);
    const guard: TaggedGuard = createGuard(context, scopes);
    guard[kGuardSpec] = { scopes, auto: null };
    return guard;
  };
}

/**
 * The `onRoute` hook: reads (never changes) the preHandlers of each route added, so that
 * `declaredScopes()` lists the routes a guard protects before any request, and a route
 * `requireScope({ auto: true })` cannot name fails when it is added rather than on its first request.
 */
export function createRouteScopeHook(context: GuardContext): (routeOptions: RouteOptions) => void {
  return function declareRouteScopes(routeOptions: RouteOptions): void {
    const handlers = routeOptions.preHandler;
    if (handlers === undefined) return;
    const list = (Array.isArray(handlers) ? handlers : [handlers]) as TaggedGuard[];
    let routes: ScopedRoute[] | undefined;
    for (const handler of list) {
      const spec = typeof handler === 'function' ? handler[kGuardSpec] : undefined;
      if (spec === undefined) continue;
      routes ??= (Array.isArray(routeOptions.method) ? routeOptions.method : [routeOptions.method])
        .filter((method) => method !== 'HEAD')
        .map((method) => ({ method, url: routeOptions.url }));
      const scopes = spec.auto === null ? spec.scopes : [deriveAutoScope(routeOptions.url, spec.auto)];
      context.declarations.declare(scopes, routes);
    }
  };
}
