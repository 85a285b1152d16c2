import type {
  AccessTokenRecord,
  AuthorizationCodeRecord,
  ClientRecord,
  ClientUpdate,
  GrantSummary,
  NonceRecord,
  OAuth1AccessTokenRecord,
  PurgeResult,
  RefreshTokenRecord,
  RequestTokenRecord,
  ScopeRecord,
  TokenFamily,
  TokenListFilter,
} from './records.js';

/** The outcome of consuming a single-use credential: exactly one caller ever sees `consumed`. */
export type ConsumeResult<T> =
  | { status: 'consumed'; record: T }
  /** It existed but was used already: the caller treats this as a replay. */
  | { status: 'reused'; record: T }
  | { status: 'missing' };

/** What the core makes of a new token before it knows whose it is: the rest comes from the grant. */
export interface FreshToken {
  id: string;
  digest: string;
  issuedAt: Date;
  expiresAt: Date;
}

/** The tokens a one-step exchange saves; the refresh token only when the client may refresh. */
export interface FreshTokens {
  access: FreshToken;
  refresh: FreshToken | null;
}

/**
 * The outcome of a one-step exchange: `record` is the code or refresh token found by digest, as it
 * was before the exchange (null when none has that digest), and `exchanged` whether this call
 * consumed it and saved the fresh tokens.
 */
export interface DigestExchange<T> {
  exchanged: boolean;
  record: T | null;
}

/**
 * What `findOAuth1AccessTokenRecordingNonce` found: the token as stored (null when unknown), and
 * whether this call recorded the nonce (false when the token is unknown or another client's, or
 * the nonce was seen before).
 */
export interface NonceRecordingLookup {
  record: OAuth1AccessTokenRecord | null;
  nonceRecorded: boolean;
}

/**
 * What a code must match to be redeemed in one step: issued to `clientId`, with `redirectUri` as
 * its redirect URI (null: it had none), and, when `codeChallenge` is set, an `S256` challenge equal
 * to it (null: it had no challenge).
 */
export interface CodeExpectation {
  clientId: string;
  redirectUri: string | null;
  codeChallenge: string | null;
}

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
  updateClient(id: string, update: ClientUpdate): Promise<ClientRecord | null>;
  listClients(): Promise<ClientRecord[]>;

  // Scopes (seed 001's syncscopes): upsert by name, never deleting.
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
  /**
   * Optional, for stores where each statement is a round trip: redemption in one step, from the
   * digest. If an unconsumed, unexpired code with this digest matches `expected`, marks it consumed
   * and saves `fresh` with the code's client, user, scope and family, in one transaction. Anything
   * else changes nothing and returns the code as found, and the core decides from it as it would
   * after `findAuthorizationCode` (a failed check still spends the code, through
   * `consumeAuthorizationCode`).
   */
  redeemAuthorizationCodeByDigest?(
    digest: string,
    expected: CodeExpectation,
    now: Date,
    fresh: FreshTokens,
  ): Promise<DigestExchange<AuthorizationCodeRecord>>;
  listAuthorizationCodes(filter: TokenListFilter): Promise<AuthorizationCodeRecord[]>;

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
   * Optional, like `redeemAuthorizationCodeByDigest`: rotation in one step, from the digest. If a
   * refresh token with this digest was issued to `clientId` and is neither consumed, revoked nor
   * expired at `now`, marks it consumed and saves `fresh` (a refresh token is required) with its
   * client, user, scope and family, in one transaction. Anything else changes nothing and
   * returns the token as found.
   */
  rotateRefreshTokenByDigest?(
    digest: string,
    clientId: string,
    now: Date,
    fresh: FreshTokens,
  ): Promise<DigestExchange<RefreshTokenRecord>>;
  /** Revokes one access token by id. Returns whether it was live. */
  revokeAccessToken(id: string, now: Date): Promise<boolean>;
  /**
   * Revokes every access and refresh token of a family. Returns how many rows changed. A family
   * named with a client or user that is not its own matches nothing.
   */
  revokeFamily(family: TokenFamily, now: Date): Promise<number>;
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
   * the live access and refresh tokens, marks the unconsumed authorization codes and the user's
   * unconsumed (authorized) OAuth 1.0a request tokens consumed, and revokes the OAuth 1.0a
   * access tokens. Returns how many credentials changed. A request token no user approved yet
   * belongs to nobody, so it is left alone.
   */
  revokeGrant(grant: { clientId: string; userId: string }, now: Date): Promise<number>;
  listAccessTokens(filter: TokenListFilter): Promise<AccessTokenRecord[]>;
  /** The clients a user has live tokens for (OAuth 2 and OAuth 1.0a), for `/account/apps`. */
  listGrants(userId: string, now: Date): Promise<GrantSummary[]>;

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
  /**
   * Optional, for stores where each statement is a round trip: a signed request's token lookup
   * and nonce record in one step. Finds the OAuth 1.0a access token `nonce.token` and, only when it
   * is `nonce.clientId`'s, records the nonce as `recordNonce` would. The core checks the signature
   * and the token afterwards and, when it refuses the request, calls `forgetNonce`: a refused
   * request leaves no nonce behind. A store offers both methods or neither.
   */
  findOAuth1AccessTokenRecordingNonce?(nonce: NonceRecord): Promise<NonceRecordingLookup>;
  /** Optional, with the above: removes a recorded nonce (nothing when there is none). */
  forgetNonce?(nonce: NonceRecord): Promise<void>;

  /** Deletes rows expired before `now`, in batches of `batchSize`, so no table is locked for long. */
  purgeExpired(now: Date, options?: { batchSize?: number }): Promise<PurgeResult>;
}
