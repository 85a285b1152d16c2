import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import {
  invalidRequest,
  insufficientScope,
  isAudienceOf,
  OAuthError,
  otherAudienceError,
  toOAuthError,
} from '@portcullis/core';
import { isScopeToken, type ScopeRegistry } from '@portcullis/scopes';
import type { ScopeDeclarations } from './declared-scopes.js';
import { InvalidScopeError } from './errors.js';
import type { ProtectedResources } from './protected-resources.js';
import type { AccessTokenCheck } from './remote-introspection.js';
import { isFormRequest, sendOAuthError } from './request-adapter.js';
import { deriveAutoScope } from './scope-auto.js';
import type { GuardOptions, RequestAuth, RequestVerifier, RequireScope, RequireScopeOptions, ScopeGuard, ScopedRoute } from './types.js';

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
  /** The resources the guards protect, and their metadata documents (RFC 9728). */
  resources: ProtectedResources;
  /** The resource of a guard that names none: the plugin's `resource` option. */
  defaultResource: string;
  /** Tells the local authorization server about a guard's resource, so it issues tokens for it. */
  registerResource: (resource: string) => void;
}

const kGuardSpec = Symbol('portcullis.requireScope');

interface GuardSpec {
  scopes: readonly string[];
  auto: RequireScopeOptions | null;
  resource: string;
}

/** What every challenge of one guard names besides the error: the scope it needs and its metadata. */
interface ChallengeParts {
  realm: string;
  /** The scopes the guard needs, space-separated; undefined when it needs none. */
  scope: string | undefined;
  /** RFC 9728 section 5.1: the URL of the protected resource's metadata. */
  resourceMetadata: string;
}

type TaggedGuard = ScopeGuard & { [kGuardSpec]?: GuardSpec };

/**
 * `Bearer realm="..."` with RFC 6750 section 3 error attributes, the `scope` the resource needs
 * (the error's own, else `options.scope`) and RFC 9728 section 5.1's `resource_metadata`.
 */
export function formatBearerChallenge(
  realm: string,
  error?: OAuthError,
  options: { scope?: string | undefined; resourceMetadata?: string | undefined } = {},
): string {
  let challenge = `Bearer realm="${realm}"`;
  if (error !== undefined) {
    challenge += `, error="${error.error}"`;
    // Descriptions are the server's own words; quotes and backslashes are dropped to keep the quoted-string valid.
    if (error.description !== undefined) challenge += `, error_description="${error.description.replace(/["\\]/g, '')}"`;
  }
  const scope = error?.scope ?? options.scope;
  if (scope !== undefined && scope !== '') challenge += `, scope="${scope}"`;
  if (options.resourceMetadata !== undefined) challenge += `, resource_metadata="${options.resourceMetadata.replace(/["\\]/g, '')}"`;
  return challenge;
}

/**
 * The error with the guard's `WWW-Authenticate` challenge, replacing any the core built: every
 * 400, 401 and 403 of a guard names the scope it needs and where its metadata is (RFC 9728
 * section 5.1), which only the guard knows.
 */
function withChallenge(error: OAuthError, parts: ChallengeParts): OAuthError {
  if (error.status !== 400 && error.status !== 401 && error.status !== 403) return error;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(error.headers)) if (name.toLowerCase() !== 'www-authenticate') headers[name] = value;
  headers['www-authenticate'] = formatBearerChallenge(parts.realm, error, parts);
  return new OAuthError(error.error, {
    status: error.status,
    ...(error.description === undefined ? {} : { description: error.description }),
    ...(error.uri === undefined ? {} : { uri: error.uri }),
    ...(error.scope === undefined ? {} : { scope: error.scope }),
    headers,
  });
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

/** A guard's errors that do not depend on the request, built once per guard. */
interface GuardErrors {
  parts: ChallengeParts;
  missing: string;
  insecure: OAuthError;
  ambiguous: OAuthError;
  mixed: OAuthError;
  malformed: OAuthError;
  /** A token issued for another resource (RFC 8707): it must not open this one. */
  otherAudience: OAuthError;
}

