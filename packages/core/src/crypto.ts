import { createCipheriv, createDecipheriv, createHmac, hash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The random source and the clock are options of the core, so tests can be deterministic.
 * `randomBytes` must be a CSPRNG in production.
 */
export interface Entropy {
  randomBytes(size: number): Uint8Array;
}

/**
 * `crypto.randomBytes` itself: every draw is a fresh buffer from OpenSSL's CSPRNG, and no buffer of
 * this module holds random bytes between calls, so no secret outlives the call that made it and no
 * bug here can hand the same bytes to two tokens.
 */
export const systemEntropy: Entropy = { randomBytes: (size) => randomBytes(size) };

// Secret-scanner friendly prefixes: a leaked credential says what it is.
export const TOKEN_PREFIXES = {
  accessToken: 'pca_',
  refreshToken: 'pcr_',
  authorizationCode: 'pcc_',
  clientSecret: 'pcs_',
  clientId: 'pci_',
  requestToken: 'pcq_',
  oauth1AccessToken: 'pco_',
  oauth1TokenSecret: 'pck_',
  verifier: 'pcv_',
  registrationAccessToken: 'pcg_',
  deviceCode: 'pcd_',
} as const;

export type TokenKind = keyof typeof TOKEN_PREFIXES;

/** A new credential of the kind: its prefix and 256 random bits in base64url. */
export function generateToken(kind: TokenKind, entropy: Entropy = systemEntropy, bytes = 32): string {
  return TOKEN_PREFIXES[kind] + Buffer.from(entropy.randomBytes(bytes)).toString('base64url');
}

// Crockford's base32: its ASCII order is its numeric order, and it has no letter case for a
// case-insensitive collation to fold.
const SORTABLE_ALPHABET = Buffer.from('0123456789ABCDEFGHJKMNPQRSTVWXYZ', 'latin1');
const ID_LENGTH = 26;

/**
 * Writes `count` base32 digits of `value` into `target`, ending just before `end`. The caller owns
 * `target` (a buffer made for one id or token), so no two calls share characters.
 */
function writeBase32(target: Buffer, value: number, end: number, count: number): void {
  let remaining = value;
  for (let index = end - 1; index >= end - count; index -= 1) {
    target[index] = SORTABLE_ALPHABET[remaining % 32]!;
    remaining = Math.floor(remaining / 32);
  }
}

// An id's or a token's time: 48 bits of milliseconds in 10 sortable characters.
const TIME_LENGTH = 10;
const TIME_PATTERN = /^[0-9A-HJKMNP-TV-Z]{10}$/;

/** Writes the time's 10 characters at the start of `target`. */
function writeTime(target: Buffer, time: number): void {
  writeBase32(target, Math.max(0, Math.floor(time)), TIME_LENGTH, TIME_LENGTH);
}

/**
 * A row identifier (not a secret): 48 bits of milliseconds then 80 random bits, 26 characters
 * that sort by creation time (the ULID layout). Time-ordered keys append to the primary-key
 * B-tree instead of landing on random pages, which keeps inserts fast in tables of millions of
 * tokens (InnoDB clusters rows by primary key).
 */
export function generateId(entropy: Entropy = systemEntropy, time: number = Date.now()): string {
  return idFromRandom(entropy.randomBytes(ID_RANDOM_BYTES), time);
}

/** The random bytes of a row id: 80 bits. */
export const ID_RANDOM_BYTES = 10;

/** A row id (see generateId) of the time and the first `ID_RANDOM_BYTES` bytes of `random`. */
export function idFromRandom(random: Uint8Array, time: number): string {
  if (random.length < ID_RANDOM_BYTES) throw new RangeError(`A row id takes ${ID_RANDOM_BYTES} random bytes`);
  // Written a character at a time into a buffer of its own and read out as one string, which
  // builds no intermediate strings.
  const characters = Buffer.alloc(ID_LENGTH);
  writeTime(characters, time);
  // Two groups of 5 bytes, 8 characters each after the time's 10; 40 bits fit a double exactly.
  for (let group = 0; group < 2; group += 1) {
    let bits = 0;
    for (let byte = group * 5; byte < group * 5 + 5; byte += 1) bits = bits * 256 + random[byte]!;
    writeBase32(characters, bits, 10 + (group + 1) * 8, 8);
  }
  return characters.toString('latin1');
}

/** The random bytes of a timed token: 256 bits. */
export const TIMED_TOKEN_RANDOM_BYTES = 32;

/**
 * A credential the store finds by its digest (an access or refresh token, an authorization code):
 * its prefix, the time it was made in an id's 10 sortable characters, then 256 random bits in
 * base64url. The time is not secret; it is there so that `tokenDigest` can put it first.
 */
export function generateTimedToken(kind: TokenKind, entropy: Entropy = systemEntropy, time: number = Date.now()): string {
  return timedTokenFromRandom(kind, entropy.randomBytes(TIMED_TOKEN_RANDOM_BYTES), time);
}

/**
 * A timed token (see generateTimedToken) of the time and the first `TIMED_TOKEN_RANDOM_BYTES`
 * bytes of `random`, which must come from the CSPRNG and serve nothing else.
 */
export function timedTokenFromRandom(kind: TokenKind, random: Uint8Array, time: number): string {
  if (random.length < TIMED_TOKEN_RANDOM_BYTES) throw new RangeError(`A timed token takes ${TIMED_TOKEN_RANDOM_BYTES} random bytes`);
  const secret = Buffer.from(random.buffer, random.byteOffset, TIMED_TOKEN_RANDOM_BYTES).toString('base64url');
  const timeCharacters = Buffer.alloc(TIME_LENGTH);
  writeTime(timeCharacters, time);
  return TOKEN_PREFIXES[kind] + timeCharacters.toString('latin1') + secret;
}

// Every prefix is four characters ('pca_'; a test holds each kind to it). base64url writes four
// characters for every three bytes, unpadded: 43 for the random part.
const PREFIX_LENGTH = 4;
const TIMED_TOKEN_LENGTH = PREFIX_LENGTH + TIME_LENGTH + Math.ceil((TIMED_TOKEN_RANDOM_BYTES * 4) / 3);

/**
 * The key a token, code or refresh token is stored and found under. For one from
 * `generateTimedToken`: its time, then the SHA-256 of the whole token (53 characters). Keys of
 * tokens made together sort together, so a new token's key is appended to the digest index
 * instead of landing on a random page of it (fewer pages written per token, and the part of a
 * large index that recent tokens use stays in cache). The time is
 * covered by the digest, so changing it finds nothing. Any other string (a token made before
 * tokens carried their time, or anything a client sends) is keyed by its digest alone (43
 * characters): found if it was stored so, and never mistaken for a timed key, which is longer.
 */
export function tokenDigest(token: string): string {
  if (token.length === TIMED_TOKEN_LENGTH) {
    const time = token.slice(PREFIX_LENGTH, PREFIX_LENGTH + TIME_LENGTH);
    if (TIME_PATTERN.test(time)) return time + digestSecret(token);
  }
  return digestSecret(token);
}

/**
 * SHA-256 in base64url: how tokens, codes and client secrets are kept. A fast digest is right
 * here because the inputs are 256-bit random values, not passwords: there is nothing to guess.
 */
export function digestSecret(secret: string): string {
  // The one-shot `hash` (Node 20.12+, the engines floor) builds no Hash object, as
  // createHash().update().digest() does; every token, introspection and resource request digests.
  return hash('sha256', secret, 'base64url');
}

/** Constant-time string equality (length is not hidden, which is fine for digests and signatures). */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  if (left.length !== right.length) {
    // Still compare something of equal length so the time does not depend on where they differ.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

/**
 * AES-256-GCM for the secrets that must come back (OAuth 1.0a consumer and token secrets are HMAC
 * keys). The output is `v1.<iv>.<ciphertext+tag>` in base64url; the version names the key scheme
 * so keys can be rotated later.
 */
export class SecretBox {
  readonly #key: Buffer;
  readonly #entropy: Entropy;

  /** `key` is 32 bytes, or a string of 64 hex characters or 43 base64url characters. */
  constructor(key: Uint8Array | string, entropy: Entropy = systemEntropy) {
    const bytes = typeof key === 'string' ? decodeKey(key) : Buffer.from(key);
    if (bytes.length !== 32) throw new TypeError('the secret encryption key must be 32 bytes (AES-256)');
    this.#key = bytes;
    this.#entropy = entropy;
  }

  encrypt(plaintext: string): string {
    const iv = Buffer.from(this.#entropy.randomBytes(12));
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `v1.${iv.toString('base64url')}.${body.toString('base64url')}`;
  }

  /**
   * A keyed digest (HMAC-SHA-256, base64url) of `data` under a key derived from this one for
   * `purpose` alone (HKDF-SHA-256), so the encryption key itself never serves as a MAC key.
   */
  mac(purpose: string, data: string): string {
    const key = Buffer.from(hkdfSync('sha256', this.#key, Buffer.alloc(0), `portcullis ${purpose}`, 32));
    return createHmac('sha256', key).update(data, 'utf8').digest('base64url');
  }

  /** Throws when the value was not made by this key or was altered. */
  decrypt(sealed: string): string {
    const [version, ivText, bodyText] = sealed.split('.');
    if (version !== 'v1' || !ivText || !bodyText) throw new TypeError('not a sealed secret');
    const body = Buffer.from(bodyText, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(ivText, 'base64url'));
    decipher.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
  }
}

function decodeKey(key: string): Buffer {
  if (/^[0-9a-fA-F]{64}$/.test(key)) return Buffer.from(key, 'hex');
  return Buffer.from(key, 'base64url');
}
