import { tokenDigest } from '../crypto.js';
import { invalidClient } from '../errors.js';
import type { OAuthRequest, OAuthResponse } from '../http.js';
import type { IntrospectedToken } from '../server-types.js';
import { authenticateClient } from './client-authentication.js';
import { readFormParameters } from './form-request.js';
import type { ServerContext } from './options.js';
import { createErrorResponse, createJsonResponse } from './responses.js';
import { findToken, isTokenActive, type FoundToken } from './token-lookup.js';

/** The RFC 7662 section 2.2 claims of an active token. */
export interface IntrospectionResponse {
  active: boolean;
  scope?: string;
  client_id?: string;
  username?: string;
  token_type?: string;
  exp?: number;
  iat?: number;
  sub?: string;
  iss?: string;
  /** RFC 7662 section 2.2: the resources the token is for, one as a string, several as an array. */
  aud?: string | string[];
}

/**
 * `POST /oauth/introspect` (RFC 7662). Only a client holding a secret may ask (section 4:
 * otherwise anyone could probe for live tokens); a public client's id is no authentication.
 * A client learns about its own tokens, and about another client's only when the
 * `introspectionPolicy` admits it (section 4: the server decides who may learn what).
 * Anything unknown, expired, revoked or rotated, or not for this client to see, is
 * `{ "active": false }` and nothing more.
 */
export async function handleIntrospectionRequest(context: ServerContext, request: OAuthRequest): Promise<OAuthResponse> {
  try {
    const params = readFormParameters(context, request, 'introspection');
    const { client, method } = await authenticateClient(context, request, params);
    if (method === 'none') throw invalidClient('Introspection requires client authentication with a secret.');
    const token = params.require('token');
    const found = await findToken(context, tokenDigest(token), params.get('token_type_hint'));
    const now = context.now();
    if (found === null || !isTokenActive(found, now)) {
      if (found !== null && found.record.expiresAt.getTime() <= now.getTime()) await context.purgeExpiredLazily();
      return createJsonResponse(200, { active: false } satisfies IntrospectionResponse);
    }
    const { record } = found;
    if (record.clientId !== client.id && !(await context.introspectionPolicy(client, publicFacts(found)))) {
      return createJsonResponse(200, { active: false } satisfies IntrospectionResponse);
    }
    const body: IntrospectionResponse = {
      active: true,
      scope: record.scope.join(' '),
      client_id: record.clientId,
      token_type: found.kind === 'access_token' ? 'Bearer' : 'refresh_token',
      exp: Math.floor(record.expiresAt.getTime() / 1000),
      iat: Math.floor(record.issuedAt.getTime() / 1000),
      iss: context.options.issuer,
    };
    if (record.audience.length > 0) body.aud = record.audience.length === 1 ? record.audience[0]! : [...record.audience];
    if (record.userId !== null) {
      body.sub = record.userId;
      const username = context.findUsername === undefined ? null : await context.findUsername(record.userId);
      if (username !== null) body.username = username;
    }
    return createJsonResponse(200, body);
  } catch (thrown) {
    return createErrorResponse(thrown);
  }
}

/** The token as an introspection policy sees it: fresh copies, and no digest. */
function publicFacts({ kind, record }: FoundToken): IntrospectedToken {
  return {
    kind,
    clientId: record.clientId,
    userId: record.userId,
    scope: [...record.scope],
    audience: [...record.audience],
    issuedAt: new Date(record.issuedAt),
    expiresAt: new Date(record.expiresAt),
  };
}
