import { createHash } from 'node:crypto';
import type { ScopeRegistry } from '@portcullis/scopes';
import { compactVerify, decodeJwt } from 'jose';
import type { SecretBox } from '../crypto.js';
import { invalidRequest } from '../errors.js';
import type { AccountClaims, OpenIdOptions } from '../server-types.js';
import type { ClientRecord } from '../storage/records.js';
import type { SigningKeyRing } from './signing-keys.js';

/** The `typ` of an ID token's header: a plain JWT (OpenID Connect Core 1.0 section 2). */
const ID_TOKEN_TYPE = 'JWT';

/** RS256 by default: Core 1.0 section 15.1 requires every OpenID Provider to support it. */
export const DEFAULT_ID_TOKEN_ALGORITHM = 'RS256';

export const DEFAULT_ID_TOKEN_TTL = 3600;

/** Core 1.0 section 5.4: the claims each scope value asks for. */
export const SCOPE_CLAIMS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  profile: Object.freeze([
    'name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website',
    'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at',
  ]),
  email: Object.freeze(['email', 'email_verified']),
  address: Object.freeze(['address']),
  phone: Object.freeze(['phone_number', 'phone_number_verified']),
});

/** The scopes OpenID Connect defines, with the words a consent page shows for them. */
const OPENID_SCOPES = [
  { name: 'openid', description: 'Confirm who you are (sign you in)' },
  { name: 'profile', description: 'See your name and profile details' },
  { name: 'email', description: 'See your email address' },
  { name: 'address', description: 'See your postal address' },
  { name: 'phone', description: 'See your phone number' },
] as const;

/** OpenID Connect as the endpoints use it, resolved once from the options. */
export interface OpenIdContext {
  /** The server's signing key ring: ID tokens are signed and hints verified with it. */
  readonly keys: SigningKeyRing;
  readonly findAccount: OpenIdOptions['findAccount'];
  readonly subjectType: 'public' | 'pairwise';
  /** Seconds an ID token lives: `idTokenTtl`, at most as long as its key stays published. */
  readonly idTokenTtl: number;
  /** Derives pairwise subjects; null for public ones. */
  readonly pairwiseBox: SecretBox | null;
}

/**
 * Checks the `openid` option and defines the OpenID Connect scopes the registry lacks, so that
 * clients may be registered for them and the consent page can name them. ID tokens are signed
 * with the server's key ring, which must keep an RS256 key (Core 1.0 section 15.1).
 */
export function resolveOpenId(
  input: OpenIdOptions | undefined,
  scopes: ScopeRegistry,
  secretBox: SecretBox | null,
  keys: SigningKeyRing | null,
): OpenIdContext | null {
  if (input === undefined) return null;
  if (typeof input !== 'object' || input === null) throw new TypeError('options.openid must be an object { findAccount, subjectType?, idTokenTtl? }');
  if (typeof input.findAccount !== 'function') throw new TypeError('options.openid.findAccount must be a function (userId) => claims or null');
  if (keys === null) throw new TypeError('options.openid needs options.signingKeys: ID tokens are signed with the server\'s keys');
  if (!keys.supportedAlgorithms.includes(DEFAULT_ID_TOKEN_ALGORITHM)) {
    throw new TypeError(`options.openid needs ${DEFAULT_ID_TOKEN_ALGORITHM} among options.signingKeys.algorithms: every OpenID Provider signs ID tokens with it`);
  }
  const subjectType = input.subjectType ?? 'public';
  if (subjectType !== 'public' && subjectType !== 'pairwise') throw new TypeError("options.openid.subjectType must be 'public' or 'pairwise'");
  if (subjectType === 'pairwise' && secretBox === null) {
    throw new TypeError('options.openid.subjectType pairwise needs options.secretKey, the key pairwise subjects are derived from');
  }
  const idTokenTtl = input.idTokenTtl ?? DEFAULT_ID_TOKEN_TTL;
  if (!Number.isInteger(idTokenTtl) || idTokenTtl <= 0) throw new TypeError('options.openid.idTokenTtl must be a positive whole number of seconds');
  for (const scope of OPENID_SCOPES) if (!scopes.has(scope.name)) scopes.define(scope);
  return Object.freeze({
    keys,
    findAccount: input.findAccount,
    subjectType,
    // No longer than its key stays published, so `id_token_hint` can still be checked by it.
    idTokenTtl: Math.min(idTokenTtl, keys.maxTokenLifetime),
    pairwiseBox: subjectType === 'pairwise' ? secretBox : null,
  });
}

