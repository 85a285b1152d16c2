import { generateId, generateTimedToken, tokenDigest } from '../crypto.js';
import type { OAuthError } from '../errors.js';
import type { IssuedTokens } from '../server-types.js';
import { ownFreshTokens } from '../storage/fresh-tokens.js';
import type { FreshToken, FreshTokens } from '../storage/port.js';
import type { AccessTokenRecord, RefreshTokenRecord, TokenFamily } from '../storage/records.js';
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

/** New tokens in clear, and what is stored of them before they have an owner. */
export interface FreshlyMinted {
  accessToken: string;
  refreshToken: string | null;
  fresh: FreshTokens;
}

/** Makes new tokens for no one yet: a one-step exchange learns their owner from the store. */
export function mintFreshTokens(context: ServerContext, now: Date, withRefreshToken: boolean): FreshlyMinted {
  const { accessTokenTtl, refreshTokenTtl } = context.options;
  const access = mintFreshToken(context, 'accessToken', now, accessTokenTtl);
  if (!withRefreshToken) return { accessToken: access.token, refreshToken: null, fresh: { access: access.stored, refresh: null } };
  const refresh = mintFreshToken(context, 'refreshToken', now, refreshTokenTtl);
  return { accessToken: access.token, refreshToken: refresh.token, fresh: { access: access.stored, refresh: refresh.stored } };
}

/** One new token in clear, and what is stored of it: its id, digest and lifetime. */
function mintFreshToken(
  context: ServerContext,
  kind: 'accessToken' | 'refreshToken',
  now: Date,
  ttlSeconds: number,
): { token: string; stored: FreshToken } {
  const { entropy } = context.options;
  const token = generateTimedToken(kind, entropy, now.getTime());
  const stored: FreshToken = {
    id: generateId(entropy, now.getTime()),
    digest: tokenDigest(token),
    issuedAt: now,
    expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
  };
  return { token, stored };
}

/** The token response (RFC 6749 section 5.1) for minted tokens of `scope`. */
export function tokenResponse(context: ServerContext, minted: FreshlyMinted, scope: readonly string[]): IssuedTokens {
  return {
    access_token: minted.accessToken,
    token_type: 'Bearer',
    expires_in: context.options.accessTokenTtl,
    ...(minted.refreshToken === null ? {} : { refresh_token: minted.refreshToken }),
    scope: scope.join(' '),
  };
}

/**
 * The answer to a one-step exchange the store made: its conditions and the core's checks (the
 * `refusal` they give on the record it found) must agree. If they ever do not, the whole family is
 * revoked, so nobody keeps the tokens.
 */
export async function answerExchange(
  context: ServerContext,
  grant: TokenFamily & { scope: readonly string[] },
  refusal: OAuthError | null,
  minted: FreshlyMinted,
  now: Date,
): Promise<IssuedTokens> {
  if (refusal !== null) {
    await context.options.storage.revokeFamily(grant, now);
    throw refusal;
  }
  return tokenResponse(context, minted, grant.scope);
}

/** Makes the tokens of one issuance without saving them (rotation saves them with the old token's consumption). */
export function mintTokens(context: ServerContext, issuance: TokenIssuance, now: Date): MintedTokens {
  const minted = mintFreshTokens(context, now, issuance.withRefreshToken);
  return { response: tokenResponse(context, minted, issuance.scope), ...ownFreshTokens(minted.fresh, issuance, issuance.refreshScope) };
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
