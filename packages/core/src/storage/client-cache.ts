import { freezeRecord } from './frozen-record.js';
import type { OAuthStorage } from './port.js';
import type { ClientRecord } from './records.js';

export interface ClientCacheOptions {
  /** How long a found client is served from memory, in milliseconds. Default 5000; 0 turns the cache off. */
  ttlMs?: number;
  /** How many clients are kept at most; the oldest entry goes first. Default 1000. */
  maxEntries?: number;
  /** Milliseconds from a monotonic source. Default `performance.now()`, which a wall-clock step cannot stretch. */
  clock?: () => number;
}

interface Entry {
  record: Readonly<ClientRecord>;
  expiresAt: number;
}

/** The port's methods every store has. */
type RequiredMethod = { [K in keyof OAuthStorage]-?: undefined extends OAuthStorage[K] ? never : K }[keyof OAuthStorage];

/**
 * Wraps a store so `findClient` answers from memory. Every token, introspection and revocation
 * request, and every OAuth 1.0a signed request, looks its client up, and that round trip almost
 * always returns the same record.
 *
 * Freshness: this process's own `createClient` and `updateClient` through the returned storage are
 * seen at once. Changes made elsewhere (another process, a CLI disabling a client, a write to the
 * wrapped storage directly) are seen after at most `ttlMs`, which bounds how long a disabled
 * client or a replaced secret keeps working.
 *
 * Only found clients are kept (random ids must not fill memory), concurrent lookups of one id
 * share a single call to the store, and a failed lookup is never kept. The kept record is frozen
 * (`freezeRecord`: fields, arrays and dates) and handed to every caller as it is, without a copy:
 * no caller can change what another one sees.
 *
 * `ttlMs: 0` returns `storage` itself.
 */
export function withClientCache(storage: OAuthStorage, options: ClientCacheOptions = {}): OAuthStorage {
  if (typeof storage !== 'object' || storage === null) throw new TypeError('withClientCache: `storage` is required');
  const ttlMs = options.ttlMs ?? 5000;
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs < 0) {
    throw new TypeError('withClientCache: `ttlMs` must be a finite number of milliseconds, 0 or more');
  }
  const maxEntries = options.maxEntries ?? 1000;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new TypeError('withClientCache: `maxEntries` must be a whole number, 1 or more');
  }
  const clock = options.clock ?? (() => performance.now());
  if (typeof clock !== 'function') throw new TypeError('withClientCache: `clock` must be a function');
  if (ttlMs === 0) return storage;

  const cache = new ClientCache(storage, ttlMs, maxEntries, clock);
  // Bound to the store itself: stores keep their state in private fields (#db), which only work
  // with the original object as `this`.
  const forward = <K extends RequiredMethod>(name: K): OAuthStorage[K] =>
    storage[name].bind(storage) as OAuthStorage[K];

  // An object literal typed as the port: a method added to the port fails to compile here until
  // it is forwarded.
  const cached: OAuthStorage = {
    createClient: (client) => cache.write(client.id, () => storage.createClient(client)),
    findClient: (id) => cache.find(id),
    updateClient: (id, update, expected) => cache.write(id, () => storage.updateClient(id, update, expected)),
    listClients: forward('listClients'),
    deleteClient: (id) => cache.write(id, () => storage.deleteClient(id)),
    countUnusedClients: forward('countUnusedClients'),
    saveScopes: forward('saveScopes'),
    listScopes: forward('listScopes'),
    saveAuthorizationCode: forward('saveAuthorizationCode'),
    consumeAuthorizationCode: forward('consumeAuthorizationCode'),
    findAuthorizationCode: forward('findAuthorizationCode'),
    redeemAuthorizationCode: forward('redeemAuthorizationCode'),
    listAuthorizationCodes: forward('listAuthorizationCodes'),
    saveDeviceCode: forward('saveDeviceCode'),
    findDeviceCode: forward('findDeviceCode'),
    findDeviceCodeByUserCode: forward('findDeviceCodeByUserCode'),
    decideDeviceCode: forward('decideDeviceCode'),
    recordDeviceCodePoll: forward('recordDeviceCodePoll'),
    redeemDeviceCode: forward('redeemDeviceCode'),
    saveTokens: forward('saveTokens'),
    findAccessToken: forward('findAccessToken'),
    findRefreshToken: forward('findRefreshToken'),
    rotateRefreshToken: forward('rotateRefreshToken'),
    reissueRefreshToken: forward('reissueRefreshToken'),
    revokeAccessToken: forward('revokeAccessToken'),
    revokeFamily: forward('revokeFamily'),
    revokeTokens: forward('revokeTokens'),
    revokeGrant: forward('revokeGrant'),
    saveConsent: forward('saveConsent'),
    findConsent: forward('findConsent'),
    listConsents: forward('listConsents'),
    deleteConsents: forward('deleteConsents'),
    listAccessTokens: forward('listAccessTokens'),
    listGrants: forward('listGrants'),
    saveRequestToken: forward('saveRequestToken'),
    findRequestToken: forward('findRequestToken'),
    authorizeRequestToken: forward('authorizeRequestToken'),
    consumeRequestToken: forward('consumeRequestToken'),
    saveOAuth1AccessToken: forward('saveOAuth1AccessToken'),
    findOAuth1AccessToken: forward('findOAuth1AccessToken'),
    revokeOAuth1AccessTokens: forward('revokeOAuth1AccessTokens'),
    recordNonce: forward('recordNonce'),
    saveSigningKey: forward('saveSigningKey'),
    listSigningKeys: forward('listSigningKeys'),
    retireSigningKey: forward('retireSigningKey'),
    purgeExpired: forward('purgeExpired'),
  };
  return cached;
}

