import { StorageError } from '../errors.js';
import { freezeRecord } from './frozen-record.js';
import type { ConsumeResult, OAuthStorage } from './port.js';
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

/**
 * Everything a `MemoryStorage` holds at one moment, for tests that assert "nothing changed". The
 * records are the store's own frozen ones: a later change puts a new record in the store and
 * leaves the snapshot as it was.
 */
export interface MemoryStorageSnapshot {
  clients: Readonly<ClientRecord>[];
  scopes: Readonly<ScopeRecord>[];
  authorizationCodes: Readonly<AuthorizationCodeRecord>[];
  accessTokens: Readonly<AccessTokenRecord>[];
  refreshTokens: Readonly<RefreshTokenRecord>[];
  requestTokens: Readonly<RequestTokenRecord>[];
  oauth1AccessTokens: Readonly<OAuth1AccessTokenRecord>[];
  nonces: Readonly<NonceRecord>[];
  signingKeys: Readonly<SigningKeyRecord>[];
  consents: Readonly<ConsentRecord>[];
  deviceCodes: Readonly<DeviceCodeRecord>[];
}

/**
 * The storage port in memory, for core's tests and quick embedding. Atomicity comes from the
 * event loop: no operation awaits between its check and its write, so two callers can never both
 * see a code unconsumed. Records are kept frozen (`freezeRecord`: fields, arrays and dates) and
 * handed out as they are, without a copy: no caller can change what the store or another caller
 * sees. A change puts a new frozen record in place of the old one, so a record a caller holds
 * keeps the values it was read with, as a row read from a database would.
 */
export class MemoryStorage implements OAuthStorage {
  readonly #clients = new Map<string, Readonly<ClientRecord>>();
  readonly #scopes = new Map<string, Readonly<ScopeRecord>>();
  // Keyed by digest (or token) and by id, both unique, as a database's indexes would be.
  readonly #codes = new KeyedTable<AuthorizationCodeRecord>((row) => row.digest);
  readonly #accessTokens = new KeyedTable<AccessTokenRecord>((row) => row.digest);
  readonly #refreshTokens = new KeyedTable<RefreshTokenRecord>((row) => row.digest);
  readonly #requestTokens = new KeyedTable<RequestTokenRecord>((row) => row.token);
  readonly #oauth1AccessTokens = new KeyedTable<OAuth1AccessTokenRecord>((row) => row.token);
  readonly #nonces = new Map<string, Readonly<NonceRecord>>();
  readonly #signingKeys = new Map<string, Readonly<SigningKeyRecord>>();
  readonly #consents = new Map<string, Readonly<ConsentRecord>>();
  readonly #deviceCodes = new KeyedTable<DeviceCodeRecord>((row) => row.digest);
  /** The second unique key of device codes: user code digest to id. */
  readonly #userCodes = new Map<string, string>();

  // Clients

