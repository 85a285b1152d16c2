/**
 * What the storage port keeps. Secrets never appear here in a usable form: tokens, codes and
 * OAuth 2 client secrets as SHA-256 digests (base64url), OAuth 1.0a secrets encrypted (AES-256-GCM),
 * because HMAC needs them back.
 */

export type GrantType =
  | 'authorization_code'
  | 'implicit'
  | 'password'
  | 'client_credentials'
  | 'refresh_token'
  /** RFC 8628: the device authorization grant. */
  | 'urn:ietf:params:oauth:grant-type:device_code';
export type ResponseType = 'code' | 'token';
export type ClientType = 'confidential' | 'public';
/**
 * How a client came to exist: an administrator registered it, it registered itself (RFC 7591), or
 * its `client_id` is the URL of a client metadata document. A `document` record is written when
 * such a client first obtains tokens and carries only the administrator's state (`disabled`) and
 * `lastUsedAt`: its metadata stay the document's, and without documents enabled it names no client.
 */
export type ClientOrigin = 'admin' | 'dynamic' | 'document';

/**
 * The client metadata of RFC 7591 section 2 that the server keeps only to return it (RFC 7592
 * read) and to show it: none of it changes a protocol decision.
 */
export interface ClientMetadataRecord {
  applicationType: 'web' | 'native';
  tokenEndpointAuthMethod: 'none' | 'client_secret_basic' | 'client_secret_post';
  clientUri: string | null;
  logoUri: string | null;
  contacts: string[];
  softwareId: string | null;
  softwareVersion: string | null;
}

export interface ClientRecord {
  /** The client_id: generated, public. Also the OAuth 1.0a consumer key. */
  id: string;
  name: string;
  type: ClientType;
  /** SHA-256 digest of the client secret; null for a public client. */
  secretDigest: string | null;
  /** Registered redirect URIs, compared character for character. */
  redirectUris: string[];
  /** The scopes this client may be granted. */
  scopes: string[];
  /**
   * The resource identifiers (RFC 8707) this client may get tokens for, among those the server
   * knows; null for any of them.
   */
  resources: string[] | null;
  grantTypes: GrantType[];
  /** `code` with authorization_code, `token` with implicit: kept with the grant types by the core. */
  responseTypes: ResponseType[];
  /** Who registered the client (the `user` of oauthost's `register_client`), if anyone. */
  ownerId: string | null;
  /** OAuth 1.0a consumer: on or off, and how it signs. */
  oauth1Enabled: boolean;
  /** The client secret encrypted, so it can serve as the OAuth 1.0a consumer secret (HMAC key). */
  oauth1SecretEncrypted: string | null;
  /** PEM public key for RSA-SHA1. */
  rsaPublicKey: string | null;
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
  /** Absent on input means `admin`; a store always returns it. */
  origin?: ClientOrigin;
  /** SHA-256 digest of the registration access token (RFC 7592 section 3); null for admin clients. */
  registrationTokenDigest?: string | null;
  /** The RFC 7591 metadata a dynamic client registered; null for admin clients. */
  metadata?: ClientMetadataRecord | null;
  /**
   * While a dynamic client has obtained no token, the time after which `purgeExpired` deletes
   * it; null once it has (or for admin clients). Pending registrations are those not yet past it.
   */
  unusedExpiresAt?: Date | null;
  /** When a token was last issued to the client, at the granularity the core records it. */
  lastUsedAt?: Date | null;
  /**
   * Where RP-initiated logout may send the browser back (OpenID Connect RP-Initiated Logout 1.0
   * section 3.1), compared character for character. Absent on input means none; a store always
   * returns it.
   */
  postLogoutRedirectUris?: string[];
  /**
   * The algorithm of this client's ID tokens (OpenID Connect Dynamic Client Registration 1.0
   * section 2, `id_token_signed_response_alg`); null for the default, RS256. Absent on input means
   * null; a store always returns it.
   */
  idTokenSignedResponseAlg?: SigningAlgorithm | null;
  /**
   * A first-party client: its authorization requests need no consent page (unless the request
   * asks for one with `prompt=consent`). Only an administrator sets it; dynamic registration
   * never does. Absent on input means false; a store always returns it.
   */
  skipConsent?: boolean;
  /** Seconds this client's access tokens live; null (or absent) for the server's `accessTokenTtl`. */
  accessTokenTtl?: number | null;
  /** Seconds this client's refresh tokens live; null (or absent) for the server's `refreshTokenTtl`. */
  refreshTokenTtl?: number | null;
  /** Seconds this client's authorization codes live; null (or absent) for the server's `authorizationCodeTtl`. */
  authorizationCodeTtl?: number | null;
}

