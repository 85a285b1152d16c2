import type {
  AccessTokenRecord,
  AuthorizationCodeRecord,
  ClientRecord,
  ClientUpdate,
  ClientUpdateCondition,
  ConsentRecord,
  DeviceCodeRecord,
  GrantSummary,
  NonceRecord,
  OAuth1AccessTokenRecord,
  PurgeResult,
  RefreshTokenRecord,
  RequestTokenRecord,
  ScopeRecord,
  SigningKeyRecord,
  TokenListFilter,
} from './records.js';

/** The outcome of consuming a single-use credential: exactly one caller ever sees `consumed`. */
export type ConsumeResult<T> =
  | { status: 'consumed'; record: T }
  /** It existed but was used already: the caller treats this as a replay. */
  | { status: 'reused'; record: T }
  | { status: 'missing' };

/**
 * The storage port. Every operation is atomic on its own; single use is enforced by the store
 * (a conditional UPDATE whose affected-row count decides, or a unique key), never by a read
 * followed by a write. Stores throw `StorageError` when the database fails.
 *
 * Finders return records whatever their state (expired, revoked, consumed): the core decides.
 */
export interface OAuthStorage {
  // Clients
  createClient(client: ClientRecord): Promise<void>;
  findClient(id: string): Promise<ClientRecord | null>;
  /**
   * Applies the update and returns the new record, or null when no client has this id. With
   * `expected`, only while the stored registration token digest is still that one, checked in the
   * same statement as the write: two updates made with one registration access token cannot both
   * land (RFC 7592 section 2.2 rotation).
   */
  updateClient(id: string, update: ClientUpdate, expected?: ClientUpdateCondition): Promise<ClientRecord | null>;
  listClients(): Promise<ClientRecord[]>;
  /** Deletes a client record (RFC 7592 section 2.3). Returns whether it existed. Its tokens are the core's to revoke first. */
  deleteClient(id: string): Promise<boolean>;
  /** How many clients have an `unusedExpiresAt` after `now`: the pending dynamic registrations. */
  countUnusedClients(now: Date): Promise<number>;

  // Scopes (oauthost's `syncscopes` writes them): upsert by name, never deleting.
  saveScopes(scopes: ScopeRecord[]): Promise<void>;
  listScopes(): Promise<ScopeRecord[]>;

  // Authorization codes
  saveAuthorizationCode(code: AuthorizationCodeRecord): Promise<void>;
  /** Marks the code consumed if it was not, atomically. */
  consumeAuthorizationCode(digest: string, now: Date): Promise<ConsumeResult<AuthorizationCodeRecord>>;
  findAuthorizationCode(digest: string): Promise<AuthorizationCodeRecord | null>;
  /**
   * Redemption: marks code `codeId` consumed if it was not and, in the same transaction, saves the
   * tokens it buys. Returns false (saving nothing) when the code was consumed already: whoever
   * then sees the code consumed also finds the tokens it bought, so a replay can revoke them.
   */
  redeemAuthorizationCode(
    codeId: string,
    now: Date,
    access: AccessTokenRecord,
    refresh: RefreshTokenRecord | null,
  ): Promise<boolean>;
  listAuthorizationCodes(filter: TokenListFilter): Promise<AuthorizationCodeRecord[]>;

  // Device authorizations (RFC 8628)
  /**
   * Saves a new device authorization. Returns false, saving nothing, when its digest or its user
   * code digest is already stored, so the core can draw another user code.
   */
  saveDeviceCode(code: DeviceCodeRecord): Promise<boolean>;
  findDeviceCode(digest: string): Promise<DeviceCodeRecord | null>;
  findDeviceCodeByUserCode(userCodeDigest: string): Promise<DeviceCodeRecord | null>;
  /**
   * Records the user's decision on device code `id` while it is still pending, atomically: false
   * when it was decided already (or is missing), changing nothing.
   */
  decideDeviceCode(id: string, decision: { status: 'approved' | 'denied'; userId: string; scope: string[] }): Promise<boolean>;
  /**
   * Records a poll: sets `lastPolledAt` to `now` and `interval` to `interval` only if
   * `lastPolledAt` is still `previous` (compare-and-set), so of two concurrent polls one sees the
   * other. Returns whether it was recorded.
   */
  recordDeviceCodePoll(id: string, previous: Date | null, now: Date, interval: number): Promise<boolean>;
  /**
   * Marks approved device code `id` consumed if it was not and, in the same transaction, saves the
   * tokens it buys. Returns false (saving nothing) when it was consumed already.
   */
  redeemDeviceCode(id: string, now: Date, access: AccessTokenRecord, refresh: RefreshTokenRecord | null): Promise<boolean>;

