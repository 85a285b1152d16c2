import type { AccessTokenRecord, RefreshTokenRecord } from '../storage/records.js';
import type { ServerContext } from './options.js';

export type FoundToken =
  | { kind: 'access_token'; record: AccessTokenRecord }
  | { kind: 'refresh_token'; record: RefreshTokenRecord };

/**
 * Finds a token by digest among access and refresh tokens, trying the hinted kind first
 * (RFC 7009 section 2.1, RFC 7662 section 2.1). An unknown hint is no reason to fail: the
 * token is still looked up everywhere.
 */
export async function findTokenByDigest(context: ServerContext, digest: string, hint: string | undefined): Promise<FoundToken | null> {
  const { storage } = context.options;
  const findAccess = async (): Promise<FoundToken | null> => {
    const record = await storage.findAccessToken(digest);
    return record === null ? null : { kind: 'access_token', record };
  };
  const findRefresh = async (): Promise<FoundToken | null> => {
    const record = await storage.findRefreshToken(digest);
    return record === null ? null : { kind: 'refresh_token', record };
  };
  const [first, second] = hint === 'refresh_token' ? [findRefresh, findAccess] : [findAccess, findRefresh];
  return (await first()) ?? (await second());
}

/** Whether the token can still be used at `now`: not revoked, not expired, and for a refresh token not rotated. */
export function isTokenActive(found: FoundToken, now: Date): boolean {
  const { record } = found;
  if (record.revokedAt !== null || record.expiresAt.getTime() <= now.getTime()) return false;
  return found.kind === 'access_token' || found.record.consumedAt === null;
}
