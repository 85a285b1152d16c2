import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * The schema as Kysely sees it: one interface per table, snake_case columns. Timestamps are
 * BIGINT milliseconds since the epoch (UTC by construction, the same on MySQL and SQLite, no
 * driver time zone conversion); lists are JSON arrays in TEXT; booleans are 0/1.
 */
export interface Database {
  portcullis_clients: ClientsTable;
  portcullis_scopes: ScopesTable;
  portcullis_authorization_codes: AuthorizationCodesTable;
  portcullis_access_tokens: AccessTokensTable;
  portcullis_refresh_tokens: RefreshTokensTable;
  portcullis_oauth1_request_tokens: OAuth1RequestTokensTable;
  portcullis_oauth1_access_tokens: OAuth1AccessTokensTable;
  portcullis_oauth1_nonces: OAuth1NoncesTable;
  portcullis_signing_keys: SigningKeysTable;
  portcullis_consents: ConsentsTable;
  portcullis_device_codes: DeviceCodesTable;
}

/** Milliseconds since the epoch. mysql2 may hand back a string for BIGINT; the mappers coerce. */
export type Millis = number;

export interface ClientsTable {
  id: string;
  name: string;
  type: string;
  secret_digest: string | null;
  /** JSON array of strings. */
  redirect_uris: string;
  scopes: string;
  /** JSON array of resource identifiers, or null for any. */
  resources: string | null;
  grant_types: string;
  response_types: string;
  owner_id: string | null;
  oauth1_enabled: Generated<number>;
  oauth1_secret_encrypted: string | null;
  rsa_public_key: string | null;
  disabled: Generated<number>;
  created_at: Millis;
  updated_at: Millis;
  /** `admin` or `dynamic` (RFC 7591). */
  origin: Generated<string>;
  registration_token_digest: string | null;
  /** JSON object of the RFC 7591 metadata kept for RFC 7592 reads; null for admin clients. */
  metadata: string | null;
  /** Set while a dynamic client has obtained no token: the purge deletes it after this. */
  unused_expires_at: Millis | null;
  last_used_at: Millis | null;
  /** JSON array of strings (OpenID Connect RP-Initiated Logout); null read as none. */
  post_logout_redirect_uris: string | null;
  /** `RS256`, `ES256` or `EdDSA`; null for the default (RS256). */
  id_token_signed_response_alg: string | null;
  skip_consent: Generated<number>;
  /** Seconds; null for the server's option. */
  access_token_ttl: number | null;
  refresh_token_ttl: number | null;
  authorization_code_ttl: number | null;
}

export interface ScopesTable {
  name: string;
  description: string | null;
}

export interface AuthorizationCodesTable {
  id: string;
  digest: string;
  client_id: string;
  user_id: string;
  redirect_uri: string | null;
  scope: string;
  code_challenge: string | null;
  code_challenge_method: string | null;
  /** JSON array of resource identifiers. */
  audience: string;
  family_id: string;
  issued_at: Millis;
  expires_at: Millis;
  consumed_at: Millis | null;
  /** The OpenID Connect nonce of the authorization request. */
  nonce: string | null;
  auth_time: Millis | null;
}

/** Device authorizations (RFC 8628). */
export interface DeviceCodesTable {
  id: string;
  digest: string;
  user_code_digest: string;
  client_id: string;
  scope: string;
  /** JSON array of resource identifiers. */
  audience: string;
  family_id: string;
  /** `pending`, `approved` or `denied`. */
  status: string;
  user_id: string | null;
  /** Seconds between polls (`interval` is a reserved word in MySQL). */
  poll_interval: number;
  last_polled_at: Millis | null;
  issued_at: Millis;
  expires_at: Millis;
  consumed_at: Millis | null;
}

export interface AccessTokensTable {
  id: string;
  digest: string;
  client_id: string;
  user_id: string | null;
  scope: string;
  audience: string;
  family_id: string;
  issued_at: Millis;
  expires_at: Millis;
  revoked_at: Millis | null;
}