export type ClientUpdate = Partial<Omit<ClientRecord, 'id' | 'createdAt'>>;

/** What a conditional `updateClient` expects still to be stored: the registration token presented. */
export interface ClientUpdateCondition {
  registrationTokenDigest: string;
}

export interface ScopeRecord {
  name: string;
  description: string | null;
}

export interface AuthorizationCodeRecord {
  id: string;
  digest: string;
  clientId: string;
  userId: string;
  /** The redirect_uri sent at authorization, or null when the request left it out. */
  redirectUri: string | null;
  scope: string[];
  codeChallenge: string | null;
  codeChallengeMethod: 'S256' | 'plain' | null;
  /** The resources granted (RFC 8707): the tokens the code buys are for these, or some of them. */
  audience: string[];
  /** The grant this code starts: tokens issued from it share this family, so a replay can revoke them. */
  familyId: string;
  issuedAt: Date;
  expiresAt: Date;
  consumedAt: Date | null;
  /**
   * The OpenID Connect `nonce` of the authorization request, which the ID token repeats (OpenID
   * Connect Core 1.0 section 3.1.2.1); null when none was sent. Absent on input means null.
   */
  nonce?: string | null;
  /**
   * When the user authenticated, as the application reported it: the ID token's `auth_time`.
   * Null when unknown. Absent on input means null; a store always returns it.
   */
  authTime?: Date | null;
}

/** Where a device authorization (RFC 8628) stands: waiting for the user, or decided once. */
export type DeviceCodeStatus = 'pending' | 'approved' | 'denied';

/**
 * A device authorization (RFC 8628 section 3.2): the device code, kept as its digest, and the user
 * code, kept as the digest of its normalised form (upper case, no dash), so the user's typing is
 * found by one indexed lookup.
 */
export interface DeviceCodeRecord {
  id: string;
  /** Digest of the device_code (see `tokenDigest`). */
  digest: string;
  /** Digest of the normalised user_code; unique among stored device codes. */
  userCodeDigest: string;
  clientId: string;
  /** The scope requested, narrowed by the user's approval. */
  scope: string[];
  /** The resources (RFC 8707) the tokens are for. */
  audience: string[];
  /** The grant the tokens start. */
  familyId: string;
  status: DeviceCodeStatus;
  /** The user who approved or denied; null while pending. */
  userId: string | null;
  /** Seconds the client must wait between polls; raised by each `slow_down` (RFC 8628 section 3.5). */
  interval: number;
  /** When the client last polled the token endpoint, or null before its first poll. */
  lastPolledAt: Date | null;
  issuedAt: Date;
  expiresAt: Date;
  /** Set when tokens were issued for it: a second poll is refused. */
  consumedAt: Date | null;
}

