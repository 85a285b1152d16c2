import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import {
  createAuthorizationServer,
  createOAuth1Provider,
  isCompactJws,
  type AuthorizationServer,
  type AuthorizationServerOptions,
  type EventListener,
  type OAuth1Provider,
  type OAuth1ProviderOptions,
  type OAuthStorage,
} from '@portcullis/core';
import type { ScopeRegistry } from '@portcullis/scopes';
import { createDefaultScopes } from '@portcullis/scopes';
import { registerAuthorizeRoutes } from './authorize-routes.js';
import { registerLogoutRoutes } from './logout-routes.js';
import { registerDeviceRoutes } from './device-routes.js';
import { ScopeDeclarations } from './declared-scopes.js';
import { handleJsonRouteError } from './error-handler.js';
import { loggedListener } from './events.js';
import { InvalidOptionError, NoLocalServerError, NoSessionError } from './errors.js';
import { registerOAuth1Routes } from './oauth1-routes.js';
import { createOAuth1Verifier } from './oauth1-verifier.js';
import { passThroughOptions, resolveOptions, type PortcullisOptions, type ResolvedOptions } from './options.js';
import { PROTECTED_RESOURCE_WELL_KNOWN, ProtectedResources } from './protected-resources.js';
import { createRemoteIntrospection, type AccessTokenCheck } from './remote-introspection.js';
import { createRemoteJwtVerifier } from './remote-jwt.js';
import { registerRegistrationRoutes } from './registration-routes.js';
import { registerResourceMetadataRoutes } from './resource-metadata-routes.js';
import { createRequireScope, createRouteScopeHook, type GuardContext } from './require-scope.js';
import { registerMetadataRoutes, registerTokenRoutes } from './token-routes.js';
import type { DeclaredScope, MountedPaths, PortcullisDecorator, RequestVerifier } from './types.js';

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
 * handlers, so the application's are untouched). OAuth 1.0a routes join the same child. Only the
 * browser endpoints use a session; a resource server (`resourceServer`) mounts no endpoint.
 */
