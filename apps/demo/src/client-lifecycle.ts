import { checkClientLifetime, OAuthError, type ClientRecord } from '@portcullis/core';
import { ClientSettingsError } from './client-form.js';

/** What only an administrator decides about a client: first-party or not, and its own lifetimes. */
export type ClientLifecycle = Required<Pick<ClientRecord, 'skipConsent' | 'accessTokenTtl' | 'refreshTokenTtl' | 'authorizationCodeTtl'>>;

/** The lifetime fields, by the names the form and the CLI use. */
export const LIFETIME_FIELDS = [
  ['accessTokenTtl', 'access_token_ttl', 'access-token-ttl', 'Access token lifetime'],
  ['refreshTokenTtl', 'refresh_token_ttl', 'refresh-token-ttl', 'Refresh token lifetime'],
  ['authorizationCodeTtl', 'authorization_code_ttl', 'code-ttl', 'Authorization code lifetime'],
] as const;

/**
 * A lifetime as typed: empty or `default` for the server's, otherwise whole seconds, checked by
 * the core's own rule (`checkClientLifetime`, the one `registerClient` applies).
 */
export function parseLifetime(name: (typeof LIFETIME_FIELDS)[number][0], text: string | undefined): number | null {
  const trimmed = (text ?? '').trim();
  if (trimmed === '' || trimmed === 'default') return null;
  const value = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  try {
    return checkClientLifetime(name, value);
  } catch (error) {
    if (error instanceof OAuthError) throw new ClientSettingsError(error.description ?? `${name} is not a lifetime`);
    throw error;
  }
}
