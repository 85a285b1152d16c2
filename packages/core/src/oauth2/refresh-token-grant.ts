import { digestSecret } from '../crypto.js';
import { invalidGrant } from '../errors.js';
import type { IssuedTokens } from '../server-types.js';
import type { AuthenticatedClient } from './client-authentication.js';
import type { ServerContext } from './options.js';
import type { RequestParameters } from './parameters.js';
import { narrowScope, parseRequestedScope } from './scope-policy.js';
import { mintTokens, revokeForSingleAccessToken } from './token-issuer.js';

/**
 * RFC 6749 section 6 with rotation on every use (RFC 9700 section 4.14.2): the old refresh
 * token is consumed and the new tokens saved in one store operation. A consumed token presented
 * again, or a lost race for it, means two parties hold it, so the whole family is revoked.
 */
export async function exchangeRefreshToken(
  context: ServerContext,
  { client }: AuthenticatedClient,
  params: RequestParameters,
): Promise<IssuedTokens> {
  const token = params.require('refresh_token');
  const scopeParameter = params.get('scope');
  const requestedScope = scopeParameter === undefined ? [] : parseRequestedScope(context.scopes, scopeParameter);
  const { storage } = context.options;
  const now = context.now();
  const record = await storage.findRefreshToken(digestSecret(token));
  if (record === null) throw invalidGrant('The refresh token is invalid.');
  if (record.clientId !== client.id) throw invalidGrant('The refresh token was issued to another client.');
  if (record.revokedAt !== null) throw invalidGrant('The refresh token has been revoked.');
  if (record.consumedAt !== null) {
    await storage.revokeFamily(record.familyId, now);
    throw invalidGrant('The refresh token was already used.');
  }
  if (record.expiresAt.getTime() <= now.getTime()) {
    await context.purgeExpiredLazily();
    throw invalidGrant('The refresh token has expired.');
  }
  const scope = requestedScope.length === 0 ? record.scope : narrowScope(context, record.scope, requestedScope);
  const minted = mintTokens(
    context,
    { clientId: client.id, userId: record.userId, scope, refreshScope: record.scope, familyId: record.familyId, withRefreshToken: true },
    now,
  );
  if (minted.refresh === null) throw new Error('a rotation must mint a refresh token');
  await revokeForSingleAccessToken(context, { clientId: client.id, userId: record.userId, scope }, now);
  const rotated = await storage.rotateRefreshToken(record.id, now, minted.access, minted.refresh);
  if (!rotated) {
    await storage.revokeFamily(record.familyId, now);
    throw invalidGrant('The refresh token was already used.');
  }
  return minted.response;
}
