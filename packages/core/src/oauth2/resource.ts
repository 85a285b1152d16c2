import type { ScopeMask } from '@portcullis/scopes';
import { errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { tokenDigest } from '../crypto.js';
import { OAuthError, toErrorDescription } from '../errors.js';
import type { TokenGrant } from '../server-types.js';
import type { ServerContext } from './options.js';
import { isAudienceOf, otherAudienceError } from './resource-indicators.js';
import { maskOfKnown } from './scope-policy.js';
import { JWT_ACCESS_TOKEN_TYPE } from './token-issuer.js';

/**
 * Whether `token` has the shape of a compact JWS (RFC 7515 section 7.1): three parts, two dots,
 * a header that is a base64url JSON object (`eyJ` is `{"`).
 */
export function isCompactJws(token: string): boolean {
  if (!token.startsWith('eyJ')) return false;
  const first = token.indexOf('.');
  if (first <= 0) return false;
  const second = token.indexOf('.', first + 1);
  return second > first + 1 && token.indexOf('.', second + 1) === -1;
}

/** Why a JWT access token was refused, as `invalid_token` describes it (RFC 6750 section 3.1). */
export type JwtRefusal = 'expired' | 'type' | 'audience' | 'invalid';

/**
 * Checks a JWT access token as RFC 9068 section 4 asks: a signature by a key of `getKey`, header
 * `typ` `at+jwt` (so an ID token or another JWT of the issuer is no access token), `iss`, `exp`
 * within `clockTolerance`, `aud` naming `resource` when given, and the claims a grant is made of.
 * Returns the grant, or the refusal; errors other than a token's (storage, network) are thrown.
 */
export async function verifyJwtAccessToken(
  token: string,
  check: {
    getKey: JWTVerifyGetKey;
    issuer: string;
    algorithms: readonly string[];
    clockTolerance: number;
    now: Date;
    resource?: string | undefined;
  },
): Promise<{ grant: TokenGrant } | { refusal: JwtRefusal; cause: unknown }> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, check.getKey, {
      issuer: check.issuer,
      typ: JWT_ACCESS_TOKEN_TYPE,
      algorithms: [...check.algorithms],
      clockTolerance: check.clockTolerance,
      currentDate: check.now,
      requiredClaims: ['exp', 'iat', 'sub', 'jti', 'client_id', 'aud'],
      ...(check.resource === undefined ? {} : { audience: check.resource }),
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) return { refusal: 'expired', cause: error };
    if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'typ') return { refusal: 'type', cause: error };
    if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud') return { refusal: 'audience', cause: error };
    if (TOKEN_FAULTS.some((fault) => error instanceof fault)) return { refusal: 'invalid', cause: error };
    // Anything else (a key set that could not be fetched or read, storage) is the verifier's
    // trouble, not the token's.
    throw error;
  }
  const { sub, client_id: clientId, scope, aud, jti, exp } = payload;
  if (typeof sub !== 'string' || typeof clientId !== 'string' || typeof jti !== 'string' || (scope !== undefined && typeof scope !== 'string')) {
    return { refusal: 'invalid', cause: new Error('a claim of the access token has the wrong type') };
  }
  return {
    grant: {
      clientId,
      // RFC 9068 section 2.2: a token without a user has the client as its subject.
      userId: sub === clientId ? null : sub,
      scope: scope === undefined ? [] : scope.split(' ').filter((name) => name !== ''),
      audience: typeof aud === 'string' ? [aud] : (aud ?? []).filter((item): item is string => typeof item === 'string'),
      expiresAt: new Date(exp! * 1000),
      tokenId: jti,
    },
  };
}

/** The jose errors that say the token is bad: malformed, unsigned by a known key, or its claims refused. */
const TOKEN_FAULTS = [
  joseErrors.JWTClaimValidationFailed,
  joseErrors.JWTInvalid,
  joseErrors.JWSInvalid,
  joseErrors.JWSSignatureVerificationFailed,
  joseErrors.JOSEAlgNotAllowed,
  joseErrors.JOSENotSupported,
  joseErrors.JWKSNoMatchingKey,
  joseErrors.JWKSMultipleMatchingKeys,
  joseErrors.JWKInvalid,
];

const JWT_REFUSALS: Record<JwtRefusal, string> = {
  expired: 'The access token has expired.',
  type: 'The token is not an access token (its typ must be at+jwt).',
  audience: 'The access token was not issued for this resource.',
  invalid: 'The access token is invalid.',
};

/** The RFC 6750 description of a refused JWT access token. */
export function describeJwtRefusal(refusal: JwtRefusal): string {
  return JWT_REFUSALS[refusal];
}

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

  const checkScope = (granted: readonly string[], requiredScope: readonly string[] | undefined): void => {
    if (requiredScope !== undefined && requiredScope.length > 0) {
      const required = maskOfRequired(requiredScope);
      const held = maskOfKnown(context.scopes, granted);
      if (!required.known || (required.mask & held) !== required.mask) {
        throw createBearerError(context, 'insufficient_scope', 'The access token does not grant the scope this resource needs.', requiredScope.join(' '));
      }
    }
  };

  const ring = context.signingKeys;
  const { issuer, jwtAccessTokens, storage } = context.options;

  /**
   * A JWT access token: checked by its signature and claims; then, unless `revocationCheck` is
   * `never`, its record must be there and not revoked (the record is found by the token's digest,
   * as an opaque token's is).
   */
  async function verifyJwt(token: string, requiredScope: readonly string[] | undefined, resource: string | undefined): Promise<TokenGrant> {
    const result = await verifyJwtAccessToken(token, {
      getKey: ring!.getKey,
      issuer,
      algorithms: ring!.supportedAlgorithms,
      clockTolerance: jwtAccessTokens.clockTolerance,
      now: context.now(),
      resource,
    });
    if ('refusal' in result) throw createBearerError(context, 'invalid_token', describeJwtRefusal(result.refusal));
    let { grant } = result;
    if (jwtAccessTokens.revocationCheck === 'always') {
      const record = await storage.findAccessToken(tokenDigest(token));
      if (record === null) throw createBearerError(context, 'invalid_token', 'The access token is invalid.');
      if (record.revokedAt !== null) throw createBearerError(context, 'invalid_token', 'The access token has been revoked.');
      // The record knows whether the subject is a user, which the claims cannot say when a user id equals a client id.
      grant = { ...grant, userId: record.userId };
    }
    checkScope(grant.scope, requiredScope);
    return grant;
  }

  return async function verifyAccessToken(token: string, requiredScope?: readonly string[], resource?: string): Promise<TokenGrant> {
    if (typeof token !== 'string' || token === '') throw createBearerError(context, 'invalid_token', 'The access token is missing.');
    // Opaque tokens never contain a dot (a kind prefix and base64url), so the shape decides.
    if (ring !== null && isCompactJws(token)) return verifyJwt(token, requiredScope, resource);
    const record = await storage.findAccessToken(tokenDigest(token));
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
    checkScope(record.scope, requiredScope);
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
