import { toOAuthError, type OAuthError } from '../errors.js';
import type { OAuthResponse } from '../http.js';

/** RFC 6749 section 5.1: responses carrying tokens or credentials must not be cached. */
export const NO_STORE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cache-control': 'no-store',
  pragma: 'no-cache',
});

export function createJsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): OAuthResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', ...NO_STORE_HEADERS, ...headers },
    body,
  };
}

/**
 * RFC 6749 section 5.2 from anything thrown: an OAuthError keeps its status and headers, a
 * StorageError becomes 503, anything else a 500 whose body says nothing about the cause.
 */
export function createErrorResponse(thrown: unknown): OAuthResponse {
  const error: OAuthError = toOAuthError(thrown);
  return createJsonResponse(error.status, error.toJSON(), error.headers);
}