export interface AccessTokenRecord {
  id: string;
  digest: string;
  clientId: string;
  /** Null for client_credentials tokens. */
  userId: string | null;
  scope: string[];
  /** The resources the token is for (RFC 8707): a resource server accepts it only when named here. */
  audience: string[];
  /** The grant (authorization, refresh chain) this token belongs to. */
  familyId: string;
  issuedAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

export interface RefreshTokenRecord {
  id: string;
  digest: string;
  clientId: string;
  userId: string | null;
  scope: string[];
  /** The resources of the whole grant: a refresh may ask for these or fewer, never more. */
  audience: string[];
  familyId: string;
  issuedAt: Date;
  expiresAt: Date;
  /**
   * When the family's first refresh token was issued: rotation never takes a family past
   * `refreshTokenMaxLifetime` from here. Absent on input means `issuedAt`; a store always returns it.
   */
  familyIssuedAt?: Date;
  /** Set when rotated: a second use is a replay. */
  consumedAt: Date | null;
  revokedAt: Date | null;
  /**
   * The `auth_time` of the authentication that started the grant, which an ID token issued on
   * refresh repeats (OpenID Connect Core 1.0 section 12.2). Absent on input means null.
   */
  authTime?: Date | null;
}

/** OAuth 1.0a temporary credentials (RFC 5849 section 2.1). */
export interface RequestTokenRecord {
  id: string;
  /** The oauth_token value: an identifier, sent in clear on every leg, so kept as is. */
  token: string;
  secretEncrypted: string;
  clientId: string;
  callback: string;
  scope: string[];
  /** Set when the user approves. */
  userId: string | null;
  verifierDigest: string | null;
  issuedAt: Date;
  expiresAt: Date;
  consumedAt: Date | null;
}

/** OAuth 1.0a token credentials (RFC 5849 section 2.3). */
export interface OAuth1AccessTokenRecord {
  id: string;
  token: string;
  secretEncrypted: string;
  clientId: string;
  userId: string;
  scope: string[];
  issuedAt: Date;
  /** Null when the token does not expire. */
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export interface NonceRecord {
  clientId: string;
  /** The oauth_token of the request, or '' for requests made with consumer credentials only. */
  token: string;
  timestamp: number;
  nonce: string;
  /** The end of the timestamp window: the nonce is useless after it and may be purged. */
  expiresAt: Date;
}

/**
 * What a user approved for a client, remembered so a later request asking for no more skips the
 * consent page. One per user and client: a new approval replaces it with the union the core made.
 */
export interface ConsentRecord {
  clientId: string;
  userId: string;
  /** The scopes approved so far. */
  scope: string[];
  /** The resources (RFC 8707) approved so far: the audiences of the tokens the approvals bought. */
  audience: string[];
  /** The first approval. */
  createdAt: Date;
  /** The latest approval that widened it. */
  updatedAt: Date;
}

/** A user's authorization of a client, as `/account/apps` lists them. */
export interface GrantSummary {
  clientId: string;
  userId: string;
  scope: string[];
  /** The newest token issue time among the live tokens. */
  lastIssuedAt: Date;
  protocol: 'oauth2' | 'oauth1';
}

export interface TokenListFilter {
  clientId?: string;
  userId?: string;
  /** Only tokens neither revoked nor expired at this instant. */
  liveAt?: Date;
  limit?: number;
  offset?: number;
}

export interface PurgeResult {
  authorizationCodes: number;
  accessTokens: number;
  refreshTokens: number;
  requestTokens: number;
  oauth1AccessTokens: number;
  nonces: number;
  /** Dynamic clients that obtained no token before their `unusedExpiresAt`. */
  clients: number;
  /** Signing keys past their `expiresAt`: no token they signed is still valid. */
  signingKeys: number;
  deviceCodes: number;
}

/** The JWS algorithms (RFC 7518, RFC 8037) a signing key is made for. */
export type SigningAlgorithm = 'ES256' | 'RS256' | 'EdDSA';

/**
 * A key the server signs JWTs with. Its life: published (in the JWKS) from `createdAt`, signing
 * from `activatesAt`, no longer signing from `retiresAt`, no longer published from `expiresAt`,
 * when every token it signed has expired; then `purgeExpired` deletes it.
 */
export interface SigningKeyRecord {
  /** The JWK `kid`: the RFC 7638 thumbprint of the public key. */
  kid: string;
  alg: SigningAlgorithm;
  /** The public JWK as JSON text, with `kid`, `alg` and `use`. */
  publicJwk: string;
  /** The private JWK's JSON sealed with the server's `SecretBox`: never stored in clear. */
  privateJwkEncrypted: string;
  createdAt: Date;
  activatesAt: Date;
  /** Null while no successor has been chosen. */
  retiresAt: Date | null;
  /** Null while not retired. */
  expiresAt: Date | null;
}