class ClientCache {
  readonly #storage: OAuthStorage;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #clock: () => number;
  // Insertion order is age order: the first key is the oldest entry.
  readonly #entries = new Map<string, Entry>();
  // The lookup each id is waiting on. A write removes it, which is also how a lookup that raced
  // the write learns not to keep what it read: it only stores its result if it is still the
  // lookup registered here when it ends.
  readonly #pending = new Map<string, Promise<Readonly<ClientRecord> | null>>();

  constructor(storage: OAuthStorage, ttlMs: number, maxEntries: number, clock: () => number) {
    this.#storage = storage;
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
    this.#clock = clock;
  }

  async find(id: string): Promise<Readonly<ClientRecord> | null> {
    const entry = this.#entries.get(id);
    if (entry !== undefined) {
      if (this.#clock() < entry.expiresAt) return entry.record;
      this.#entries.delete(id);
    }
    return this.#pending.get(id) ?? this.#lookUp(id);
  }

  /** Runs a write of client `id`, forgetting the id before it (no new lookup joins an old one) and after it (nothing read during it survives). */
  async write<T>(id: string, run: () => Promise<T>): Promise<T> {
    this.#forget(id);
    try {
      return await run();
    } finally {
      this.#forget(id);
    }
  }

  #lookUp(id: string): Promise<Readonly<ClientRecord> | null> {
    // Timed from the start: the record may be as old as the moment the store was asked.
    const expiresAt = this.#clock() + this.#ttlMs;
    const lookup = this.#storage.findClient(id).then(
      (found) => {
        const record = found === null ? null : freezeRecord(found);
        if (this.#pending.get(id) === lookup) {
          this.#pending.delete(id);
          if (record !== null && this.#clock() < expiresAt) this.#store(id, { record, expiresAt });
        }
        return record;
      },
      (error: unknown) => {
        if (this.#pending.get(id) === lookup) this.#pending.delete(id);
        throw error;
      },
    );
    this.#pending.set(id, lookup);
    return lookup;
  }

  #store(id: string, entry: Entry): void {
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }

  #forget(id: string): void {
    this.#entries.delete(id);
    this.#pending.delete(id);
  }
}
