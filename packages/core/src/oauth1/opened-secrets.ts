import type { SecretBox } from '../crypto.js';

/**
 * The OAuth 1.0a secrets a provider opened lately, keyed by their sealed text. Every signed
 * request needs the consumer secret and the token secret as HMAC keys, and opening them (a fresh
 * AES-GCM decipher each time) was a visible cost under load. Sealed values embed a random IV, so
 * equal sealed text always holds the same secret. Only values `SecretBox.decrypt` opened get in:
 * a tampered one throws there, every time, as without the cache. Bounded, least recently used
 * first out, so the hot secrets stay and nothing grows without limit.
 */
export class OpenedSecrets {
  readonly #box: SecretBox;
  readonly #maxEntries: number;
  readonly #opened = new Map<string, string>();

  constructor(box: SecretBox, maxEntries = 1000) {
    this.#box = box;
    this.#maxEntries = maxEntries;
  }

  open(sealed: string): string {
    const known = this.#opened.get(sealed);
    if (known !== undefined) {
      // Re-inserted so the Map's order stays least recently used first.
      this.#opened.delete(sealed);
      this.#opened.set(sealed, known);
      return known;
    }
    const secret = this.#box.decrypt(sealed);
    this.#opened.set(sealed, secret);
    if (this.#opened.size > this.#maxEntries) {
      const oldest = this.#opened.keys().next();
      if (!oldest.done) this.#opened.delete(oldest.value);
    }
    return secret;
  }
}
