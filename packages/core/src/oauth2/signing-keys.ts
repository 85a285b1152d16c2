import { calculateJwkThumbprint, errors, exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import type { CryptoKey, JWK, JWTPayload, JWTVerifyGetKey } from 'jose';
import type { SecretBox } from '../crypto.js';
import type { OAuthStorage } from '../storage/port.js';
import type { SigningAlgorithm, SigningKeyRecord } from '../storage/records.js';

export type { SigningAlgorithm } from '../storage/records.js';

/** The algorithms a key ring can make keys for: ECDSA P-256, RSASSA-PKCS1-v1_5 (2048 bits), Ed25519. */
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = Object.freeze(['ES256', 'RS256', 'EdDSA']);

/** `signingKeys` of `createAuthorizationServer`: JWS keys for JWTs the server signs. */
export interface SigningKeysOptions {
  /** The algorithms to keep a key for; the first is what `sign` uses unless told. Default `['ES256']`. */
  algorithms?: SigningAlgorithm[];
  /**
   * Seconds a new key is published before it signs, so verifiers holding a cached JWKS fetch it
   * first. Not less than `refreshInterval`, and best above the JWKS cache time of your verifiers.
   * Default 3600.
   */
  rotationLeadTime?: number;
  /**
   * Rotate automatically when the newest key of an algorithm is this many seconds old. Every
   * server sharing the storage may run the schedule: they settle on one current key per
   * algorithm. Default: off (rotate with `rotate()`).
   */
  rotateEvery?: number;
  /**
   * The longest lifetime, in seconds, of any token signed with these keys: a retired key stays
   * published this long after it stops signing. Default: `accessTokenTtl`.
   */
  maxTokenLifetime?: number;
  /**
   * Seconds the keys are read from storage at most this often: how soon a server sees another
   * server's rotation. Default 30.
   */
  refreshInterval?: number;
}

/** Where a key is in its life at the moment asked. */
export type SigningKeyState =
  /** Published, not yet signing. */
  | 'pending'
  /** The key `sign` uses for its algorithm. */
  | 'current'
  /** No longer signing, still published until the tokens it signed have expired. */
  | 'retired'
  /** No longer published; `purgeExpired` deletes it. */
  | 'expired';

/** A key's public facts, for listings. */
export interface SigningKeyInfo {
  kid: string;
  alg: SigningAlgorithm;
  state: SigningKeyState;
  createdAt: Date;
  activatesAt: Date;
  retiresAt: Date | null;
  expiresAt: Date | null;
}

/** The public part of a published key, as RFC 7517 section 4 names its members. */
export interface PublicSigningJwk extends JWK {
  kid: string;
  alg: SigningAlgorithm;
  use: 'sig';
}

/**
 * The server's JWS signing keys: one current key per algorithm, kept in storage, shared by every
 * server on that storage. Keys are made the first time one is needed.
 */
export interface SigningKeyRing {
  /** The algorithms keys are kept for, the default first. */
  readonly supportedAlgorithms: readonly SigningAlgorithm[];
  /** What `sign` uses when no `alg` is given. */
  readonly defaultAlgorithm: SigningAlgorithm;
  /**
   * Seconds a key stays published after it stops signing: the longest a token it signs may live
   * and still be checked by its `kid`.
   */
  readonly maxTokenLifetime: number;
  /**
   * Signs the claims as a compact JWS (RFC 7515) with the current key of `alg`; the protected
   * header is `{ alg, kid, typ }`. Sets no claim: the caller sets `iss`, `exp` and the rest.
   */
  sign(payload: JWTPayload, options: { typ: string; alg?: SigningAlgorithm }): Promise<string>;
  /** The JWK Set (RFC 7517 section 5) of every published key: public members with `kid`, `alg`, `use`. */
  publicJwks(): Promise<{ keys: PublicSigningJwk[] }>;
  /** The public key of a published key, or null: for checking a token this server signed. */
  verificationKey(kid: string): Promise<CryptoKey | null>;
  /** For `jwtVerify(token, ring.getKey)`: the published key the header's `kid` and `alg` name. */
  readonly getKey: JWTVerifyGetKey;
  /**
   * Makes a new key per algorithm that signs after `rotationLeadTime`, and retires the current
   * one at that moment; the retired key stays published for `maxTokenLifetime` more.
   */
  rotate(): Promise<SigningKeyInfo[]>;
  /** Every stored key with its state, read from storage now. */
  list(): Promise<SigningKeyInfo[]>;
  /** Stops the automatic rotation schedule, if any. */
  stop(): void;
}

/** The resolved options: seconds, filled in. */
export interface ResolvedSigningKeysOptions {
  algorithms: readonly SigningAlgorithm[];
  rotationLeadTime: number;
  rotateEvery: number | null;
  maxTokenLifetime: number;
  refreshInterval: number;
}

export const DEFAULT_ROTATION_LEAD_TIME = 3600;
export const DEFAULT_SIGNING_KEYS_REFRESH_INTERVAL = 30;

/** Checks `options.signingKeys`; throws a TypeError naming the bad member. */
export function resolveSigningKeysOptions(input: SigningKeysOptions, accessTokenTtl: number): ResolvedSigningKeysOptions {
  if (typeof input !== 'object' || input === null) throw new TypeError('options.signingKeys must be an object');
  const algorithms = input.algorithms ?? ['ES256'];
  if (!Array.isArray(algorithms) || algorithms.length === 0 || algorithms.some((alg) => !SIGNING_ALGORITHMS.includes(alg))) {
    throw new TypeError(`options.signingKeys.algorithms must be a non-empty list of ${SIGNING_ALGORITHMS.join(', ')}`);
  }
  const seconds = (name: string, value: number | undefined, fallback: number, minimum: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || value < minimum) {
      throw new TypeError(`options.signingKeys.${name} must be a whole number of seconds, ${minimum} or more`);
    }
    return value;
  };
  const refreshInterval = seconds('refreshInterval', input.refreshInterval, DEFAULT_SIGNING_KEYS_REFRESH_INTERVAL, 1);
  // A key must be seen by every server (and so in every server's JWKS) before any server signs with it.
  const rotationLeadTime = seconds('rotationLeadTime', input.rotationLeadTime, Math.max(DEFAULT_ROTATION_LEAD_TIME, refreshInterval), refreshInterval);
  return Object.freeze({
    algorithms: Object.freeze([...new Set(algorithms)]),
    rotationLeadTime,
    rotateEvery: input.rotateEvery === undefined ? null : seconds('rotateEvery', input.rotateEvery, 0, rotationLeadTime + 1),
    maxTokenLifetime: seconds('maxTokenLifetime', input.maxTokenLifetime, accessTokenTtl, 1),
    refreshInterval,
  });
}