  async createClient(client: ClientRecord): Promise<void> {
    if (this.#clients.has(client.id)) throw new StorageError('A client with this id already exists.');
    this.#clients.set(client.id, freezeRecord({ ...CLIENT_DEFAULTS, ...withoutUndefined(client) }));
  }

  async findClient(id: string): Promise<ClientRecord | null> {
    return this.#clients.get(id) ?? null;
  }

  async updateClient(id: string, update: ClientUpdate, expected?: ClientUpdateCondition): Promise<ClientRecord | null> {
    const client = this.#clients.get(id);
    if (!client) return null;
    if (expected !== undefined && client.registrationTokenDigest !== expected.registrationTokenDigest) return null;
    // Only the keys present change; `id` and `createdAt` are not part of ClientUpdate but a loose
    // caller could still pass them, so they are pinned.
    const defined = Object.fromEntries(Object.entries(update).filter(([, value]) => value !== undefined));
    const next = freezeRecord({ ...client, ...defined, id: client.id, createdAt: client.createdAt } as ClientRecord);
    this.#clients.set(id, next);
    return next;
  }

  async listClients(): Promise<ClientRecord[]> {
    return [...this.#clients.values()].sort(byCreatedThenId);
  }

  async deleteClient(id: string): Promise<boolean> {
    return this.#clients.delete(id);
  }

  async countUnusedClients(now: Date): Promise<number> {
    let count = 0;
    for (const client of this.#clients.values()) if (isPendingClient(client, now)) count += 1;
    return count;
  }

  // Scopes

  async saveScopes(scopes: ScopeRecord[]): Promise<void> {
    for (const scope of scopes) this.#scopes.set(scope.name, freezeRecord({ name: scope.name, description: scope.description }));
  }

  async listScopes(): Promise<ScopeRecord[]> {
    return [...this.#scopes.values()].sort((a, b) => compareText(a.name, b.name));
  }

  // Authorization codes

  async saveAuthorizationCode(code: AuthorizationCodeRecord): Promise<void> {
    if (this.#codes.collides(code)) {
      throw new StorageError('An authorization code with this id or digest already exists.');
    }
    this.#codes.insert(freezeRecord({ ...CODE_DEFAULTS, ...code }));
  }

  async consumeAuthorizationCode(digest: string, now: Date): Promise<ConsumeResult<AuthorizationCodeRecord>> {
    const code = this.#codes.get(digest);
    if (!code) return { status: 'missing' };
    if (code.consumedAt !== null) return { status: 'reused', record: code };
    return { status: 'consumed', record: this.#codes.update(code, { consumedAt: now }) };
  }

  async findAuthorizationCode(digest: string): Promise<AuthorizationCodeRecord | null> {
    return this.#codes.get(digest) ?? null;
  }

  async redeemAuthorizationCode(
    codeId: string,
    now: Date,
    access: AccessTokenRecord,
    refresh: RefreshTokenRecord | null,
  ): Promise<boolean> {
    const code = this.#codes.getById(codeId);
    if (!code || code.consumedAt !== null) return false;
    // Checked before the code is marked, so a collision leaves the store untouched.
    this.#assertNewTokens(access, refresh);
    this.#codes.update(code, { consumedAt: now });
    this.#accessTokens.insert(freezeRecord(access));
    if (refresh) this.#refreshTokens.insert(freezeRecord(withFamilyStart({ ...REFRESH_DEFAULTS, ...refresh })));
    return true;
  }

  async listAuthorizationCodes(filter: TokenListFilter): Promise<AuthorizationCodeRecord[]> {
    const { liveAt } = filter;
    const rows = [...this.#codes.values()].filter(
      (code) =>
        matchesOwner(code, filter) &&
        (liveAt === undefined || (code.consumedAt === null && code.expiresAt > liveAt)),
    );
    return page(rows.sort(byIssuedDescThenId), filter);
  }

  // Device authorizations

  async saveDeviceCode(code: DeviceCodeRecord): Promise<boolean> {
    if (this.#deviceCodes.collides(code) || this.#userCodes.has(code.userCodeDigest)) return false;
    this.#deviceCodes.insert(freezeRecord(code));
    this.#userCodes.set(code.userCodeDigest, code.id);
    return true;
  }

  async findDeviceCode(digest: string): Promise<DeviceCodeRecord | null> {
    return this.#deviceCodes.get(digest) ?? null;
  }

  async findDeviceCodeByUserCode(userCodeDigest: string): Promise<DeviceCodeRecord | null> {
    const id = this.#userCodes.get(userCodeDigest);
    return id === undefined ? null : (this.#deviceCodes.getById(id) ?? null);
  }

  async decideDeviceCode(id: string, decision: { status: 'approved' | 'denied'; userId: string; scope: string[] }): Promise<boolean> {
    const code = this.#deviceCodes.getById(id);
    if (!code || code.status !== 'pending') return false;
    this.#deviceCodes.update(code, { status: decision.status, userId: decision.userId, scope: [...decision.scope] });
    return true;
  }

  async recordDeviceCodePoll(id: string, previous: Date | null, now: Date, interval: number): Promise<boolean> {
    const code = this.#deviceCodes.getById(id);
    if (!code || (code.lastPolledAt?.getTime() ?? null) !== (previous?.getTime() ?? null)) return false;
    this.#deviceCodes.update(code, { lastPolledAt: now, interval });
    return true;
  }

  async redeemDeviceCode(id: string, now: Date, access: AccessTokenRecord, refresh: RefreshTokenRecord | null): Promise<boolean> {
    const code = this.#deviceCodes.getById(id);
    if (!code || code.status !== 'approved' || code.consumedAt !== null) return false;
    this.#assertNewTokens(access, refresh);
    this.#deviceCodes.update(code, { consumedAt: now });
    this.#accessTokens.insert(freezeRecord(access));
    if (refresh) this.#refreshTokens.insert(freezeRecord(refresh));
    return true;
  }

  // Access and refresh tokens

  async saveTokens(access: AccessTokenRecord, refresh: RefreshTokenRecord | null): Promise<void> {
    // Every check before any write: all or none.
    this.#assertNewTokens(access, refresh);
    this.#accessTokens.insert(freezeRecord(access));
    if (refresh) this.#refreshTokens.insert(freezeRecord(withFamilyStart({ ...REFRESH_DEFAULTS, ...refresh })));
  }

  async findAccessToken(digest: string): Promise<AccessTokenRecord | null> {
    return this.#accessTokens.get(digest) ?? null;
  }

  async findRefreshToken(digest: string): Promise<RefreshTokenRecord | null> {
    return this.#refreshTokens.get(digest) ?? null;
  }

  async rotateRefreshToken(
    refreshTokenId: string,
    now: Date,
    access: AccessTokenRecord,
    refresh: RefreshTokenRecord,
  ): Promise<boolean> {
    const current = this.#refreshTokens.getById(refreshTokenId);
    if (!current || current.consumedAt !== null || current.revokedAt !== null) return false;
    // Checked before the old token is marked, so a collision leaves the store untouched.
    this.#assertNewTokens(access, refresh);
    this.#refreshTokens.update(current, { consumedAt: now });
    this.#accessTokens.insert(freezeRecord(access));
    this.#refreshTokens.insert(freezeRecord(withFamilyStart({ ...REFRESH_DEFAULTS, ...refresh })));
    return true;
  }

  async reissueRefreshToken(
    refreshTokenId: string,
    consumedSince: Date,
    access: AccessTokenRecord,
    refresh: RefreshTokenRecord,
  ): Promise<boolean> {
    const current = this.#refreshTokens.getById(refreshTokenId);
    if (!current || current.revokedAt !== null || current.consumedAt === null || current.consumedAt < consumedSince) return false;
    this.#assertNewTokens(access, refresh);
    this.#accessTokens.insert(freezeRecord(access));
    this.#refreshTokens.insert(freezeRecord(withFamilyStart({ ...REFRESH_DEFAULTS, ...refresh })));
    return true;
  }

  async revokeAccessToken(id: string, now: Date): Promise<boolean> {
    const token = this.#accessTokens.getById(id);
    if (!token || token.revokedAt !== null) return false;
    this.#accessTokens.update(token, { revokedAt: now });
    return true;
  }

  async revokeFamily(familyId: string, now: Date): Promise<number> {
    const ofFamily = (token: Readonly<AccessTokenRecord | RefreshTokenRecord>): boolean =>
      token.familyId === familyId && token.revokedAt === null;
    return this.#accessTokens.updateWhere(ofFamily, { revokedAt: now }) + this.#refreshTokens.updateWhere(ofFamily, { revokedAt: now });
  }

  async revokeTokens(
    filter: { clientId: string; userId?: string | null; scope?: string[]; accessOnly?: boolean },
    now: Date,
  ): Promise<number> {
    const matches = (token: Readonly<AccessTokenRecord | RefreshTokenRecord>): boolean =>
      token.clientId === filter.clientId &&
      (filter.userId === undefined || token.userId === filter.userId) &&
      (filter.scope === undefined || sameScope(token.scope, filter.scope)) &&
      token.revokedAt === null &&
      token.expiresAt > now;
    let changed = this.#accessTokens.updateWhere(matches, { revokedAt: now });
    if (!filter.accessOnly) {
      changed += this.#refreshTokens.updateWhere((token) => matches(token) && token.consumedAt === null, { revokedAt: now });
    }
    return changed;
  }

  async revokeGrant(grant: { clientId: string; userId: string }, now: Date): Promise<number> {
    const ofGrant = (row: { clientId: string; userId: string | null }): boolean =>
      row.clientId === grant.clientId && row.userId === grant.userId;
    this.#consents.delete(consentKey(grant));
    return (
      this.#accessTokens.updateWhere((token) => ofGrant(token) && token.revokedAt === null && token.expiresAt > now, { revokedAt: now }) +
      this.#refreshTokens.updateWhere((token) => ofGrant(token) && token.revokedAt === null && token.expiresAt > now, { revokedAt: now }) +
      this.#codes.updateWhere((code) => ofGrant(code) && code.consumedAt === null, { consumedAt: now }) +
      this.#deviceCodes.updateWhere((code) => ofGrant(code) && code.status === 'approved' && code.consumedAt === null, { consumedAt: now }) +
      this.#requestTokens.updateWhere((token) => ofGrant(token) && token.consumedAt === null, { consumedAt: now }) +
      this.#oauth1AccessTokens.updateWhere((token) => ofGrant(token) && token.revokedAt === null, { revokedAt: now })
    );
  }

  async listAccessTokens(filter: TokenListFilter): Promise<AccessTokenRecord[]> {
    const { liveAt } = filter;
    const rows = [...this.#accessTokens.values()].filter(
      (token) =>
        matchesOwner(token, filter) &&
        (liveAt === undefined || (token.revokedAt === null && token.expiresAt > liveAt)),
    );
    return page(rows.sort(byIssuedDescThenId), filter);
  }

  async listGrants(userId: string, now: Date): Promise<GrantSummary[]> {
    const grants = new GrantCollector(userId);
    for (const token of this.#accessTokens.values()) {
      if (token.userId === userId && token.revokedAt === null && token.expiresAt > now) {
        grants.add('oauth2', token.clientId, token.scope, token.issuedAt);
      }
    }
    for (const token of this.#refreshTokens.values()) {
      if (token.userId === userId && isLiveRefresh(token, now)) {
        grants.add('oauth2', token.clientId, token.scope, token.issuedAt);
      }
    }
    for (const token of this.#oauth1AccessTokens.values()) {
      if (token.userId === userId && token.revokedAt === null && (token.expiresAt === null || token.expiresAt > now)) {
        grants.add('oauth1', token.clientId, token.scope, token.issuedAt);
      }
    }
    return grants.list();
  }

  // Remembered consent

  async saveConsent(consent: ConsentRecord): Promise<void> {
    const key = consentKey(consent);
    const createdAt = this.#consents.get(key)?.createdAt ?? consent.createdAt;
    this.#consents.set(key, freezeRecord({ ...consent, scope: [...consent.scope], audience: [...consent.audience], createdAt }));
  }

  async findConsent(grant: { clientId: string; userId: string }): Promise<ConsentRecord | null> {
    return this.#consents.get(consentKey(grant)) ?? null;
  }

  async listConsents(filter: { clientId?: string; userId?: string }): Promise<ConsentRecord[]> {
    return [...this.#consents.values()]
      .filter((consent) => matchesOwner(consent, filter))
      .sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime() || compareText(a.clientId, b.clientId) || compareText(a.userId, b.userId));
  }

  async deleteConsents(filter: { clientId: string; userId?: string }): Promise<number> {
    return deleteWhere(this.#consents, (consent) => matchesOwner(consent, filter));
  }

  // OAuth 1.0a

  async saveRequestToken(token: RequestTokenRecord): Promise<void> {
    if (this.#requestTokens.collides(token)) {
      throw new StorageError('A request token with this id or value already exists.');
    }
    this.#requestTokens.insert(freezeRecord(token));
  }

  async findRequestToken(token: string): Promise<RequestTokenRecord | null> {
    return this.#requestTokens.get(token) ?? null;
  }

  async authorizeRequestToken(token: string, userId: string, verifierDigest: string, scope: string[]): Promise<boolean> {
    const found = this.#requestTokens.get(token);
    if (!found || found.userId !== null || found.verifierDigest !== null || found.consumedAt !== null) return false;
    this.#requestTokens.update(found, { userId, verifierDigest, scope });
    return true;
  }

  async consumeRequestToken(token: string, now: Date): Promise<ConsumeResult<RequestTokenRecord>> {
    const found = this.#requestTokens.get(token);
    if (!found) return { status: 'missing' };
    if (found.consumedAt !== null) return { status: 'reused', record: found };
    return { status: 'consumed', record: this.#requestTokens.update(found, { consumedAt: now }) };
  }

  async saveOAuth1AccessToken(token: OAuth1AccessTokenRecord): Promise<void> {
    if (this.#oauth1AccessTokens.collides(token)) {
      throw new StorageError('An OAuth 1.0a access token with this id or value already exists.');
    }
    this.#oauth1AccessTokens.insert(freezeRecord(token));
  }

  async findOAuth1AccessToken(token: string): Promise<OAuth1AccessTokenRecord | null> {
    return this.#oauth1AccessTokens.get(token) ?? null;
  }

  async revokeOAuth1AccessTokens(
    filter: { clientId: string; userId?: string; token?: string },
    now: Date,
  ): Promise<number> {
    return this.#oauth1AccessTokens.updateWhere(
      (found) =>
        found.clientId === filter.clientId &&
        (filter.userId === undefined || found.userId === filter.userId) &&
        (filter.token === undefined || found.token === filter.token) &&
        found.revokedAt === null,
      { revokedAt: now },
    );
  }

  async recordNonce(nonce: NonceRecord): Promise<boolean> {
    const key = nonceKey(nonce);
    if (this.#nonces.has(key)) return false;
    this.#nonces.set(key, freezeRecord(nonce));
    return true;
  }

  // Signing keys

  async saveSigningKey(key: SigningKeyRecord): Promise<void> {
    if (this.#signingKeys.has(key.kid)) throw new StorageError('A signing key with this kid already exists.');
    this.#signingKeys.set(key.kid, freezeRecord({ ...key }));
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return [...this.#signingKeys.values()].sort(byActivationThenKid);
  }

  async retireSigningKey(kid: string, times: { retiresAt: Date; expiresAt: Date }): Promise<boolean> {
    const key = this.#signingKeys.get(kid);
    if (key === undefined || key.retiresAt !== null) return false;
    this.#signingKeys.set(kid, freezeRecord({ ...key, retiresAt: times.retiresAt, expiresAt: times.expiresAt }));
    return true;
  }

  async purgeExpired(now: Date, options: { batchSize?: number } = {}): Promise<PurgeResult> {
    // Batching matters for databases; here it is only validated, so callers get the same errors.
    checkBatchSize(options.batchSize);
    return {
      authorizationCodes: this.#codes.deleteWhere((row) => row.expiresAt < now),
      accessTokens: this.#accessTokens.deleteWhere((row) => row.expiresAt < now),
      refreshTokens: this.#refreshTokens.deleteWhere((row) => row.expiresAt < now),
      requestTokens: this.#requestTokens.deleteWhere((row) => row.expiresAt < now),
      oauth1AccessTokens: this.#oauth1AccessTokens.deleteWhere((row) => row.expiresAt !== null && row.expiresAt < now),
      nonces: deleteWhere(this.#nonces, (row) => row.expiresAt < now),
      clients: deleteWhere(this.#clients, (row) => row.unusedExpiresAt != null && row.unusedExpiresAt < now),
      signingKeys: deleteWhere(this.#signingKeys, (row) => row.expiresAt !== null && row.expiresAt < now),
      deviceCodes: this.#deviceCodes.deleteWhere((row) => {
        if (row.expiresAt >= now) return false;
        this.#userCodes.delete(row.userCodeDigest);
        return true;
      }),
    };
  }

  /** Every record, for tests: "a bad request changes nothing in storage". */
  snapshot(): MemoryStorageSnapshot {
    return {
      clients: [...this.#clients.values()].sort(byCreatedThenId),
      scopes: [...this.#scopes.values()].sort((a, b) => compareText(a.name, b.name)),
      authorizationCodes: [...this.#codes.values()].sort(byIdOnly),
      accessTokens: [...this.#accessTokens.values()].sort(byIdOnly),
      refreshTokens: [...this.#refreshTokens.values()].sort(byIdOnly),
      requestTokens: [...this.#requestTokens.values()].sort(byIdOnly),
      oauth1AccessTokens: [...this.#oauth1AccessTokens.values()].sort(byIdOnly),
      nonces: [...this.#nonces.values()],
      signingKeys: [...this.#signingKeys.values()].sort(byActivationThenKid),
      consents: [...this.#consents.values()].sort((a, b) => compareText(consentKey(a), consentKey(b))),
      deviceCodes: [...this.#deviceCodes.values()].sort(byIdOnly),
    };
  }

  #assertNewTokens(access: AccessTokenRecord, refresh: RefreshTokenRecord | null): void {
    if (this.#accessTokens.collides(access)) {
      throw new StorageError('An access token with this id or digest already exists.');
    }
    if (refresh && this.#refreshTokens.collides(refresh)) {
      throw new StorageError('A refresh token with this id or digest already exists.');
    }
  }
}

/** What a client record created without the registration fields holds, as a database's column defaults would. */
const CLIENT_DEFAULTS = {
  origin: 'admin',
  registrationTokenDigest: null,
  metadata: null,
  unusedExpiresAt: null,
  lastUsedAt: null,
  postLogoutRedirectUris: [],
  idTokenSignedResponseAlg: null,
  skipConsent: false,
  accessTokenTtl: null,
  refreshTokenTtl: null,
  authorizationCodeTtl: null,
} as const satisfies Partial<ClientRecord>;

/** What a code saved without the OpenID Connect fields holds, as the database's nullable columns would. */
const CODE_DEFAULTS = { nonce: null, authTime: null } as const satisfies Partial<AuthorizationCodeRecord>;

/** What a refresh token saved without `authTime` holds. */
const REFRESH_DEFAULTS = { authTime: null } as const satisfies Partial<RefreshTokenRecord>;


/** The record without its undefined fields, so that an absent field takes its default. */
function withoutUndefined<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}

function consentKey(grant: { clientId: string; userId: string }): string {
  return `${grant.userId}\u0000${grant.clientId}`;
}

/** A refresh token record as stored: `familyIssuedAt` defaults to the token's own issue time. */
function withFamilyStart(refresh: RefreshTokenRecord): RefreshTokenRecord {
  return refresh.familyIssuedAt === undefined ? { ...refresh, familyIssuedAt: refresh.issuedAt } : refresh;
}

function isPendingClient(client: Readonly<ClientRecord>, now: Date): boolean {
  return client.unusedExpiresAt != null && client.unusedExpiresAt > now;
}

/** A refresh token that can still be used: the definition `listGrants` and `revokeTokens` share. */
function isLiveRefresh(token: Readonly<RefreshTokenRecord>, now: Date): boolean {
  return token.revokedAt === null && token.consumedAt === null && token.expiresAt > now;
}

/**
 * Folds live tokens into one summary per client and protocol: the union of their scopes and the
 * newest issue time.
 */
class GrantCollector {
  readonly #userId: string;
  readonly #grants = new Map<string, { clientId: string; protocol: 'oauth2' | 'oauth1'; scope: Set<string>; last: number }>();

  constructor(userId: string) {
    this.#userId = userId;
  }

  add(protocol: 'oauth2' | 'oauth1', clientId: string, scope: readonly string[], issuedAt: Date): void {
    const key = `${protocol}\u0000${clientId}`;
    let grant = this.#grants.get(key);
    if (!grant) {
      grant = { clientId, protocol, scope: new Set(), last: Number.NEGATIVE_INFINITY };
      this.#grants.set(key, grant);
    }
    for (const name of scope) grant.scope.add(name);
    grant.last = Math.max(grant.last, issuedAt.getTime());
  }

  /** Newest first; ties by client id, then OAuth 2 before OAuth 1.0a. */
  list(): GrantSummary[] {
    return [...this.#grants.values()]
      .sort((a, b) => b.last - a.last || compareText(a.clientId, b.clientId) || compareText(a.protocol, b.protocol))
      .map((grant) => ({
        clientId: grant.clientId,
        userId: this.#userId,
        scope: [...grant.scope].sort(compareText),
        lastIssuedAt: new Date(grant.last),
        protocol: grant.protocol,
      }));
  }
}

/** Order-insensitive scope equality, for `revokeTokens({ scope })`. */
function sameScope(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  if (left.size !== right.size) return false;
  for (const name of left) if (!right.has(name)) return false;
  return true;
}

/** The port's default purge batch, and the check every store applies to a caller's value. */
const DEFAULT_PURGE_BATCH_SIZE = 1000;

function checkBatchSize(batchSize: number | undefined): number {
  if (batchSize === undefined) return DEFAULT_PURGE_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError('purgeExpired batchSize must be a positive integer');
  }
  return batchSize;
}

/** Paging values a database would choke on are the caller's bug: refused the same way by every store. */
function checkPaging(filter: TokenListFilter): void {
  for (const [name, value] of [['limit', filter.limit], ['offset', filter.offset]] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new RangeError(`${name} must be a non-negative integer`);
    }
  }
}

function byActivationThenKid(a: SigningKeyRecord, b: SigningKeyRecord): number {
  return a.activatesAt.getTime() - b.activatesAt.getTime() || compareText(a.kid, b.kid);
}

// Code-point order, not locale order, so every store sorts names the same way.
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byCreatedThenId(a: Readonly<ClientRecord>, b: Readonly<ClientRecord>): number {
  return a.createdAt.getTime() - b.createdAt.getTime() || compareText(a.id, b.id);
}

function byIssuedDescThenId(a: { issuedAt: Date; id: string }, b: { issuedAt: Date; id: string }): number {
  return b.issuedAt.getTime() - a.issuedAt.getTime() || compareText(a.id, b.id);
}

function byIdOnly(a: { id: string }, b: { id: string }): number {
  return compareText(a.id, b.id);
}

function matchesOwner(row: { clientId: string; userId: string | null }, filter: TokenListFilter): boolean {
  return (
    (filter.clientId === undefined || row.clientId === filter.clientId) &&
    (filter.userId === undefined || row.userId === filter.userId)
  );
}

function page<T>(rows: T[], filter: TokenListFilter): T[] {
  checkPaging(filter);
  const offset = filter.offset ?? 0;
  return filter.limit === undefined ? rows.slice(offset) : rows.slice(offset, offset + filter.limit);
}

/**
 * Frozen rows with two unique keys, the lookup key (a digest or token) and the id, each a Map. A
 * change replaces the row under both keys with a new frozen one (neither key ever changes).
 */
class KeyedTable<T extends { id: string }> {
  readonly #byKey = new Map<string, Readonly<T>>();
  readonly #byId = new Map<string, Readonly<T>>();
  readonly #keyOf: (row: Readonly<T>) => string;

  constructor(keyOf: (row: Readonly<T>) => string) {
    this.#keyOf = keyOf;
  }

  get(key: string): Readonly<T> | undefined {
    return this.#byKey.get(key);
  }

  getById(id: string): Readonly<T> | undefined {
    return this.#byId.get(id);
  }

  /** Whether inserting the row would break either unique key. */
  collides(row: Readonly<T>): boolean {
    return this.#byKey.has(this.#keyOf(row)) || this.#byId.has(row.id);
  }

  insert(row: Readonly<T>): void {
    this.#byKey.set(this.#keyOf(row), row);
    this.#byId.set(row.id, row);
  }

  /** Puts `row` with `changes` in place of `row`, and returns the new row. */
  update(row: Readonly<T>, changes: Partial<T>): Readonly<T> {
    const next = freezeRecord({ ...row, ...changes });
    this.insert(next);
    return next;
  }

  /** Applies `changes` to every row `matches` selects; returns how many. */
  updateWhere(matches: (row: Readonly<T>) => boolean, changes: Partial<T>): number {
    let changed = 0;
    // Replacing the value of a key already in a Map keeps its place: the iteration sees each row once.
    for (const row of this.#byKey.values()) {
      if (matches(row)) {
        this.update(row, changes);
        changed += 1;
      }
    }
    return changed;
  }

  values(): IterableIterator<Readonly<T>> {
    return this.#byKey.values();
  }

  deleteWhere(expired: (row: Readonly<T>) => boolean): number {
    let deleted = 0;
    for (const [key, row] of this.#byKey) {
      if (expired(row)) {
        this.#byKey.delete(key);
        this.#byId.delete(row.id);
        deleted += 1;
      }
    }
    return deleted;
  }
}

function deleteWhere<T>(map: Map<string, T>, expired: (row: T) => boolean): number {
  let deleted = 0;
  for (const [key, row] of map) {
    if (expired(row)) {
      map.delete(key);
      deleted += 1;
    }
  }
  return deleted;
}

function nonceKey(nonce: NonceRecord): string {
  // NUL cannot occur in any of these fields as they arrive from a request, so the key is unambiguous.
  return [nonce.clientId, nonce.token, String(nonce.timestamp), nonce.nonce].join('\u0000');
}

