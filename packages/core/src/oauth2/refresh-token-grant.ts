import { tokenDigest } from '../crypto.js';
import { invalidGrant, type OAuthError } from '../errors.js';
import type { IssuedTokens } from '../server-types.js';
import type { ClientRecord, RefreshTokenRecord } from '../storage/records.js';
import type { AuthenticatedClient } from './client-authentication.js';
import { lifetimesOf, type ServerContext } from './options.js';
import type { RequestParameters } from './parameters.js';
import { narrowAudience, readResourceParameters } from './resource-indicators.js';
import { narrowScope, parseRequestedScope } from './scope-policy.js';
import { addIdToken, mintTokens, revokeForSingleAccessToken } from './token-issuer.js';

/**
 * RFC 6749 section 6 with rotation on every use, for every client under either profile (RFC 9700
 * section 4.14.2; OAuth 2.1 requires it of public clients, whose tokens are not sender-bound):
 * the old refresh token is consumed and the new tokens saved in one store operation. A consumed
 * token presented again, or a lost race for it, means two parties hold it, so the whole family
 * is revoked.
 *
 * With `refreshTokenReuseInterval`, a consumed token presented again by its own client within
 * that many seconds of its consumption is taken for a retry (the client lost the response): it
 * buys a fresh pair in the same family, and nothing is revoked. RFC 9700 section 4.14.2 makes
 * replay detection the defence for public clients; the interval is a window in which a thief's
 * use goes unnoticed, so it stays short and is off by default. Concurrent presentations inside
 * the interval each get a pair; the store saves them only while the token is still unrevoked.
 *
 * With `refreshTokenMaxLifetime`, no rotation extends the family past that many seconds from its
 * first refresh token (`familyIssuedAt`).
 *
 * Every rule is checked here, on the token as found; the store's rotation only consumes the token
 * if it is still neither consumed nor revoked and saves the new tokens.
 */
export async function exchangeRefreshToken(
  context: ServerContext,
  { client }: AuthenticatedClient,
  params: RequestParameters,
): Promise<IssuedTokens> {
  const token = params.require('refresh_token');
  const scopeParameter = params.get('scope');
  const requestedScope = scopeParameter === undefined ? [] : parseRequestedScope(context.scopes, scopeParameter);
  const requestedResources = readResourceParameters(params);
  const { storage, refreshTokenReuseInterval } = context.options;
  const now = context.now();
  const digest = tokenDigest(token);
  // A token consumed at or after this instant may be presented again (0: none may).
  const reuseSince = new Date(now.getTime() - refreshTokenReuseInterval * 1000);

  const record = await storage.findRefreshToken(digest);
  if (record === null) throw invalidGrant('The refresh token is invalid.');
  const refusal = checkRefresh(client, record, now, refreshTokenReuseInterval > 0 ? reuseSince : null);
  if (refusal !== null) {
    if (refusal.reason === 'replayed') await revokeReplayedFamily(context, record, now);
    if (refusal.reason === 'expired') await context.purgeExpiredLazily();
    throw refusal.error;
  }
  const scope = requestedScope.length === 0 ? record.scope : narrowScope(context, record.scope, requestedScope);
  // RFC 8707 section 2.2: the new access token keeps or narrows the grant's audience; the new
  // refresh token keeps the grant's whole, as it keeps its scope.
  const audience = narrowAudience(context, client, record.audience, requestedResources);
  const minted = await mintTokens(
    context,
    {
      clientId: client.id,
      userId: record.userId,
      scope,
      refreshScope: record.scope,
      audience,
      refreshAudience: record.audience,
      familyId: record.familyId,
      familyIssuedAt: record.familyIssuedAt ?? record.issuedAt,
      withRefreshToken: true,
      authTime: record.authTime ?? null,
      lifetimes: lifetimesOf(context, client),
    },
    now,
  );
  if (minted.refresh === null) throw new Error('a rotation must mint a refresh token');
  // Section 12.2: the new ID token keeps the original auth_time; it carries no nonce, which
  // belonged to the authentication request.
  await addIdToken(context, minted, { client, userId: record.userId, scope, nonce: null, authTime: record.authTime ?? null }, now);
  await revokeForSingleAccessToken(context, { clientId: client.id, userId: record.userId, scope }, now);
  const saved =
    (record.consumedAt === null && (await storage.rotateRefreshToken(record.id, now, minted.access, minted.refresh))) ||
    // Consumed already, or by a concurrent request just now: a retry within the interval, if the
    // store still finds the token unrevoked and consumed since `reuseSince`; otherwise a replay.
    (refreshTokenReuseInterval > 0 && (await storage.reissueRefreshToken(record.id, reuseSince, minted.access, minted.refresh)));
  if (!saved) {
    await revokeReplayedFamily(context, record, now);
    throw alreadyUsed();
  }
  const { access } = minted;
  context.emit({
    type: 'token.refreshed',
    clientId: access.clientId,
    userId: access.userId,
    scope: access.scope,
    audience: access.audience,
    accessTokenId: access.id,
    refreshTokenId: minted.refresh.id,
    previousRefreshTokenId: record.id,
    familyId: access.familyId,
    accessTokenExpiresAt: access.expiresAt,
  });
  return minted.response;
}

/** Two parties hold the token: its whole family goes, and the listeners hear of it. */
async function revokeReplayedFamily(context: ServerContext, record: RefreshTokenRecord, now: Date): Promise<void> {
  const revokedCount = await context.options.storage.revokeFamily(record.familyId, now);
  context.emit({
    type: 'refresh_token.replay_detected',
    clientId: record.clientId,
    userId: record.userId,
    refreshTokenId: record.id,
    familyId: record.familyId,
    revokedCount,
  });
}

const alreadyUsed = (): OAuthError => invalidGrant('The refresh token was already used.');

interface RefreshRefusal {
  error: OAuthError;
  /** A replay revokes the family; an expired token is a moment to purge. */
  reason: 'replayed' | 'expired' | 'refused';
}

/**
 * Why this client may not use this refresh token now, or null when it may. `reuseSince` (with a
 * reuse interval) lets a token consumed at or after it through, for the store to decide.
 */
function checkRefresh(client: ClientRecord, record: RefreshTokenRecord, now: Date, reuseSince: Date | null): RefreshRefusal | null {
  if (record.clientId !== client.id) return { error: invalidGrant('The refresh token was issued to another client.'), reason: 'refused' };
  if (record.revokedAt !== null) return { error: invalidGrant('The refresh token has been revoked.'), reason: 'refused' };
  if (record.consumedAt !== null && (reuseSince === null || record.consumedAt.getTime() < reuseSince.getTime())) {
    return { error: alreadyUsed(), reason: 'replayed' };
  }
  if (record.expiresAt.getTime() <= now.getTime()) return { error: invalidGrant('The refresh token has expired.'), reason: 'expired' };
  return null;
}
