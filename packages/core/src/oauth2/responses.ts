import { toOAuthError, type OAuthError } from '../errors.js';
import type { OAuthResponse } from '../http.js';

/** RFC 6749 section 5.1: responses carrying tokens or credentials must not be cached. */
export const NO_STORE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'no-store',
  pragma: 'no-cache',
});

export function createJsonResponse(status: number, body: unknown, headers?: Record<string, string>): OAuthResponse {
  // Written out rather than spread from NO_STORE_HEADERS: every JSON answer builds this object.
  // Same names in the same order; `headers` may replace any of them, as a spread would.
  const all: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' };
  if (headers !== undefined) for (const name of Object.keys(headers)) all[name] = headers[name]!;
  return { status, headers: all, body };
}

/**
 * RFC 6749 section 5.2 from anything thrown: an OAuthError keeps its status and headers, a
 * StorageError becomes 503, anything else a 500 whose body says nothing about the cause.
 */
export function createErrorResponse(thrown: unknown): OAuthResponse {
  const error: OAuthError = toOAuthError(thrown);
  return createJsonResponse(error.status, error.toJSON(), error.headers);
}
