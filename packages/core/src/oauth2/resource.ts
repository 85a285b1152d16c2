import type { ScopeMask } from '@portcullis/scopes';
import { tokenDigest } from '../crypto.js';
import { OAuthError, toErrorDescription } from '../errors.js';
import type { TokenGrant } from '../server-types.js';
import type { ServerContext } from './options.js';
import { isAudienceOf, otherAudienceError } from './resource-indicators.js';
import { maskOfKnown } from './scope-policy.js';

/** RFC 6750 section 3: quoted-string values must not carry a quote or a backslash. */
function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '')}"`;
}

/** An RFC 6750 section 3 error with its `WWW-Authenticate: Bearer` challenge. */
export function createBearerError(
  context: ServerContext,
  code: 'invalid_token' | 'insufficient_scope',
  description: string,
  scope?: string,
): OAuthError {
  let challenge = `Bearer realm=${quote(context.realm)}, error=${quote(code)}, error_description=${quote(toErrorDescription(description))}`;
  if (scope !== undefined) challenge += `, scope=${quote(scope)}`;
  return new OAuthError(code, {
    description,
    headers: { 'www-authenticate': challenge },
    ...(scope === undefined ? {} : { scope }),
  });
}

/**
 * Checks bearer tokens for resource requests. This is the hot path of every protected route:
 * one storage read per request, and the mask of each required scope list computed once.
 */
export function createAccessTokenVerifier(context: ServerContext) {
  const requiredMasks = new Map<string, { mask: ScopeMask; known: boolean }>();
  const maskOfRequired = (required: readonly string[]) => {
    const key = required.join(' ');
    let entry = requiredMasks.get(key);
    if (entry === undefined) {
      entry = { mask: maskOfKnown(context.scopes, required), known: required.every((name) => context.scopes.has(name)) };
      // Routes name a bounded set of scope lists; the cap guards against callers passing request data.
      if (requiredMasks.size < 1000) requiredMasks.set(key, entry);
    }
    return entry;
  };

  return async function verifyAccessToken(token: string, requiredScope?: readonly string[], resource?: string): Promise<TokenGrant> {
    if (typeof token !== 'string' || token === '') throw createBearerError(context, 'invalid_token', 'The access token is missing.');
    const record = await context.options.storage.findAccessToken(tokenDigest(token));
    const now = context.now();
    if (record === null) throw createBearerError(context, 'invalid_token', 'The access token is invalid.');
    if (record.revokedAt !== null) throw createBearerError(context, 'invalid_token', 'The access token has been revoked.');
    if (record.expiresAt.getTime() <= now.getTime()) {
      await context.purgeExpiredLazily();
      throw createBearerError(context, 'invalid_token', 'The access token has expired.');
    }
    if (resource !== undefined && !isAudienceOf(record.audience, resource)) {
      throw createBearerError(context, 'invalid_token', otherAudienceError().description!);
    }
    if (requiredScope !== undefined && requiredScope.length > 0) {
      const required = maskOfRequired(requiredScope);
      const held = maskOfKnown(context.scopes, record.scope);
      if (!required.known || (required.mask & held) !== required.mask) {
        throw createBearerError(context, 'insufficient_scope', 'The access token does not grant the scope this resource needs.', requiredScope.join(' '));
      }
    }
    return {
      clientId: record.clientId,
      userId: record.userId,
      scope: record.scope,
      audience: record.audience,
      expiresAt: record.expiresAt,
      tokenId: record.id,
    };
  };
}
