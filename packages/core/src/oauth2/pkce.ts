import { createHash } from 'node:crypto';
import { constantTimeEqual } from '../crypto.js';

export type CodeChallengeMethod = 'S256' | 'plain';

// RFC 7636 section 4.1 and 4.2: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/;

/** Whether the string is a well-formed code_verifier (the code_challenge of `plain` has the same grammar). */
export function isValidCodeVerifier(value: string): boolean {
  return PKCE_VALUE.test(value);
}

/**
 * Whether the string can be a code_challenge. An S256 challenge is always 43 characters of
 * base64url, but the RFC's wider grammar is what the authorization endpoint is told to accept.
 */
export function isValidCodeChallenge(value: string): boolean {
  return PKCE_VALUE.test(value);
}

/** BASE64URL(SHA256(ASCII(code_verifier))), RFC 7636 section 4.2. */
export function computeS256Challenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** Checks a verifier against the stored challenge, in constant time. */
export function verifyCodeVerifier(verifier: string, challenge: string, method: CodeChallengeMethod): boolean {
  if (!isValidCodeVerifier(verifier)) return false;
  const derived = method === 'S256' ? computeS256Challenge(verifier) : verifier;
  return constantTimeEqual(derived, challenge);
}