/**
 * Core 1.0 section 8.1: the sector of a client is the host of its redirect URIs. A client whose
 * redirect URIs are on several hosts (which would need a `sector_identifier_uri`, not supported)
 * is a sector of its own, named by its client id.
 */
function sectorOf(client: Pick<ClientRecord, 'id' | 'redirectUris'>): string {
  const hosts = new Set(client.redirectUris.map((uri) => (URL.canParse(uri) ? new URL(uri).host : '')));
  const [only] = hosts;
  return hosts.size === 1 && only !== undefined && only !== '' ? only : `client:${client.id}`;
}

/** The `sub` a client knows the user by: the user id, or a pairwise identifier of the client's sector. */
export function subjectFor(openid: OpenIdContext, client: Pick<ClientRecord, 'id' | 'redirectUris'>, userId: string): string {
  if (openid.pairwiseBox === null) return userId;
  return openid.pairwiseBox.mac('pairwise subject', `${sectorOf(client)}\u0000${userId}`);
}

/**
 * Core 1.0 section 3.1.3.6: `at_hash`, the left half of the SHA-256 digest of the access token
 * (the hash of RS256 and ES256 alike), base64url.
 */
export function accessTokenHash(accessToken: string): string {
  const digest = createHash('sha256').update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

export interface IdTokenInput {
  issuer: string;
  client: Pick<ClientRecord, 'id' | 'redirectUris' | 'idTokenSignedResponseAlg'>;
  userId: string;
  nonce: string | null;
  authTime: Date | null;
  accessToken: string;
  now: Date;
}

/**
 * Core 1.0 section 2 and 3.1.3.6: the ID token of the code flow. The audience is the client alone,
 * so no `azp` is needed. The user's claims go to the UserInfo endpoint, not here: an access token
 * is always issued with it (section 5.4).
 */
export async function signIdToken(openid: OpenIdContext, input: IdTokenInput): Promise<string> {
  const iat = Math.floor(input.now.getTime() / 1000);
  const payload: Record<string, unknown> = {
    iss: input.issuer,
    sub: subjectFor(openid, input.client, input.userId),
    aud: input.client.id,
    exp: iat + openid.idTokenTtl,
    iat,
    ...(input.authTime !== null && { auth_time: Math.floor(input.authTime.getTime() / 1000) }),
    ...(input.nonce !== null && { nonce: input.nonce }),
    at_hash: accessTokenHash(input.accessToken),
  };
  // The client's registered algorithm (Dynamic Client Registration 1.0 section 2), else RS256.
  return openid.keys.sign(payload, { typ: ID_TOKEN_TYPE, alg: input.client.idTokenSignedResponseAlg ?? DEFAULT_ID_TOKEN_ALGORITHM });
}

/**
 * Reads an ID token this server issued, as a hint (Core 1.0 section 3.1.2.1, RP-Initiated Logout
 * section 2): its signature must verify with our keys and its issuer be us; an expired one is
 * still accepted, as both specifications allow. Returns its subject and audience, or throws
 * invalid_request.
 */
export async function readIdTokenHint(openid: OpenIdContext, issuer: string, token: string): Promise<{ sub: string; aud: string[] }> {
  let claims: Record<string, unknown>;
  try {
    await compactVerify(token, openid.keys.getKey);
    claims = decodeJwt(token);
  } catch {
    throw invalidRequest('The id_token_hint is not an ID token this server issued.');
  }
  const aud = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud.filter((item) => typeof item === 'string') : [];
  if (claims.iss !== issuer || typeof claims.sub !== 'string' || aud.length === 0) {
    throw invalidRequest('The id_token_hint is not an ID token this server issued.');
  }
  return { sub: claims.sub, aud };
}

/** Core 1.0 section 5.4: the account's claims that the granted scopes allow, `sub` first. */
export function claimsForScope(sub: string, account: AccountClaims, scope: readonly string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = { sub };
  for (const name of scope) {
    for (const claim of SCOPE_CLAIMS[name] ?? []) {
      if (account[claim] !== undefined && account[claim] !== null) claims[claim] = account[claim];
    }
  }
  return claims;
}

/** The algorithms a client may have its ID tokens signed with: RS256 first, then the others the keys keep. */
export function idTokenAlgorithms(openid: OpenIdContext): string[] {
  return [DEFAULT_ID_TOKEN_ALGORITHM, ...openid.keys.supportedAlgorithms.filter((alg) => alg !== DEFAULT_ID_TOKEN_ALGORITHM)];
}

/** Every claim the scopes can release, for `claims_supported`. */
export function supportedClaims(): string[] {
  return ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'at_hash', ...Object.values(SCOPE_CLAIMS).flat()];
}