async function portcullisPlugin(fastify: FastifyInstance, options: PortcullisOptions): Promise<void> {
  const settings = resolveOptions(options);
  // Checked here rather than as a plugin dependency: only the browser endpoints need a session.
  if (settings.browser !== null && !fastify.hasRequestDecorator('session') && !fastify.hasPlugin('@fastify/session')) {
    throw new NoSessionError();
  }
  // fastify-plugin skips encapsulation, so Fastify ignores a `prefix` given at registration; honour it here.
  const registerPrefix = (options as { prefix?: unknown }).prefix ?? '';
  if (typeof registerPrefix !== 'string') throw new InvalidOptionError('prefix', 'must be a string');
  const registry = options.scopes ?? createDefaultScopes();
  const mountRoot = joinPath(fastify.prefix, registerPrefix);
  // The core puts endpoint paths after the issuer; an issuer with a path (`https://host/auth`)
  // already holds the mount prefix, which must then not appear twice in the metadata document.
  const issuerPath = new URL(options.issuer).pathname.replace(/\/+$/, '');
  const paths: MountedPaths = {
    authorization: joinPath(mountRoot, settings.routePrefix, 'authorize'),
    token: joinPath(mountRoot, settings.routePrefix, 'token'),
    revocation: joinPath(mountRoot, settings.routePrefix, 'revoke'),
    introspection: joinPath(mountRoot, settings.routePrefix, 'introspect'),
    registration: joinPath(mountRoot, settings.routePrefix, 'register'),
    deviceAuthorization: joinPath(mountRoot, settings.routePrefix, 'device_authorization'),
    deviceVerification: joinPath(mountRoot, settings.routePrefix, 'device'),
    metadata: joinPath(mountRoot, '.well-known/oauth-authorization-server'),
    jwks: joinPath(mountRoot, settings.routePrefix, 'jwks.json'),
    issuerMetadata: issuerMetadataPath(fastify.prefix, issuerPath),
    oauth1:
      settings.oauth1 === null
        ? null
        : Object.freeze({
            requestToken: joinPath(mountRoot, settings.oauth1RoutePrefix, 'request_token'),
            authorization: joinPath(mountRoot, settings.oauth1RoutePrefix, 'authorize'),
            accessToken: joinPath(mountRoot, settings.oauth1RoutePrefix, 'access_token'),
          }),
    openid:
      settings.openid === null
        ? null
        : Object.freeze({
            userinfo: joinPath(mountRoot, settings.routePrefix, 'userinfo'),
            endSession: joinPath(mountRoot, settings.routePrefix, 'logout'),
            configuration: joinPath(mountRoot, '.well-known/openid-configuration'),
          }),
  };
  Object.freeze(paths);

  const fromIssuer = (path: string): string =>
    issuerPath !== '' && path.startsWith(`${issuerPath}/`) ? path.slice(issuerPath.length) : path;
  const { storage } = options;
  const onEvent = options.onEvent === undefined ? undefined : loggedListener(fastify.log, options.onEvent);
  const serverOptions: AuthorizationServerOptions | null =
    storage === undefined
      ? null
      : {
          ...passThroughOptions(options),
          storage,
          scopes: registry,
          issuer: options.issuer,
          // The application's own resource is one the server issues tokens for, as every guard's is.
          resources: [...(options.resources ?? []), settings.resource],
          defaultAudience: settings.defaultAudience,
          enforceSecure: settings.enforceSecure,
          endpoints: {
            // Without the browser endpoints the metadata offers no authorization endpoint nor its grants.
            authorization: settings.browser === null ? null : fromIssuer(paths.authorization),
            token: fromIssuer(paths.token),
            revocation: fromIssuer(paths.revocation),
            introspection: fromIssuer(paths.introspection),
            registration: fromIssuer(paths.registration),
            jwks: fromIssuer(paths.jwks),
            userinfo: fromIssuer(joinPath(mountRoot, settings.routePrefix, 'userinfo')),
            endSession: fromIssuer(joinPath(mountRoot, settings.routePrefix, 'logout')),
            deviceAuthorization: fromIssuer(paths.deviceAuthorization),
            deviceVerification: fromIssuer(paths.deviceVerification),
          },
        };
  if (serverOptions !== null && options.secretKey !== undefined) serverOptions.secretKey = options.secretKey;
  if (serverOptions !== null && onEvent !== undefined) serverOptions.onEvent = onEvent;
  const server = serverOptions === null ? null : createAuthorizationServer(serverOptions);

  if (storage === undefined && settings.oauth1 !== null) {
    throw new InvalidOptionError('oauth1', 'needs the "storage" option: OAuth 1.0a signatures are checked against the stored credentials');
  }
  const oauth1 = storage === undefined ? null : createOAuth1(storage, options, settings, registry, onEvent);

  // Other ways than a bearer token to authenticate a resource request, fixed at registration.
  const verifiers: readonly RequestVerifier[] = oauth1 === null ? [] : [createOAuth1Verifier(oauth1)];
  const declarations = new ScopeDeclarations(registry);
  // RFC 9728 section 2: how a bearer token may be presented to the guards.
  const bearerMethods = settings.allowQueryToken ? ['header', 'body', 'query'] : ['header', 'body'];
  const protectedResources = new ProtectedResources(options.issuer, bearerMethods, settings.resourceMetadata);
  protectedResources.add(settings.resource);
  const guardContext: GuardContext = {
    verifyAccessToken: createTokenCheck(settings, options.clock ?? (() => new Date()), server),
    registry,
    verifiers,
    declarations,
    allowQueryToken: settings.allowQueryToken,
    enforceSecure: settings.enforceSecure,
    realm: settings.realm,
    resources: protectedResources,
    defaultResource: settings.resource,
    registerResource: (resource) => server?.registerResource(resource),
  };

  const declaredScopes = (): DeclaredScope[] => declarations.list();
  const listResources = (): string[] => protectedResources.list();
  const resourceMetadataUrl = (resource: string): string | null => protectedResources.metadataUrl(resource);
  const decorator: PortcullisDecorator = Object.freeze<PortcullisDecorator>(
    server === null
      ? remoteDecorator(registry, paths, declaredScopes, listResources, resourceMetadataUrl)
      : {
          server,
          scopes: registry,
          paths,
          oauth1,
          registerClient: (input) => server.registerClient(input),
          // The core revokes the OAuth 1.0a token credentials of the pair as well.
          revokeGrant: (userId, clientId, revokeOptions) => server.revokeGrant(userId, clientId, revokeOptions),
          issueTokens: (input) => server.issueTokens(input),
          deleteClient: (clientId) => server.deleteClient(clientId),
          setClientDisabled: (clientId, disabled) => server.setClientDisabled(clientId, disabled),
          purgeExpired: (purgeOptions) => server.purgeExpired(purgeOptions),
          rotateSigningKeys: () => server.rotateSigningKeys(),
          declaredScopes,
          protectedResources: listResources,
          resourceMetadataUrl,
        },
  );
  // A getter without a setter: `fastify.oauth = ...` throws, as assigning to its members does.
  fastify.decorate('oauth', { getter: () => decorator });
  fastify.decorate('requireScope', createRequireScope(guardContext));
  fastify.decorateRequest('oauth', null);
  fastify.addHook('onRoute', createRouteScopeHook(guardContext));
  // Every route is added by now: a guard naming a scope nobody defined stops the start.
  fastify.addHook('onReady', async function checkDeclaredScopes() {
    declarations.check();
  });

  // RFC 9728 section 3.1: at the host's root, which a plugin in a prefixed context cannot reach.
  // A second instance on the same host (under another register prefix) leaves the root to the first.
  if (fastify.prefix === '' && !fastify.hasRoute({ method: 'GET', url: PROTECTED_RESOURCE_WELL_KNOWN })) {
    await fastify.register(async function portcullisResourceMetadata(root) {
      registerResourceMetadataRoutes(root, protectedResources);
    });
  }

  // The automatic rotation schedule, if any, ends with the server.
  if (server?.signingKeys) fastify.addHook('onClose', async () => server.signingKeys?.stop());

  if (server === null || !settings.endpoints) return;
  await fastify.register(
    async function portcullisRoutes(routes) {
      await parseFormBodiesOnly(routes);
      await routes.register(registerTokenRoutes, { server, settings });
      if (settings.browser !== null) {
        await routes.register(registerAuthorizeRoutes, { server, registry, settings, browser: settings.browser, paths });
        await routes.register(registerDeviceRoutes, { server, registry, settings, browser: settings.browser, paths });
      }
      const endSession = settings.openid?.endSession ?? null;
      if (settings.browser !== null && endSession !== null && paths.openid !== null) {
        await routes.register(registerLogoutRoutes, {
          server,
          settings,
          getUser: settings.browser.getUser,
          endSession,
          path: paths.openid.endSession,
        });
      }
      // OAuth 1.0a beside them, sharing the form parser; its signed-request check is in `verifiers`.
      if (oauth1 !== null && paths.oauth1 !== null) {
        await routes.register(registerOAuth1Routes, { provider: oauth1, registry, settings, paths: paths.oauth1 });
      }
    },
    { prefix: registerPrefix },
  );
  if (server.registrationEnabled) {
    // JSON bodies (RFC 7591 section 3.1), so beside the form-only routes rather than among them.
    await fastify.register(async function portcullisRegistrationRoutes(routes) {
      await routes.register(registerRegistrationRoutes, { server, settings });
    }, { prefix: registerPrefix });
  }

  const issuerMetadata = paths.issuerMetadata;
  if (issuerMetadata !== null) {
    // Outside the prefixed child: this path hangs off the host's root, whatever the mount.
    await fastify.register(async function portcullisIssuerMetadata(root) {
      await parseFormBodiesOnly(root);
      root.setErrorHandler(handleJsonRouteError);
      registerMetadataRoutes(root, issuerMetadata, server);
    });
  }
}