function createGuardErrors(parts: ChallengeParts): GuardErrors {
  return {
    parts,
    missing: formatBearerChallenge(parts.realm, undefined, parts),
    insecure: withChallenge(invalidRequest('Protected resources are served over HTTPS only.'), parts),
    ambiguous: withChallenge(invalidRequest('The request carries an access token in more than one way; use exactly one.'), parts),
    mixed: withChallenge(
      invalidRequest('The request carries a bearer token and another credential (an OAuth 1.0a signature); use one.'),
      parts,
    ),
    malformed: withChallenge(invalidRequest('The access token parameter is malformed.'), parts),
    otherAudience: withChallenge(otherAudienceError(), parts),
  };
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
  errors: GuardErrors,
  request: FastifyRequest,
  reply: FastifyReply,
  required: readonly string[],
  resource: string,
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
    if (!isAudienceOf(grant.audience, resource)) {
      sendOAuthError(reply, errors.otherAudience);
      return null;
    }
    return {
      protocol: 'oauth2',
      clientId: grant.clientId,
      userId: grant.userId,
      scope: grant.scope,
      audience: grant.audience,
      tokenId: grant.tokenId,
    };
  } catch (error) {
    sendFailure(errors.parts, request, reply, error);
    return null;
  }
}

function carriesOtherCredential(context: GuardContext, request: FastifyRequest): boolean {
  for (const verifier of context.verifiers) if (verifier.carries?.(request) === true) return true;
  return false;
}

function sendFailure(parts: ChallengeParts, request: FastifyRequest, reply: FastifyReply, error: unknown): void {
  const wire = withChallenge(toOAuthError(error), parts);
  if (wire.status >= 500) request.log.error({ err: error }, `portcullis: ${wire.error}`);
  sendOAuthError(reply, wire);
}

/**
 * A guard for fixed scopes of one resource: a bearer token must be issued for the resource
 * (RFC 8707) and grant the scopes. Everything but the token lookup is computed here, once.
 */
function createGuard(context: GuardContext, scopes: readonly string[], resource: string): ScopeGuard {
  const required = Object.freeze([...scopes]);
  let requiredMask = maskOfDefined(context.registry, required);
  const needed = required.join(' ');
  const errors = createGuardErrors({
    realm: context.realm,
    scope: needed === '' ? undefined : needed,
    resourceMetadata: context.resources.add(resource),
  });
  context.resources.declare(resource, required);
  const insufficient = withChallenge(insufficientScope(`This resource needs the scope "${needed}".`, { scope: needed }), errors.parts);
  // An async hook that answered must return the reply, or Fastify runs the handler as well.
  return async function requireScopeGuard(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const auth = await authenticate(context, errors, request, reply, required, resource);
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
function createAutoGuard(context: GuardContext, options: RequireScopeOptions, resource: string): ScopeGuard {
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
      guard = createGuard(context, [scope], resource);
      byUrl.set(url, guard);
    }
    return guard(request, reply);
  };
}

/** The resource a guard protects: its own `resource` option, else the plugin's. */
function resolveGuardResource(context: GuardContext, options: GuardOptions | RequireScopeOptions | undefined): string {
  const resource = options?.resource ?? context.defaultResource;
  context.resources.add(resource);
  context.registerResource(resource);
  return resource;
}

/**
 * Builds `fastify.requireScope`: scope names, optionally followed by `{ resource }`; or a single
 * `{ auto: true, ... }`.
 */
export function createRequireScope(context: GuardContext): RequireScope {
  return function requireScope(...args: (string | GuardOptions | RequireScopeOptions)[]): ScopeGuard {
    const last = args.at(-1);
    const options = last !== null && typeof last === 'object' ? (last as GuardOptions & Partial<RequireScopeOptions>) : undefined;
    if (options !== undefined && 'auto' in options) {
      if (args.length !== 1 || options.auto !== true) {
        throw new InvalidScopeError('options', 'must be the only argument and have auto: true');
      }
      for (const part of [options.app, options.view]) {
        if (part !== undefined && (typeof part !== 'string' || !isScopeToken(part))) {
          throw new InvalidScopeError(JSON.stringify(part), 'is not a valid app or view name');
        }
      }
      const resource = resolveGuardResource(context, options);
      const auto = { ...options } as RequireScopeOptions;
      const guard: TaggedGuard = createAutoGuard(context, auto, resource);
      guard[kGuardSpec] = { scopes: [], auto, resource };
      return guard;
    }
    if (options !== undefined && Object.keys(options).some((key) => key !== 'resource')) {
      throw new InvalidScopeError('options', 'after the scopes take { resource } only');
    }
    const names = options === undefined ? args : args.slice(0, -1);
    for (const scope of names) {
      if (typeof scope !== 'string' || !isScopeToken(scope)) {
        throw new InvalidScopeError(JSON.stringify(scope), 'is not an RFC 6749 scope-token');
      }
    }
    const scopes = [...new Set(names as string[])];
    const resource = resolveGuardResource(context, options);
    context.declarations.declare(scopes);
    const guard: TaggedGuard = createGuard(context, scopes, resource);
    guard[kGuardSpec] = { scopes, auto: null, resource };
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
      context.resources.declare(spec.resource, scopes);
    }
  };
}
