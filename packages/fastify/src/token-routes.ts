import type { FastifyInstance } from 'fastify';
import { invalidRequest, type AuthorizationServer, type OAuthRequest, type OAuthResponse } from '@portcullis/core';
import { handleJsonRouteError } from './error-handler.js';
import type { ResolvedOptions } from './options.js';
import { sendOAuthError, sendOAuthResponse, toOAuthRequest } from './request-adapter.js';
import { endpointConfig } from './route-config.js';
import { DeviceAuthorizationBody, IntrospectionResponseSchema, TokenBody, TokenReferenceBody } from './schemas.js';

export interface TokenRouteOptions {
  server: AuthorizationServer;
  settings: ResolvedOptions;
}

/** The JSON endpoints: token, revocation, introspection and the RFC 8414 metadata document. */
export async function registerTokenRoutes(routes: FastifyInstance, options: TokenRouteOptions): Promise<void> {
  const { server, settings } = options;
  routes.setErrorHandler(handleJsonRouteError);

  routes.post<{ Body: TokenBody }>(
    `${settings.routePrefix}/token`,
    { schema: { body: TokenBody }, config: endpointConfig('token') },
    async (request, reply) => sendOAuthResponse(reply, await server.handleTokenRequest(toOAuthRequest(request))),
  );

  routes.post<{ Body: TokenReferenceBody }>(
    `${settings.routePrefix}/revoke`,
    { schema: { body: TokenReferenceBody }, config: endpointConfig('revoke') },
    async (request, reply) => sendOAuthResponse(reply, await server.handleRevocationRequest(toOAuthRequest(request))),
  );

  routes.post<{ Body: TokenReferenceBody }>(
    `${settings.routePrefix}/introspect`,
    { schema: { body: TokenReferenceBody, response: { 200: IntrospectionResponseSchema } }, config: endpointConfig('introspect') },
    async (request, reply) =>
      sendOAuthResponse(reply, await server.handleIntrospectionRequest(toOAuthRequest(request))),
  );

  // RFC 8628 section 3.1, offered with the browser endpoints: the user approves on the
  // verification page.
  if (settings.browser !== null) {
    routes.post<{ Body: DeviceAuthorizationBody }>(
      `${settings.routePrefix}/device_authorization`,
      { schema: { body: DeviceAuthorizationBody }, config: endpointConfig('device_authorization') },
      async (request, reply) => sendOAuthResponse(reply, await server.handleDeviceAuthorizationRequest(toOAuthRequest(request))),
    );
  }

  // The endpoints are POST only; other methods get the core's 405 invalid_request with Allow,
  // rather than Fastify's 404 body.
  const handlers: Record<string, (request: OAuthRequest) => Promise<OAuthResponse>> = {
    token: (request: OAuthRequest) => server.handleTokenRequest(request),
    revoke: (request: OAuthRequest) => server.handleRevocationRequest(request),
    introspect: (request: OAuthRequest) => server.handleIntrospectionRequest(request),
    ...(settings.browser !== null && {
      device_authorization: (request: OAuthRequest) => server.handleDeviceAuthorizationRequest(request),
    }),
  };
  for (const [name, handle] of Object.entries(handlers)) {
    routes.route({
      method: ['GET', 'PUT', 'PATCH', 'DELETE'],
      url: `${settings.routePrefix}/${name}`,
      config: endpointConfig(name as 'token' | 'revoke' | 'introspect' | 'device_authorization'),
      handler: async (request, reply) => sendOAuthResponse(reply, await handle(toOAuthRequest(request))),
    });
  }

  if (server.signingKeys !== null) {
    // RFC 7517 section 5: public keys only, readable by anyone who verifies the server's tokens.
    const url = `${settings.routePrefix}/jwks.json`;
    routes.get(url, { config: endpointConfig('jwks') }, async (_request, reply) => sendOAuthResponse(reply, await server.handleJwksRequest()));
    routes.route({
      method: ['POST', 'PUT', 'PATCH', 'DELETE'],
      url,
      config: endpointConfig('jwks'),
      handler: async (_request, reply) =>
        sendOAuthError(reply, invalidRequest('The JWK Set is read with GET.', { status: 405, headers: { allow: 'GET, HEAD' } })),
    });
  }

  // RFC 8414 section 3: at the root of where the plugin is mounted, not under routePrefix.
  registerMetadataRoutes(routes, '/.well-known/oauth-authorization-server', server);

  if (server.openidEnabled) {
    // OpenID Connect Core 1.0 section 5.3.1: GET and POST; the core answers other methods with 405.
    routes.route({
      method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      url: `${settings.routePrefix}/userinfo`,
      config: endpointConfig('userinfo'),
      handler: async (request, reply) => sendOAuthResponse(reply, await server.handleUserInfoRequest(toOAuthRequest(request))),
    });
    // Discovery 1.0 section 4: the issuer with `/.well-known/openid-configuration` appended.
    registerMetadataRoutes(routes, '/.well-known/openid-configuration', server, 'openid_configuration');
  }
}

/** The metadata document at `url`, read with GET (and HEAD); other methods get a 405 with Allow. */
export function registerMetadataRoutes(
  routes: FastifyInstance,
  url: string,
  server: AuthorizationServer,
  endpoint: 'metadata' | 'openid_configuration' = 'metadata',
): void {
  const document = endpoint === 'metadata' ? () => server.getMetadata() : () => server.getOpenIdConfiguration();
  routes.get(url, { config: endpointConfig(endpoint) }, async (_request, reply) => sendOAuthResponse(reply, document()));
  routes.route({
    method: ['POST', 'PUT', 'PATCH', 'DELETE'],
    url,
    config: endpointConfig(endpoint),
    handler: async (_request, reply) =>
      sendOAuthError(
        reply,
        invalidRequest('The metadata document is read with GET.', { status: 405, headers: { allow: 'GET, HEAD' } }),
      ),
  });
}