/**
 * How the guards check a bearer token: in storage through the local server (both formats), or
 * remotely: a JWT with the issuer's keys when `jwt` is set, any other token by introspection.
 */
function createTokenCheck(settings: ResolvedOptions, clock: () => Date, server: AuthorizationServer | null): AccessTokenCheck {
  const introspect = settings.introspection === null ? null : createRemoteIntrospection(settings.introspection, clock);
  const verifyJwt = settings.remoteJwt === null ? null : createRemoteJwtVerifier(settings.remoteJwt, clock);
  if (verifyJwt !== null && introspect !== null) return (token) => (isCompactJws(token) ? verifyJwt(token) : introspect(token));
  return verifyJwt ?? introspect ?? ((token) => server!.verifyAccessToken(token));
}

/**
 * `fastify.oauth` of a resource server asking a remote authorization server: the scopes and the
 * guards' declarations are here, but no store, so the members that administer one throw (or
 * reject with) `FST_PORTCULLIS_NO_LOCAL_SERVER`.
 */
function remoteDecorator(
  scopes: ScopeRegistry,
  paths: MountedPaths,
  declaredScopes: () => DeclaredScope[],
  protectedResources: () => string[],
  resourceMetadataUrl: (resource: string) => string | null,
): PortcullisDecorator {
  const refuse = (member: string) => () => Promise.reject(new NoLocalServerError(member));
  return {
    get server(): never {
      throw new NoLocalServerError('server');
    },
    scopes,
    paths,
    oauth1: null,
    registerClient: refuse('registerClient'),
    revokeGrant: refuse('revokeGrant'),
    issueTokens: refuse('issueTokens'),
    deleteClient: refuse('deleteClient'),
    setClientDisabled: refuse('setClientDisabled'),
    purgeExpired: refuse('purgeExpired'),
    rotateSigningKeys: refuse('rotateSigningKeys'),
    declaredScopes,
    protectedResources,
    resourceMetadataUrl,
  };
}