export interface RefreshTokensTable {
  id: string;
  digest: string;
  client_id: string;
  user_id: string | null;
  scope: string;
  audience: string;
  family_id: string;
  issued_at: Millis;
  expires_at: Millis;
  consumed_at: Millis | null;
  revoked_at: Millis | null;
  auth_time: Millis | null;
  /** Null only for rows written before migration 0006, which set it. */
  family_issued_at: Millis | null;
  /** How many times a retry within the reuse interval bought new tokens with this token. */
  reissue_count: Generated<number>;
}

export interface OAuth1RequestTokensTable {
  id: string;
  token: string;
  secret_encrypted: string;
  client_id: string;
  callback: string;
  scope: string;
  user_id: string | null;
  verifier_digest: string | null;
  issued_at: Millis;
  expires_at: Millis;
  consumed_at: Millis | null;
}

export interface OAuth1AccessTokensTable {
  id: string;
  token: string;
  secret_encrypted: string;
  client_id: string;
  user_id: string;
  scope: string;
  issued_at: Millis;
  expires_at: Millis | null;
  revoked_at: Millis | null;
}

/**
 * One row per nonce seen. The key is a SHA-256 digest of (client, token, timestamp, nonce): a
 * fixed-size primary key whatever length a client sends, and the unique key that makes
 * check-and-record one INSERT.
 */
export interface OAuth1NoncesTable {
  nonce_key: string;
  client_id: string;
  expires_at: Millis;
}

/** JWS signing keys: the private JWK sealed by the core, never in clear. */
export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  private_jwk_encrypted: string;
  created_at: Millis;
  activates_at: Millis;
  retires_at: Millis | null;
  expires_at: Millis | null;
}

/** What a user approved for a client (one row per user and client); lists are JSON text. */
export interface ConsentsTable {
  user_id: string;
  client_id: string;
  scope: string;
  audience: string;
  created_at: Millis;
  updated_at: Millis;
}

export type ConsentRow = Selectable<ConsentsTable>;
export type NewConsentRow = Insertable<ConsentsTable>;
export type ClientRow = Selectable<ClientsTable>;
export type NewClientRow = Insertable<ClientsTable>;
export type ClientRowUpdate = Updateable<ClientsTable>;
export type ScopeRow = Selectable<ScopesTable>;
export type SigningKeyRow = Selectable<SigningKeysTable>;
export type AuthorizationCodeRow = Selectable<AuthorizationCodesTable>;
export type NewAuthorizationCodeRow = Insertable<AuthorizationCodesTable>;
export type AccessTokenRow = Selectable<AccessTokensTable>;
export type NewAccessTokenRow = Insertable<AccessTokensTable>;
export type RefreshTokenRow = Selectable<RefreshTokensTable>;
export type NewRefreshTokenRow = Insertable<RefreshTokensTable>;
export type OAuth1RequestTokenRow = Selectable<OAuth1RequestTokensTable>;
export type NewOAuth1RequestTokenRow = Insertable<OAuth1RequestTokensTable>;
export type OAuth1AccessTokenRow = Selectable<OAuth1AccessTokensTable>;
export type NewOAuth1AccessTokenRow = Insertable<OAuth1AccessTokensTable>;
export type NewOAuth1NonceRow = Insertable<OAuth1NoncesTable>;
export type DeviceCodeRow = Selectable<DeviceCodesTable>;
export type NewDeviceCodeRow = Insertable<DeviceCodesTable>;

/** Every table of the schema, in creation order: for tests and tools that walk them. */
export const PORTCULLIS_TABLES = [
  'portcullis_clients',
  'portcullis_scopes',
  'portcullis_authorization_codes',
  'portcullis_access_tokens',
  'portcullis_refresh_tokens',
  'portcullis_oauth1_request_tokens',
  'portcullis_oauth1_access_tokens',
  'portcullis_oauth1_nonces',
  'portcullis_signing_keys',
  'portcullis_consents',
  'portcullis_device_codes',
] as const satisfies readonly (keyof Database)[];
