import type { FreshTokens } from './port.js';
import type { AccessTokenRecord, RefreshTokenRecord } from './records.js';

/** Whose tokens are: the grant they belong to. */
export interface TokenOwner {
  clientId: string;
  userId: string | null;
  scope: string[];
  familyId: string;
}

/**
 * The records of fresh tokens once their grant is known: for the core when it issues, and for a
 * store's one-step exchanges, which learn the grant from the code or refresh token they consume.
 * `refreshScope` defaults to the access token's.
 */
export function ownFreshTokens(
  fresh: FreshTokens,
  owner: TokenOwner,
  refreshScope: string[] = owner.scope,
): { access: AccessTokenRecord; refresh: RefreshTokenRecord | null } {
  const access: AccessTokenRecord = {
    ...fresh.access,
    clientId: owner.clientId,
    userId: owner.userId,
    scope: [...owner.scope],
    familyId: owner.familyId,
    revokedAt: null,
  };
  const refresh: RefreshTokenRecord | null =
    fresh.refresh === null
      ? null
      : {
          ...fresh.refresh,
          clientId: owner.clientId,
          userId: owner.userId,
          scope: [...refreshScope],
          familyId: owner.familyId,
          consumedAt: null,
          revokedAt: null,
        };
  return { access, refresh };
}