/**
 * Which key signs for `alg` at `now`: among the keys active then (activated, not retired), the
 * one activated last, the greater `kid` on a tie. Every server computes the same answer from the
 * same rows, so servers that rotated at the same moment still agree on one key.
 */
export function pickCurrentKey(records: readonly SigningKeyRecord[], alg: SigningAlgorithm, now: Date): SigningKeyRecord | null {
  let chosen: SigningKeyRecord | null = null;
  for (const record of records) {
    if (record.alg !== alg || record.activatesAt > now) continue;
    if (record.retiresAt !== null && record.retiresAt <= now) continue;
    if (chosen === null || laterKey(record, chosen)) chosen = record;
  }
  return chosen;
}

function laterKey(a: SigningKeyRecord, b: SigningKeyRecord): boolean {
  const difference = a.activatesAt.getTime() - b.activatesAt.getTime();
  return difference > 0 || (difference === 0 && a.kid > b.kid);
}

const isPublished = (record: SigningKeyRecord, now: Date): boolean => record.expiresAt === null || record.expiresAt > now;

// The public members of each key type (RFC 7518 section 6, RFC 8037 section 2): nothing else
// leaves the server, whatever the stored JWK holds.
const PUBLIC_MEMBERS: Record<string, readonly string[]> = { EC: ['kty', 'crv', 'x', 'y'], RSA: ['kty', 'n', 'e'], OKP: ['kty', 'crv', 'x'] };

