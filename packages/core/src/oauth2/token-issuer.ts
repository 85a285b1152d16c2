import { ID_RANDOM_BYTES, idFromRandom, TIMED_TOKEN_RANDOM_BYTES, timedTokenFromRandom, tokenDigest } from '../crypto.js';
import type { IssuanceGrantType } from '../events.js';
import type { AccessTokenFormat, IssuedTokens } from '../server-types.js';
import type { AccessTokenRecord, ClientRecord, RefreshTokenRecord } from '../storage/records.js';
import { signIdToken } from './openid.js';
import type { ServerContext, TokenLifetimes } from './options.js';

export interface TokenIssuance {
  clientId: string;
  userId: string | null;
  scope: string[];
  /** The resources the access token is for (RFC 8707). */
  audience: string[];
  /** The grant the tokens belong to: a replayed code or refresh token revokes the whole family. */
  familyId: string;
  withRefreshToken: boolean;
  /** The client's lifetimes (`lifetimesOf`). */
  lifetimes: Pick<TokenLifetimes, 'accessTokenTtl' | 'refreshTokenTtl'>;
  /** When the family's first refresh token was issued; default now, a new family. */
  familyIssuedAt?: Date;
  /**
   * The refresh token's scope when it differs from the access token's: RFC 6749 section 6 keeps
   * a rotated refresh token's scope identical to the old one even when the access token narrows.
   */
  refreshScope?: string[];
  /** The refresh token's audience when the access token was narrowed: the grant's, kept whole. */
  refreshAudience?: string[];
  /** When the user authenticated, kept with the refresh token for the ID tokens of later refreshes. */
  authTime?: Date | null;
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

/** The random bytes one minted token takes: its secret, then its row id's. */
const MINTED_TOKEN_BYTES = TIMED_TOKEN_RANDOM_BYTES + ID_RANDOM_BYTES;

/**
 * The random bytes an issuance takes, drawn in one call: a CSPRNG call costs about as much for 52
 * bytes as for 10, and an issuance needs up to five random values. Each value reads its own
 * bytes of the draw; none is read twice.
 */
function randomBytesFor(context: ServerContext, issuance: { withRefreshToken: boolean }, extra = 0): Uint8Array {
  return context.options.entropy.randomBytes(MINTED_TOKEN_BYTES * (issuance.withRefreshToken ? 2 : 1) + extra);
}

function mintToken(kind: 'accessToken' | 'refreshToken', random: Uint8Array, now: Date, expiresAt: number): MintedToken {
  const token = timedTokenFromRandom(kind, random, now.getTime());
  return {
    token,
    id: idFromRandom(random.subarray(TIMED_TOKEN_RANDOM_BYTES), now.getTime()),
    digest: tokenDigest(token),
    expiresAt: new Date(expiresAt),
  };
}

/** The media type of a JWT access token, as its `typ` header names it (RFC 9068 section 2.1). */
export const JWT_ACCESS_TOKEN_TYPE = 'at+jwt';

/**
 * The format of an access token for `audience`: `jwt` when any of its resources asks for it (each
 * resource's own format, else the server's), since a resource that checks JWTs by its keys
 * alone cannot check an opaque token. A token naming no resource is opaque: RFC 9068 section 2.2
 * requires `aud`.
 */
export function accessTokenFormatFor(context: ServerContext, audience: readonly string[]): AccessTokenFormat {
  for (const resource of audience) {
    if ((context.resourceFormats.get(resource) ?? context.options.accessTokenFormat) === 'jwt') return 'jwt';
  }
  return 'opaque';
}

/**
 * A JWT access token (RFC 9068 section 2): header `typ: at+jwt`, and the claims of section 2.2.
 * `sub` is the user, or for a grant without one (client_credentials) the client (section 2.2).
 * `jti` is the record's id, so the token's record is found from its claims as from its digest.
 */
async function mintJwtAccessToken(context: ServerContext, issuance: TokenIssuance, id: string, now: Date, expiresAt: Date): Promise<string> {
  const ring = context.signingKeys;
  // options.checkAccessTokenFormat refuses `jwt` without keys; this guards the invariant.
  if (ring === null) throw new Error('a JWT access token needs signing keys');
  const iat = Math.floor(now.getTime() / 1000);
  return ring.sign(
    {
      iss: context.options.issuer,
      sub: issuance.userId ?? issuance.clientId,
      aud: issuance.audience.length === 1 ? issuance.audience[0]! : [...issuance.audience],
      client_id: issuance.clientId,
      ...(issuance.scope.length === 0 ? {} : { scope: issuance.scope.join(' ') }),
      jti: id,
      iat,
      exp: Math.floor(expiresAt.getTime() / 1000),
    },
    { typ: JWT_ACCESS_TOKEN_TYPE },
  );
}

/**
 * A refresh token's expiry: `refreshTokenTtl` from now, but never past the family's end when
 * `refreshTokenMaxLifetime` is set, so rotation cannot keep a grant alive for ever.
 */
function refreshExpiry(context: ServerContext, issuance: TokenIssuance, now: Date): number {
  const sliding = now.getTime() + issuance.lifetimes.refreshTokenTtl * 1000;
  const max = context.options.refreshTokenMaxLifetime;
  if (max === null) return sliding;
  const familyStart = (issuance.familyIssuedAt ?? now).getTime();
  return Math.min(sliding, familyStart + max * 1000);
}

/**
 * Makes the tokens of one issuance without saving them (an exchange saves them with the code's or
 * old refresh token's consumption), from `random` (see randomBytesFor). The records are built field by field, each with its own copy
 * of the scope: an object spread followed by more fields takes V8's slow path. The access token's
 * format changes only its string: a JWT is recorded by its digest like an opaque token, so
 * introspection, revocation and refresh families treat both alike.
 */
export async function mintTokens(
  context: ServerContext,
  issuance: TokenIssuance,
  now: Date,
  random: Uint8Array = randomBytesFor(context, issuance),
): Promise<MintedTokens> {
  const jwt = accessTokenFormatFor(context, issuance.audience) === 'jwt';
  // A JWT lives no longer than its key stays published after it stops signing: past that no
  // resource server finds the key its `kid` names. A client's longer own lifetime is cut for a
  // JWT, and `expires_in` says so (RFC 6749 section 5.1).
  const ring = context.signingKeys;
  const accessTokenTtl =
    jwt && ring !== null ? Math.min(issuance.lifetimes.accessTokenTtl, ring.maxTokenLifetime) : issuance.lifetimes.accessTokenTtl;
  const accessToken = mintToken('accessToken', random, now, now.getTime() + accessTokenTtl * 1000);
  if (jwt) {
    // The expiry the JWT states, in whole seconds, is the record's too.
    accessToken.expiresAt = new Date(Math.floor(accessToken.expiresAt.getTime() / 1000) * 1000);
    accessToken.token = await mintJwtAccessToken(context, issuance, accessToken.id, now, accessToken.expiresAt);
    accessToken.digest = tokenDigest(accessToken.token);
  }
  const access: AccessTokenRecord = {
    id: accessToken.id,
    digest: accessToken.digest,
    clientId: issuance.clientId,
    userId: issuance.userId,
    scope: [...issuance.scope],
    audience: [...issuance.audience],
    familyId: issuance.familyId,
    issuedAt: now,
    expiresAt: accessToken.expiresAt,
    revokedAt: null,
  };
  const refreshToken = issuance.withRefreshToken
    ? mintToken('refreshToken', random.subarray(MINTED_TOKEN_BYTES), now, refreshExpiry(context, issuance, now))
    : null;
  const refresh: RefreshTokenRecord | null =
    refreshToken === null
      ? null
      : {
          id: refreshToken.id,
          digest: refreshToken.digest,
          clientId: issuance.clientId,
          userId: issuance.userId,
          scope: [...(issuance.refreshScope ?? issuance.scope)],
          audience: [...(issuance.refreshAudience ?? issuance.audience)],
          familyId: issuance.familyId,
          issuedAt: now,
          expiresAt: refreshToken.expiresAt,
          familyIssuedAt: issuance.familyIssuedAt ?? now,
          consumedAt: null,
          revokedAt: null,
          authTime: issuance.authTime ?? null,
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
 * OpenID Connect Core 1.0 sections 3.1.3.3 and 12.2: an ID token beside the access token when the
 * grant's scope holds `openid`, signed before anything is saved, so a signing failure spends
 * nothing. Adds it to `minted.response`.
 */
export async function addIdToken(
  context: ServerContext,
  minted: MintedTokens,
  grant: { client: Pick<ClientRecord, 'id' | 'redirectUris' | 'idTokenSignedResponseAlg'>; userId: string | null; scope: readonly string[]; nonce: string | null; authTime: Date | null },
  now: Date,
): Promise<void> {
  if (context.openid === null || grant.userId === null || !grant.scope.includes('openid')) return;
  minted.response.id_token = await signIdToken(context.openid, {
    issuer: context.options.issuer,
    client: grant.client,
    userId: grant.userId,
    nonce: grant.nonce,
    authTime: grant.authTime,
    accessToken: minted.response.access_token,
    now,
  });
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

/**
 * Tells the listeners about tokens just saved: the records' ids, owner, scope and audience, never
 * the tokens. Called once per issuance, after the store accepted it.
 */
export function emitTokensIssued(context: ServerContext, grantType: IssuanceGrantType, minted: MintedTokens): void {
  const { access, refresh } = minted;
  context.emit({
    type: 'token.issued',
    grantType,
    clientId: access.clientId,
    userId: access.userId,
    scope: access.scope,
    audience: access.audience,
    accessTokenId: access.id,
    refreshTokenId: refresh?.id ?? null,
    familyId: access.familyId,
    accessTokenExpiresAt: access.expiresAt,
  });
}

/**
 * Mints and saves the tokens of a new grant (all or none), in a family of their own, honouring
 * `singleAccessToken`; `grantType` names how they were obtained, for `token.issued`.
 */
export async function issueTokenSet(
  context: ServerContext,
  grant: Omit<TokenIssuance, 'familyId' | 'familyIssuedAt' | 'refreshScope'> & { grantType: IssuanceGrantType },
): Promise<IssuedTokens> {
  const now = context.now();
  const random = randomBytesFor(context, grant, ID_RANDOM_BYTES);
  const issuance: TokenIssuance = {
    clientId: grant.clientId,
    userId: grant.userId,
    scope: grant.scope,
    audience: grant.audience,
    familyId: idFromRandom(random, now.getTime()),
    withRefreshToken: grant.withRefreshToken,
    lifetimes: grant.lifetimes,
  };
  const minted = await mintTokens(context, issuance, now, random.subarray(ID_RANDOM_BYTES));
  await revokeForSingleAccessToken(context, issuance, now);
  await context.options.storage.saveTokens(minted.access, minted.refresh);
  emitTokensIssued(context, grant.grantType, minted);
  return minted.response;
}
