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
export async function findToken(context: ServerContext, digest: string, hint: string | undefined): Promise<FoundToken | null> {
  // Written out rather than through per-call closures: every introspection and revocation comes
  // here, and each async layer costs microtask turns.
  const { storage } = context.options;
  if (hint === 'refresh_token') {
    const refresh = await storage.findRefreshToken(digest);
    if (refresh !== null) return { kind: 'refresh_token', record: refresh };
    const access = await storage.findAccessToken(digest);
    return access === null ? null : { kind: 'access_token', record: access };
  }
  const access = await storage.findAccessToken(digest);
  if (access !== null) return { kind: 'access_token', record: access };
  const refresh = await storage.findRefreshToken(digest);
  return refresh === null ? null : { kind: 'refresh_token', record: refresh };
}

/** Whether the token can still be used at `now`: not revoked, not expired, and for a refresh token not rotated. */
export function isTokenActive(found: FoundToken, now: Date): boolean {
  const { record } = found;
  if (record.revokedAt !== null || record.expiresAt.getTime() <= now.getTime()) return false;
  return found.kind === 'access_token' || found.record.consumedAt === null;
}