function publicJwkOf(record: SigningKeyRecord): PublicSigningJwk {
  const stored = JSON.parse(record.publicJwk) as Record<string, unknown>;
  const members = PUBLIC_MEMBERS[String(stored.kty)] ?? [];
  const jwk: Record<string, unknown> = {};
  for (const member of members) if (typeof stored[member] === 'string') jwk[member] = stored[member];
  return { ...jwk, kid: record.kid, alg: record.alg, use: 'sig' } as PublicSigningJwk;
}

/** The key ring of a server: see `SigningKeyRing`. */
export class StoredSigningKeyRing implements SigningKeyRing {
  readonly supportedAlgorithms: readonly SigningAlgorithm[];
  readonly defaultAlgorithm: SigningAlgorithm;
  readonly maxTokenLifetime: number;
  readonly getKey: JWTVerifyGetKey;
  readonly #storage: OAuthStorage;
  readonly #box: SecretBox;
  readonly #clock: () => Date;
  readonly #options: ResolvedSigningKeysOptions;
  #records: readonly SigningKeyRecord[] = [];
  #loadedAt = Number.NEGATIVE_INFINITY;
  #loading: Promise<readonly SigningKeyRecord[]> | null = null;
  #lastMissReload = Number.NEGATIVE_INFINITY;
  // Imported once per key: opening and importing a private key costs far more than a signature.
  readonly #privateKeys = new Map<string, Promise<CryptoKey>>();
  readonly #publicKeys = new Map<string, Promise<CryptoKey>>();
  readonly #creating = new Map<SigningAlgorithm, Promise<void>>();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(storage: OAuthStorage, box: SecretBox, clock: () => Date, options: ResolvedSigningKeysOptions) {
    this.#storage = storage;
    this.#box = box;
    this.#clock = clock;
    this.#options = options;
    this.supportedAlgorithms = options.algorithms;
    this.defaultAlgorithm = options.algorithms[0]!;
    this.maxTokenLifetime = options.maxTokenLifetime;
    this.getKey = async (header) => {
      const key = typeof header.kid === 'string' ? await this.#findPublished(header.kid, true) : null;
      if (key === null || key.alg !== header.alg) throw new errors.JWKSNoMatchingKey();
      return this.#publicKey(key);
    };
    if (options.rotateEvery !== null) {
      // Checked a few times per period, so a schedule missed by a restart is caught up soon.
      const every = Math.min((options.rotateEvery * 1000) / 4, 3_600_000);
      this.#timer = setInterval(() => {
        this.#rotateIfDue().catch(() => {
          // The next tick tries again; signing goes on with the current key meanwhile.
        });
      }, every);
      this.#timer.unref();
    }
  }

  async sign(payload: JWTPayload, options: { typ: string; alg?: SigningAlgorithm }): Promise<string> {
    const alg = options.alg ?? this.defaultAlgorithm;
    if (!this.supportedAlgorithms.includes(alg)) throw new TypeError(`signingKeys: ${alg} is not among the configured algorithms`);
    if (typeof options.typ !== 'string' || options.typ === '') throw new TypeError('sign: options.typ is required');
    const key = await this.#currentKey(alg);
    return new SignJWT(payload).setProtectedHeader({ alg, kid: key.kid, typ: options.typ }).sign(await this.#privateKey(key));
  }

  async publicJwks(): Promise<{ keys: PublicSigningJwk[] }> {
    // Every algorithm gets a key before the set is first served, so verifiers see it before any token.
    for (const alg of this.supportedAlgorithms) await this.#currentKey(alg);
    const now = this.#clock();
    return { keys: (await this.#current()).filter((record) => isPublished(record, now)).map(publicJwkOf) };
  }

  async verificationKey(kid: string): Promise<CryptoKey | null> {
    const key = await this.#findPublished(kid, true);
    return key === null ? null : this.#publicKey(key);
  }

  async rotate(): Promise<SigningKeyInfo[]> {
    return this.#rotate(this.supportedAlgorithms);
  }

  async list(): Promise<SigningKeyInfo[]> {
    const records = await this.#reload();
    const now = this.#clock();
    return records.map((record) => this.#info(record, records, now));
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  async #rotate(algorithms: readonly SigningAlgorithm[]): Promise<SigningKeyInfo[]> {
    const now = this.#clock();
    const activatesAt = new Date(now.getTime() + this.#options.rotationLeadTime * 1000);
    const made: SigningKeyRecord[] = [];
    for (const alg of algorithms) {
      const record = await this.#generate(alg, now, activatesAt);
      await this.#storage.saveSigningKey(record);
      made.push(record);
    }
    const records = await this.#settle();
    return made.map((record) => this.#info(records.find((found) => found.kid === record.kid) ?? record, records, now));
  }

  /** Rotates each algorithm whose newest key is older than `rotateEvery` (or that has none). */
  async #rotateIfDue(): Promise<void> {
    const records = await this.#reload();
    const now = this.#clock().getTime();
    const due = this.supportedAlgorithms.filter((alg) => {
      const newest = Math.max(...records.filter((record) => record.alg === alg).map((record) => record.createdAt.getTime()));
      return now - newest >= this.#options.rotateEvery! * 1000;
    });
    if (due.length > 0) await this.#rotate(due);
  }

  /**
   * Leaves one key per algorithm without a retirement time: the one activated last (then the
   * greater kid). Each other is retired when that one activates, and stays published until every
   * token it may have signed has expired. Every server that saves a key runs this after saving,
   * and the last to read sees every key saved, so servers rotating at once end with one key each.
   */
  async #settle(): Promise<readonly SigningKeyRecord[]> {
    const records = await this.#reload();
    let retired = false;
    for (const alg of this.supportedAlgorithms) {
      const open = records.filter((record) => record.alg === alg && record.retiresAt === null);
      const successor = open.reduce<SigningKeyRecord | null>((best, record) => (best === null || laterKey(record, best) ? record : best), null);
      for (const record of open) {
        if (record === successor) continue;
        const retiresAt = successor!.activatesAt;
        // The cushion covers a server that signed with its cached view until its next read.
        const expiresAt = new Date(retiresAt.getTime() + (this.#options.maxTokenLifetime + this.#options.refreshInterval) * 1000);
        await this.#storage.retireSigningKey(record.kid, { retiresAt, expiresAt });
        retired = true;
      }
    }
    return retired ? this.#reload() : records;
  }

  async #currentKey(alg: SigningAlgorithm): Promise<SigningKeyRecord> {
    let key = pickCurrentKey(await this.#current(), alg, this.#clock());
    // Another server may have made one since the last read: read again before making one.
    key ??= pickCurrentKey(await this.#reload(), alg, this.#clock());
    if (key === null) {
      await this.#createFirst(alg);
      key = pickCurrentKey(this.#records, alg, this.#clock());
    }
    if (key === null) throw new Error(`signingKeys: no ${alg} key is active`);
    return key;
  }

  /**
   * Makes a key that signs at once, for an algorithm with none active: nothing signed with it can
   * exist before it is published. One at a time per algorithm in this server; servers racing here
   * settle as rotations do.
   */
  async #createFirst(alg: SigningAlgorithm): Promise<void> {
    const pending = this.#creating.get(alg);
    if (pending !== undefined) return pending;
    const creating = (async () => {
      const now = this.#clock();
      await this.#storage.saveSigningKey(await this.#generate(alg, now, now));
      await this.#settle();
    })().finally(() => this.#creating.delete(alg));
    this.#creating.set(alg, creating);
    return creating;
  }

  async #generate(alg: SigningAlgorithm, now: Date, activatesAt: Date): Promise<SigningKeyRecord> {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' && { modulusLength: 2048 }) });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
    const privateJwk = await exportJWK(privateKey);
    return {
      kid,
      alg,
      publicJwk: JSON.stringify({ ...publicJwk, kid, alg, use: 'sig' }),
      privateJwkEncrypted: this.#box.encrypt(JSON.stringify(privateJwk)),
      createdAt: now,
      activatesAt,
      retiresAt: null,
      expiresAt: null,
    };
  }

  /** The keys as last read, read again when older than `refreshInterval`. */
  async #current(): Promise<readonly SigningKeyRecord[]> {
    if (this.#clock().getTime() - this.#loadedAt < this.#options.refreshInterval * 1000) return this.#records;
    return this.#reload();
  }

  /** Reads the keys now; concurrent callers share one read. */
  async #reload(): Promise<readonly SigningKeyRecord[]> {
    if (this.#loading !== null) return this.#loading;
    const startedAt = this.#clock().getTime();
    this.#loading = this.#storage
      .listSigningKeys()
      .then((records) => {
        this.#records = Object.freeze(records);
        this.#loadedAt = startedAt;
        const kids = new Set(records.map((record) => record.kid));
        for (const cache of [this.#privateKeys, this.#publicKeys]) for (const kid of cache.keys()) if (!kids.has(kid)) cache.delete(kid);
        return this.#records;
      })
      .finally(() => {
        this.#loading = null;
      });
    return this.#loading;
  }

  /**
   * A published key by kid. An unknown kid reads storage again (a key another server just made),
   * at most once a second, so tokens with made-up kids cannot make every request read storage.
   */
  async #findPublished(kid: string, reloadOnMiss: boolean): Promise<SigningKeyRecord | null> {
    const now = this.#clock();
    const find = (records: readonly SigningKeyRecord[]) => records.find((record) => record.kid === kid && isPublished(record, now)) ?? null;
    const found = find(await this.#current());
    if (found !== null || !reloadOnMiss || now.getTime() - this.#lastMissReload < 1000) return found;
    this.#lastMissReload = now.getTime();
    return find(await this.#reload());
  }

  #privateKey(record: SigningKeyRecord): Promise<CryptoKey> {
    let key = this.#privateKeys.get(record.kid);
    if (key === undefined) {
      let jwk: JWK;
      try {
        jwk = JSON.parse(this.#box.decrypt(record.privateJwkEncrypted)) as JWK;
      } catch (error) {
        throw new Error(`signingKeys: key ${record.kid} does not open with options.secretKey`, { cause: error });
      }
      key = importJWK(jwk, record.alg) as Promise<CryptoKey>;
      this.#privateKeys.set(record.kid, key);
      key.catch(() => this.#privateKeys.delete(record.kid));
    }
    return key;
  }

  #publicKey(record: SigningKeyRecord): Promise<CryptoKey> {
    let key = this.#publicKeys.get(record.kid);
    if (key === undefined) {
      key = importJWK(publicJwkOf(record), record.alg) as Promise<CryptoKey>;
      this.#publicKeys.set(record.kid, key);
      key.catch(() => this.#publicKeys.delete(record.kid));
    }
    return key;
  }

  #info(record: SigningKeyRecord, records: readonly SigningKeyRecord[], now: Date): SigningKeyInfo {
    let state: SigningKeyState;
    if (!isPublished(record, now)) state = 'expired';
    else if (record.activatesAt > now) state = 'pending';
    else if (pickCurrentKey(records, record.alg, now)?.kid === record.kid) state = 'current';
    else state = 'retired';
    const { kid, alg, createdAt, activatesAt, retiresAt, expiresAt } = record;
    return { kid, alg, state, createdAt, activatesAt, retiresAt, expiresAt };
  }
}
