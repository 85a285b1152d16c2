import type { AuthorizationServer, AuthorizationServerOptions } from '../server-types.js';
import { completeAuthorization, validateAuthorizationRequest } from './authorization-endpoint.js';
import { deleteClientAsAdministrator, handleClientConfiguration, handleClientRegistration, setClientDisabled } from './client-registration.js';
import { completeDeviceAuthorization, findDeviceAuthorization, handleDeviceAuthorizationRequest } from './device-authorization.js';
import { handleIntrospectionRequest } from './introspection.js';
import { issueTokensByHand } from './issue-tokens.js';
import { buildMetadata, createJwksResponse, createMetadataResponse } from './metadata.js';
import { checkResource, resolveOptions } from './options.js';
import { registerClient } from './register-client.js';
import { reviewConsent } from './remembered-consent.js';
import { createAccessTokenVerifier } from './resource.js';
import { handleRevocationRequest } from './revocation.js';
import { handleTokenRequest } from './token-endpoint.js';
import { validateEndSessionRequest } from './end-session.js';
import { resolveInteraction } from './interaction.js';
import { createErrorResponse } from './responses.js';
import { handleUserInfoRequest } from './userinfo.js';
import { invalidRequest } from '../errors.js';

/**
 * The OAuth 2 authorization server, free of any framework: plain requests in, plain results out.
 * Options are checked here, so a misconfiguration fails at startup with a TypeError naming it.
 */
export function createAuthorizationServer(options: AuthorizationServerOptions): AuthorizationServer {
  const context = resolveOptions(options);
  const metadata = buildMetadata(context);
  const verifyAccessToken = createAccessTokenVerifier(context);
  return {
    options: context.options,
    scopes: context.scopes,
    secretBox: context.secretBox,
    validateAuthorizationRequest: (request) => validateAuthorizationRequest(context, request),
    reviewConsent: (request, userId) => reviewConsent(context, request, userId),
    completeAuthorization: (request, decision) => completeAuthorization(context, request, decision),
    handleTokenRequest: (request) => handleTokenRequest(context, request),
    handleDeviceAuthorizationRequest: (request) => handleDeviceAuthorizationRequest(context, request),
    findDeviceAuthorization: (userCode) => findDeviceAuthorization(context, userCode),
    completeDeviceAuthorization: (request, decision) => completeDeviceAuthorization(context, request, decision),
    handleRevocationRequest: (request) => handleRevocationRequest(context, request),
    handleIntrospectionRequest: (request) => handleIntrospectionRequest(context, request),
    // A copy each time: an adapter serialising or decorating the body cannot change the next one.
    getMetadata: () => createMetadataResponse(structuredClone(metadata)),
    verifyAccessToken,
    resources: () => [...context.resources].sort(),
    registerResource: (resource, resourceOptions) => {
      const checked = checkResource('registerResource', resource);
      if (resourceOptions !== undefined && (typeof resourceOptions !== 'object' || resourceOptions === null)) {
        throw new TypeError('registerResource: options must be an object');
      }
      const format = resourceOptions?.accessTokenFormat;
      // Checked before anything changes: a refused format leaves the resource as it was.
      if (format !== undefined) context.resourceFormats.set(checked, context.checkAccessTokenFormat('registerResource: accessTokenFormat', format));
      context.resources.add(checked);
    },
    registerClient: (input) => registerClient(context, input),
    registrationEnabled: context.registration !== null,
    handleClientRegistration: (request, metadata) => handleClientRegistration(context, request, metadata),
    handleClientConfiguration: (request, clientId, metadata) => handleClientConfiguration(context, request, clientId, metadata),
    issueTokens: (input) => issueTokensByHand(context, input),
    deleteClient: (clientId) => deleteClientAsAdministrator(context, clientId),
    setClientDisabled: (clientId, disabled) => setClientDisabled(context, clientId, disabled),
    // Every credential of the grant at once, the codes and authorized request tokens not yet
    // exchanged included: either would otherwise buy fresh tokens after the revocation.
    revokeGrant: async (userId, clientId, revokeOptions) => {
      const { storage } = context.options;
      const revokedBy = revokeOptions?.revokedBy ?? 'user';
      // Read for the event only: the revocation, the consent's with it, is one store transaction.
      const consent = await storage.findConsent({ clientId, userId });
      const count = await storage.revokeGrant({ clientId, userId }, context.now());
      context.emit({ type: 'token.revoked', revokedBy, clientId, userId, tokenKind: null, tokenId: null, familyId: null, count });
      if (consent !== null) context.emit({ type: 'consent.revoked', clientId, userId, revokedBy });
      return count;
    },
    revokeConsent: async (userId, clientId, revokeOptions) => {
      const forgotten = (await context.options.storage.deleteConsents({ clientId, userId })) > 0;
      if (forgotten) context.emit({ type: 'consent.revoked', clientId, userId, revokedBy: revokeOptions?.revokedBy ?? 'user' });
      return forgotten;
    },
    purgeExpired: (purgeOptions) => context.options.storage.purgeExpired(context.now(), purgeOptions),
    signingKeys: context.signingKeys,
    handleJwksRequest: () => createJwksResponse(context),
    rotateSigningKeys: async () => {
      if (context.signingKeys === null) throw new TypeError('rotateSigningKeys: options.signingKeys is not set');
      return context.signingKeys.rotate();
    },
    resolveInteraction: (request, user, interactionOptions) => resolveInteraction(context, request, user, interactionOptions),
    openidEnabled: context.openid !== null,
    getOpenIdConfiguration: () =>
      context.openid === null
        ? createErrorResponse(invalidRequest('OpenID Connect is not enabled.', { status: 404 }))
        : createMetadataResponse(structuredClone(metadata)),
    handleUserInfoRequest: (request) => handleUserInfoRequest(context, verifyAccessToken, request),
    validateEndSessionRequest: (request, userId) => validateEndSessionRequest(context, request, userId),
  };
}