/**
 * OAuth endpoints take application/x-www-form-urlencoded only (RFC 6749 section 3.2); any other
 * body fails parsing in `instance` and its error handler answers invalid_request.
 */
async function parseFormBodiesOnly(instance: FastifyInstance): Promise<void> {
  instance.removeAllContentTypeParsers();
  await instance.register(formbody);
}

/**
 * RFC 8414 section 3.1: the metadata of an issuer with a path is looked up at the host's root, with
 * the well-known segment inserted before that path (`https://host/auth` is described at
 * `/.well-known/oauth-authorization-server/auth`). Null when the issuer has no path (the mount-root
 * document is the one), when the plugin sits in a prefixed context (the root is out of its reach),
 * or when the path holds `:` or `*`, which Fastify's router would read as parameters.
 */
function issuerMetadataPath(contextPrefix: string, issuerPath: string): string | null {
  if (issuerPath === '' || contextPrefix !== '' || /[:*]/.test(issuerPath)) return null;
  return `/.well-known/oauth-authorization-server${issuerPath}`;
}

/** The OAuth 1.0a provider when the `oauth1` option is on, sharing the store, scopes, clock and key. */
function createOAuth1(
  storage: OAuthStorage,
  options: PortcullisOptions,
  settings: ResolvedOptions,
  registry: ScopeRegistry,
  onEvent: EventListener | undefined,
): OAuth1Provider | null {
  if (settings.oauth1 === null || options.secretKey === undefined) return null;
  const { timestampWindow, requestTokenTtl, accessTokenTtl, realm } = settings.oauth1;
  const providerOptions: OAuth1ProviderOptions = {
    storage,
    // Signatures cover the issuer's origin, never the Host header the client sends.
    issuer: options.issuer,
    secretKey: options.secretKey,
    scopes: registry,
    // The realm of the bearer challenges by default: one server, one protection space.
    realm: realm ?? settings.realm,
    enforceSecure: settings.enforceSecure,
  };
  if (timestampWindow !== undefined) providerOptions.timestampWindow = timestampWindow;
  if (requestTokenTtl !== undefined) providerOptions.requestTokenTtl = requestTokenTtl;
  if (accessTokenTtl !== undefined) providerOptions.accessTokenTtl = accessTokenTtl;
  if (options.defaultScopes !== undefined && options.defaultScopes.length > 0) {
    providerOptions.defaultScopes = options.defaultScopes;
  }
  if (options.clock !== undefined) providerOptions.clock = options.clock;
  if (options.entropy !== undefined) providerOptions.entropy = options.entropy;
  if (onEvent !== undefined) providerOptions.onEvent = onEvent;
  try {
    return createOAuth1Provider(providerOptions);
  } catch (error) {
    // The core names the bad setting in a TypeError; surface it with the plugin's stable code.
    if (error instanceof TypeError) throw new InvalidOptionError('oauth1', `is invalid: ${error.message}`);
    throw error;
  }
}

export const fastifyPortcullis = fp(portcullisPlugin, {
  name: '@portcullis/fastify',
  fastify: '5.x',
});

