import type { FastifyRequest } from 'fastify';
import type { OAuth1Provider } from '@portcullis/core';
import { isFormRequest, toOAuthRequest } from './request-adapter.js';
import type { RequestAuth, RequestVerifier } from './types.js';

// `Authorization: OAuth ...`; the scheme name is case-insensitive (RFC 9110 section 11.1).
const OAUTH_SCHEME = /^oauth(?:\s|$)/i;

function hasSignatureParameter(values: unknown): boolean {
  if (values === null || typeof values !== 'object') return false;
  const record = values as Record<string, unknown>;
  return record.oauth_signature !== undefined || record.oauth_consumer_key !== undefined;
}

/**
 * Whether the request is an OAuth 1.0a signed request (RFC 5849 section 3.5): the `OAuth`
 * Authorization scheme, or the signature parameters in the query or the form body. Property
 * lookups only: it runs on protected requests.
 */
export function isOAuth1SignedRequest(request: FastifyRequest): boolean {
  const authorization = request.headers.authorization;
  if (authorization !== undefined && OAUTH_SCHEME.test(authorization)) return true;
  if (hasSignatureParameter(request.query)) return true;
  return request.body !== undefined && hasSignatureParameter(request.body) && isFormRequest(request);
}

async function verifySigned(
  provider: OAuth1Provider,
  request: FastifyRequest,
  requiredScope: readonly string[],
): Promise<RequestAuth> {
  const grant = await provider.verifySignedRequest(toOAuthRequest(request), requiredScope);
  return { protocol: 'oauth1', clientId: grant.clientId, userId: grant.userId, scope: grant.scope, audience: [], tokenId: grant.tokenId };
}

/**
 * The `requireScope` verifier of OAuth 1.0a signed requests (section 3.2), as Django REST
 * framework's OAuth authentication sat beside its token authentication.
 */
export function createOAuth1Verifier(provider: OAuth1Provider): RequestVerifier {
  return {
    name: 'oauth1',
    carries: isOAuth1SignedRequest,
    verify(request, requiredScope = []) {
      if (!isOAuth1SignedRequest(request)) return null;
      return verifySigned(provider, request, requiredScope);
    },
  };
}
