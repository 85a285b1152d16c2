import { generateId, generateTimedToken, tokenDigest } from '../crypto.js';
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

/** One new token in clear, and what is stored of it besides its owner: id, digest and lifetime. */
interface MintedToken {
  token: string;
  id: string;
  digest: string;
  expiresAt: Date;
}

function mintToken(context: ServerContext, kind: 'accessToken' | 'refreshToken', now: Date, ttlSeconds: number): MintedToken {
  const { entropy } = context.options;
  const token = generateTimedToken(kind, entropy, now.getTime());
  return {
    token,
    id: generateId(entropy, now.getTime()),
    digest: tokenDigest(token),
    expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
  };
}

/**
 * Makes the tokens of one issuance without saving them (an exchange saves them with the code's or
 * old refresh token's consumption). The records are built field by field, each with its own copy
 * of the scope: an object spread followed by more fields takes V8's slow path.
 */
export function mintTokens(context: ServerContext, issuance: TokenIssuance, now: Date): MintedTokens {
  const { accessTokenTtl, refreshTokenTtl } = context.options;
  const accessToken = mintToken(context, 'accessToken', now, accessTokenTtl);
  const access: AccessTokenRecord = {
    id: accessToken.id,
    digest: accessToken.digest,
    clientId: issuance.clientId,
    userId: issuance.userId,
    scope: [...issuance.scope],
    familyId: issuance.familyId,
    issuedAt: now,
    expiresAt: accessToken.expiresAt,
    revokedAt: null,
  };
  const refreshToken = issuance.withRefreshToken ? mintToken(context, 'refreshToken', now, refreshTokenTtl) : null;
  const refresh: RefreshTokenRecord | null =
    refreshToken === null
      ? null
      : {
          id: refreshToken.id,
          digest: refreshToken.digest,
          clientId: issuance.clientId,
          userId: issuance.userId,
          scope: [...(issuance.refreshScope ?? issuance.scope)],
          familyId: issuance.familyId,
          issuedAt: now,
          expiresAt: refreshToken.expiresAt,
          consumedAt: null,
          revokedAt: null,
        };
  // RFC 6749 section 5.1.
  const response: IssuedTokens = {
    access_token: accessToken.token,
    token_type: 'Bearer',
    expires_in: accessTokenTtl,
    ...(refreshToken === null ? {} : { refresh_token: refreshToken.token }),
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