  // Access and refresh tokens
  /** Saves the tokens of one issuance together: all or none. */
  saveTokens(access: AccessTokenRecord, refresh: RefreshTokenRecord | null): Promise<void>;
  findAccessToken(digest: string): Promise<AccessTokenRecord | null>;
  findRefreshToken(digest: string): Promise<RefreshTokenRecord | null>;
  /**
   * Rotation: marks `refreshTokenId` consumed if it is neither consumed nor revoked and, in the same
   * transaction, saves the new tokens. Returns false (saving nothing) when another caller won.
   */
  rotateRefreshToken(
    refreshTokenId: string,
    now: Date,
    access: AccessTokenRecord,
    refresh: RefreshTokenRecord,
  ): Promise<boolean>;
  /**
   * A retry of a rotation within the reuse interval: saves the new tokens, in one transaction,
   * only if `refreshTokenId` is not revoked and was consumed at or after `consumedSince`. Returns
   * false (saving nothing) otherwise. The check takes the old token's row lock, so a concurrent
   * `revokeFamily` either sees the new tokens or makes this return false.
   */
  reissueRefreshToken(
    refreshTokenId: string,
    consumedSince: Date,
    access: AccessTokenRecord,
    refresh: RefreshTokenRecord,
  ): Promise<boolean>;
  /** Revokes one access token by id. Returns whether it was live. */
  revokeAccessToken(id: string, now: Date): Promise<boolean>;
  /** Revokes every live access and refresh token of family `familyId`. Returns how many rows changed. */
  revokeFamily(familyId: string, now: Date): Promise<number>;
  /**
   * Revokes the live access tokens matching the filter (singleAccessToken, an app's revocation by
   * a user, a disabled client), refresh tokens too unless `accessOnly`. Returns the count.
   */
  revokeTokens(
    filter: { clientId: string; userId?: string | null; scope?: string[]; accessOnly?: boolean },
    now: Date,
  ): Promise<number>;
  /**
   * Ends every credential a user gave a client, in one transaction (`/account/apps`): revokes
   * the unexpired access and refresh tokens (a consumed refresh token too: within a reuse
   * interval it can still buy tokens), marks the unconsumed authorization codes, the approved
   * device codes not yet redeemed and the user's unconsumed (authorized) OAuth 1.0a request
   * tokens consumed, revokes the OAuth 1.0a access tokens and deletes the remembered consent.
   * Returns how many credentials changed (the consent is not one). A request token no user
   * approved yet belongs to nobody, so it is left alone.
   */
  revokeGrant(grant: { clientId: string; userId: string }, now: Date): Promise<number>;
  listAccessTokens(filter: TokenListFilter): Promise<AccessTokenRecord[]>;
  /** The clients a user has live tokens for (OAuth 2 and OAuth 1.0a), for `/account/apps`. */
  listGrants(userId: string, now: Date): Promise<GrantSummary[]>;

  // Remembered consent, one per user and client
  /** Saves the consent of `consent.userId` to `consent.clientId`, replacing any (keeping its `createdAt`). */
  saveConsent(consent: ConsentRecord): Promise<void>;
  findConsent(grant: { clientId: string; userId: string }): Promise<ConsentRecord | null>;
  /** Newest update first; ties by client id, then user id. */
  listConsents(filter: { clientId?: string; userId?: string }): Promise<ConsentRecord[]>;
  /** Deletes the consents of a client (of one user when `userId` is given). Returns how many. */
  deleteConsents(filter: { clientId: string; userId?: string }): Promise<number>;

  // OAuth 1.0a
  saveRequestToken(token: RequestTokenRecord): Promise<void>;
  findRequestToken(token: string): Promise<RequestTokenRecord | null>;
  /** Records the user's approval, once: false if already authorized, consumed or missing. */
  authorizeRequestToken(token: string, userId: string, verifierDigest: string, scope: string[]): Promise<boolean>;
  consumeRequestToken(token: string, now: Date): Promise<ConsumeResult<RequestTokenRecord>>;
  saveOAuth1AccessToken(token: OAuth1AccessTokenRecord): Promise<void>;
  findOAuth1AccessToken(token: string): Promise<OAuth1AccessTokenRecord | null>;
  revokeOAuth1AccessTokens(filter: { clientId: string; userId?: string; token?: string }, now: Date): Promise<number>;
  /** Records the nonce if this (client, token, timestamp, nonce) was never seen: true the first time only. */
  recordNonce(nonce: NonceRecord): Promise<boolean>;

  // Signing keys (JWS): the core decides which key signs; the store keeps them.
  /** Saves a new key; throws `StorageError` when the `kid` exists. */
  saveSigningKey(key: SigningKeyRecord): Promise<void>;
  /** Every stored key, expired ones included, by `activatesAt` then `kid`. */
  listSigningKeys(): Promise<SigningKeyRecord[]>;
  /**
   * Sets a key's `retiresAt` and `expiresAt` if it has no `retiresAt` yet, atomically. Returns
   * whether this call retired it: false when it was retired already or does not exist, so two
   * servers retiring the same key never overwrite each other's times.
   */
  retireSigningKey(kid: string, times: { retiresAt: Date; expiresAt: Date }): Promise<boolean>;

  /** Deletes rows expired before `now`, in batches of `batchSize`, so no table is locked for long. */
  purgeExpired(now: Date, options?: { batchSize?: number }): Promise<PurgeResult>;
}
