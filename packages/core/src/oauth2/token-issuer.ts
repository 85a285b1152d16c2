import { digestSecret, generateId, generateToken } from '../crypto.js';
import type { IssuedTokens } from '../server-types.js';
import type { AccessTokenRecord, RefreshTokenRecord } from '../storage/records.js';
import type { ServerContext } from './options.js';

export interface TokenIssuance {
  clientId: string;
  userId: string | null;
  scope: string[];
  /** The grant the tokens belong to: a replayed code or refresh token revokes the whole family. */
  familyId: string;
  withRefreshToken: boolean;
  /**
   * The refresh token's scope when it differs from the access token's: RFC 6749 section 6 keeps
   * a rotated refresh token's scope identical to the old one even when the access token narrows.
   */
  refreshScope?: string[];
}

/** New tokens in clear (shown once) and the records that keep only their digests. */
export interface MintedTokens {
  response: IssuedTokens;
  access: AccessTokenRecord;
  refresh: RefreshTokenRecord | null;
}

/** Makes the tokens of one issuance without saving them (rotation saves them with the old token's consumption). */
export function mintTokens(context: ServerContext, issuance: TokenIssuance, now: Date): MintedTokens {
  const { entropy, accessTokenTtl, refreshTokenTtl } = context.options;
  const accessToken = generateToken('accessToken', entropy);
  const access: AccessTokenRecord = {
    id: generateId(entropy, now.getTime()),
    digest: digestSecret(accessToken),
    clientId: issuance.clientId,
    userId: issuance.userId,
    scope: [...issuance.scope],
    familyId: issuance.familyId,
    issuedAt: now,
    expiresAt: new Date(now.getTime() + accessTokenTtl * 1000),
    revokedAt: null,
  };
  let refreshToken: string | null = null;
  let refresh: RefreshTokenRecord | null = null;
  if (issuance.withRefreshToken) {
    refreshToken = generateToken('refreshToken', entropy);
    refresh = {
      id: generateId(entropy, now.getTime()),
      digest: digestSecret(refreshToken),
      clientId: issuance.clientId,
      userId: issuance.userId,
      scope: [...(issuance.refreshScope ?? issuance.scope)],
      familyId: issuance.familyId,
      issuedAt: now,
      expiresAt: new Date(now.getTime() + refreshTokenTtl * 1000),
      consumedAt: null,
      revokedAt: null,
    };
  }
  const response: IssuedTokens = {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: accessTokenTtl,
    ...(refreshToken === null ? {} : { refresh_token: refreshToken }),
    scope: issuance.scope.join(' '),
  };
  return { response, access, refresh };
}

/**
 * `singleAccessToken`: stored tokens are digests and cannot be handed out again, so the live
 * ones of the same user, client and scope are revoked before a new one is issued.
 */
export async function revokeForSingleAccessToken(
  context: ServerContext,
  issuance: Pick<TokenIssuance, 'clientId' | 'userId' | 'scope'>,
  now: Date,
): Promise<void> {
  if (!context.options.singleAccessToken) return;
  await context.options.storage.revokeTokens(
    { clientId: issuance.clientId, userId: issuance.userId, scope: [...issuance.scope], accessOnly: true },
    now,
  );
}

/** Mints and saves the tokens of a new issuance (all or none), honouring `singleAccessToken`. */
export async function issueTokenSet(context: ServerContext, issuance: TokenIssuance): Promise<IssuedTokens> {
  const now = context.now();
  const minted = mintTokens(context, issuance, now);
  await revokeForSingleAccessToken(context, issuance, now);
  await context.options.storage.saveTokens(minted.access, minted.refresh);
  return minted.response;
}

/** A new family id: one per authorization (code, implicit token, password or client grant). */
export function createFamilyId(context: ServerContext): string {
  return generateId(context.options.entropy, context.now().getTime());
}
