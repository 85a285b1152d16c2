import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createAuthorizationServer, type AuthorizationServerOptions } from '@portcullis/core';
import { createDefaultScopes } from '@portcullis/scopes';
import { registerAuthorizeRoutes } from './authorize-routes.js';
import { ScopeDeclarations } from './declared-scopes.js';
import { InvalidOptionError } from './errors.js';
import { resolveOptions, type PassThroughOptions, type PortcullisOptions } from './options.js';
import { createRequireScope, createRouteScopeHook, type GuardContext } from './require-scope.js';
import { registerTokenRoutes } from './token-routes.js';
import type { MountedPaths, PortcullisDecorator, RequestVerifier } from './types.js';

const PASS_THROUGH: readonly (keyof PassThroughOptions)[] = [
  'accessTokenTtl',
  'refreshTokenTtl',
  'authorizationCodeTtl',
  'deleteExpired',
  'singleAccessToken',
  'allowPlainPkce',
  'defaultScopes',
  'verifyUser',
  'findUsername',
  'clock',
  'entropy',
];

/** Joins route path parts the way Fastify joins prefixes: one slash between, none at the end. */
function joinPath(...parts: string[]): string {
  const joined = parts
    .map((part) => part.replace(/^\/+|\/+$/g, ''))
    .filter((part) => part !== '')
    .join('/');
  return `/${joined}`;
}

/**
 * The Portcullis plugin: decorates `fastify.oauth`, `fastify.requireScope` and `request.oauth`,
 * and mounts the OAuth 2 endpoints in an encapsulated child (its own body parser and error
 * handlers, so the application's are untouched). OAuth 1.0a routes join the same child.
 */
async function oauthProvider(fastify: FastifyInstance, options: PortcullisOptions): Promise<void> {
  const settings = resolveOptions(options);
  // fastify-plugin skips encapsulation, so Fastify ignores a `prefix` given at registration; honour it here.
  const registerPrefix = (options as { prefix?: unknown }).prefix ?? '';
  if (typeof registerPrefix !== 'string') throw new InvalidOptionError('prefix', 'must be a string');
  const registry = options.scopes ?? createDefaultScopes();
  const mountRoot = joinPath(fastify.prefix, registerPrefix);
  const paths: MountedPaths = {
    authorization: joinPath(mountRoot, settings.routePrefix, 'authorize'),
    token: joinPath(mountRoot, settings.routePrefix, 'token'),
    revocation: joinPath(mountRoot, settings.routePrefix, 'revoke'),
    introspection: joinPath(mountRoot, settings.routePrefix, 'introspect'),
    metadata: joinPath(mountRoot, '.well-known/oauth-authorization-server'),
  };

  // The core puts these paths after the issuer; an issuer with a path (`https://host/auth`) already
  // holds the mount prefix, which must then not appear twice in the metadata document.
  const issuerPath = new URL(options.issuer).pathname.replace(/\/+$/, '');
  const fromIssuer = (path: string): string =>
    issuerPath !== '' && path.startsWith(`${issuerPath}/`) ? path.slice(issuerPath.length) : path;
  const serverOptions: AuthorizationServerOptions = {
    storage: options.storage,
    scopes: registry,
    issuer: options.issuer,
    enforceSecure: settings.enforceSecure,
    endpoints: {
      authorization: fromIssuer(paths.authorization),
      token: fromIssuer(paths.token),
      revocation: fromIssuer(paths.revocation),
      introspection: fromIssuer(paths.introspection),
    },
  };
  // Only the options the application set: `undefined` must not override the core's defaults.
  for (const name of PASS_THROUGH) {
    if (options[name] !== undefined) (serverOptions as unknown as Record<string, unknown>)[name] = options[name];
  }
  if (options.secretKey !== undefined) serverOptions.secretKey = options.secretKey;
  const server = createAuthorizationServer(serverOptions);

  const verifiers: RequestVerifier[] = [];
  const declarations = new ScopeDeclarations();
  const guardContext: GuardContext = {
    server,
    registry,
    verifiers,
    declarations,
    allowQueryToken: settings.allowQueryToken,
    enforceSecure: settings.enforceSecure,
    realm: settings.realm,
  };

  const decorator: PortcullisDecorator = {
    server,
    scopes: registry,
    paths,
    verifiers,
    registerClient: (input) => server.registerClient(input),
    revokeGrant: (userId, clientId) => server.revokeGrant(userId, clientId),
    issueTokens: (input) => server.issueTokens(input),
    purgeExpired: (purgeOptions) => server.purgeExpired(purgeOptions),
    declaredScopes: () => declarations.list(registry),
  };
  fastify.decorate('oauth', decorator);
  fastify.decorate('requireScope', createRequireScope(guardContext));
  fastify.decorateRequest('oauth', null);
  fastify.addHook('onRoute', createRouteScopeHook(guardContext));

  await fastify.register(
    async function portcullisRoutes(routes) {
      // OAuth endpoints take application/x-www-form-urlencoded only (RFC 6749 section 3.2); any
      // other body fails parsing here and the error handlers answer invalid_request.
      routes.removeAllContentTypeParsers();
      await routes.register(formbody);
      await routes.register(registerTokenRoutes, { server, settings });
      await routes.register(registerAuthorizeRoutes, { server, registry, settings, paths });
      // The OAuth 1.0a endpoints (request_token, authorize, access_token under /oauth1) register
      // here, beside these, sharing the form parser; their signed-request check joins `verifiers`.
    },
    { prefix: registerPrefix },
  );
}

export const portcullis = fp(oauthProvider, {
  name: '@portcullis/fastify',
  fastify: '5.x',
  dependencies: ['@fastify/cookie', '@fastify/session'],
});

export { oauthProvider };
