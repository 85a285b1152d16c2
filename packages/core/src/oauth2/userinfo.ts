import { headerOf, type OAuthRequest, type OAuthResponse } from '../http.js';
import { invalidRequest, OAuthError } from '../errors.js';
import { findClient } from './find-client.js';
import { claimsForScope, subjectFor } from './openid.js';
import type { ServerContext } from './options.js';
import type { createAccessTokenVerifier } from './resource.js';
import { createBearerError } from './resource.js';
import { createErrorResponse, createJsonResponse } from './responses.js';
import { assertSecureTransport } from './secure-transport.js';

type Verify = ReturnType<typeof createAccessTokenVerifier>;

const OPENID_SCOPE = ['openid'] as const;

/**
 * OpenID Connect Core 1.0 section 5.3: the claims of the token's user that its scope allows,
 * for an access token granting `openid`, sent as a bearer token in the header or, on POST, the
 * form body (RFC 6750 section 2). Errors are RFC 6750 section 3's, with `WWW-Authenticate`.
 */
export async function handleUserInfoRequest(context: ServerContext, verify: Verify, request: OAuthRequest): Promise<OAuthResponse> {
  try {
    if (context.openid === null) throw invalidRequest('OpenID Connect is not enabled.', { status: 404 });
    assertSecureTransport(context, request);
    const method = request.method.toUpperCase();
    if (method !== 'GET' && method !== 'POST') {
      throw invalidRequest('The UserInfo endpoint accepts GET and POST only.', { status: 405, headers: { allow: 'GET, POST' } });
    }
    const token = readBearerToken(context, request, method);
    const grant = await verify(token, OPENID_SCOPE);
    const client = grant.userId === null ? null : await findClient(context, grant.clientId, (description) => invalidRequest(description));
    const account = client === null || grant.userId === null ? null : await context.openid.findAccount(grant.userId);
    if (client === null || account === null || grant.userId === null) {
      throw createBearerError(context, 'invalid_token', 'The access token is not for a user this server knows.');
    }
    return createJsonResponse(200, claimsForScope(subjectFor(context.openid, client, grant.userId), account, grant.scope));
  } catch (thrown) {
    return createErrorResponse(thrown);
  }
}

/** RFC 6750 sections 2.1 and 2.2; one method only (section 2), and none is a bare challenge (section 3.1). */
function readBearerToken(context: ServerContext, request: OAuthRequest, method: string): string {
  const header = headerOf(request, 'authorization');
  const body = method === 'POST' ? request.body?.access_token : undefined;
  if (header !== undefined && body !== undefined) {
    throw createInvalidRequest(context, 'Send the access token one way only: the Authorization header or the body.');
  }
  if (body !== undefined) {
    if (typeof body !== 'string') throw createInvalidRequest(context, 'The access_token parameter must appear once.');
    return body;
  }
  if (header === undefined) {
    throw new OAuthError('invalid_token', {
      description: 'An access token is required.',
      headers: { 'www-authenticate': `Bearer realm="${context.realm.replace(/["\\]/g, '')}"` },
    });
  }
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  if (match === null) throw createInvalidRequest(context, 'The Authorization header must be "Bearer <token>".');
  return match[1]!;
}

/** RFC 6750 section 3.1: a malformed request is 400 invalid_request, with the challenge. */
function createInvalidRequest(context: ServerContext, description: string): OAuthError {
  const challenge = `Bearer realm="${context.realm.replace(/["\\]/g, '')}", error="invalid_request", error_description="${description.replace(/["\\]/g, '')}"`;
  return invalidRequest(description, { headers: { 'www-authenticate': challenge } });
}
