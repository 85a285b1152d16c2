import { createHmac, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { constantTimeEqual } from '../crypto.js';
import { percentEncode } from './percent-encoding.js';

/**
 * The signature methods Portcullis accepts: the three of RFC 5849 section 3.4 and HMAC-SHA256,
 * which most client libraries offer as the same construction with a stronger digest.
 */
export const SIGNATURE_METHODS = ['HMAC-SHA1', 'HMAC-SHA256', 'RSA-SHA1', 'PLAINTEXT'] as const;
export type SignatureMethod = (typeof SIGNATURE_METHODS)[number];

export function isSignatureMethod(value: string): value is SignatureMethod {
  return (SIGNATURE_METHODS as readonly string[]).includes(value);
}

/**
 * The secrets a signature is made or checked with. HMAC and PLAINTEXT use the shared secrets;
 * RSA-SHA1 signs with the consumer's private key and is checked with its public key.
 */
export interface SignatureCredentials {
  consumerSecret?: string;
  /** Empty (or left out) when the request carries no token. */
  tokenSecret?: string;
  /** RSA-SHA1 signing (client side): PEM or KeyObject. */
  privateKey?: string | KeyObject;
  /** RSA-SHA1 verification (server side): PEM or KeyObject. */
  publicKey?: string | KeyObject;
}

/**
 * RFC 5849 section 3.4.2: the HMAC key is the encoded consumer secret and the encoded token
 * secret joined by `&`, the `&` present even when the token secret is empty. PLAINTEXT's
 * signature (section 3.4.4) is this same string.
 */
export function buildSigningKey(consumerSecret: string, tokenSecret = ''): string {
  return `${percentEncode(consumerSecret)}&${percentEncode(tokenSecret)}`;
}

/** HMAC-SHA1 (section 3.4.2) or HMAC-SHA256 over the base string, in base64. */
export function signHmac(
  algorithm: 'sha1' | 'sha256',
  baseString: string,
  consumerSecret: string,
  tokenSecret = '',
): string {
  return createHmac(algorithm, buildSigningKey(consumerSecret, tokenSecret)).update(baseString, 'utf8').digest('base64');
}

/** RSA-SHA1 (section 3.4.3): RSASSA-PKCS1-v1_5 with SHA-1 over the base string, in base64. */
export function signRsaSha1(baseString: string, privateKey: string | KeyObject): string {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  return sign('sha1', Buffer.from(baseString, 'utf8'), key).toString('base64');
}

/** PLAINTEXT (section 3.4.4): the key itself, so it is only safe over TLS. */
export function signPlaintext(consumerSecret: string, tokenSecret = ''): string {
  return buildSigningKey(consumerSecret, tokenSecret);
}

/** Makes the `oauth_signature` value of a request (client side, and tests). */
export function createSignature(method: SignatureMethod, baseString: string, credentials: SignatureCredentials): string {
  switch (method) {
    case 'HMAC-SHA1':
      return signHmac('sha1', baseString, credentials.consumerSecret ?? '', credentials.tokenSecret);
    case 'HMAC-SHA256':
      return signHmac('sha256', baseString, credentials.consumerSecret ?? '', credentials.tokenSecret);
    case 'RSA-SHA1':
      if (credentials.privateKey === undefined) throw new TypeError('RSA-SHA1 needs the private key');
      return signRsaSha1(baseString, credentials.privateKey);
    case 'PLAINTEXT':
      return signPlaintext(credentials.consumerSecret ?? '', credentials.tokenSecret);
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Checks the `oauth_signature` of a request (section 3.2). Shared-secret methods recompute the
 * signature and compare in constant time; RSA-SHA1 verifies with the public key. A key that
 * cannot be parsed, or a signature that is not base64, is a failed check, never an exception.
 */
export function verifySignature(
  method: SignatureMethod,
  baseString: string,
  signature: string,
  credentials: SignatureCredentials,
): boolean {
  if (method === 'RSA-SHA1') {
    if (credentials.publicKey === undefined || signature === '' || !BASE64.test(signature)) return false;
    try {
      const key = typeof credentials.publicKey === 'string' ? createPublicKey(credentials.publicKey) : credentials.publicKey;
      return verify('sha1', Buffer.from(baseString, 'utf8'), key, Buffer.from(signature, 'base64'));
    } catch {
      return false;
    }
  }
  if (credentials.consumerSecret === undefined) return false;
  return constantTimeEqual(createSignature(method, baseString, credentials), signature);
}
