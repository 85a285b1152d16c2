import { assertValidRedirectUri, GRANT_TYPES as SERVER_GRANT_TYPES, OAuthError, type ClientType, type GrantType, type ResponseType } from '@portcullis/core';
import type { ScopeRegistry } from '@portcullis/scopes';

/** The grant types the admin form and the CLI offer: every one the server supports. */
export const GRANT_TYPES: readonly GrantType[] = SERVER_GRANT_TYPES;

export interface ClientSettings {
  name: string;
  redirectUris: string[];
  /** Where OpenID Connect logout may send the browser back; checked as redirect URIs are. */
  postLogoutRedirectUris?: string[];
  scopes: string[];
  grantTypes: GrantType[];
  type: ClientType;
  oauth1Enabled: boolean;
  rsaPublicKey: string | null;
}

export class ClientSettingsError extends Error {
  override name = 'ClientSettingsError';
}

export function isGrantType(value: string): value is GrantType {
  return (GRANT_TYPES as readonly string[]).includes(value);
}

/** Response types follow the grant types (RFC 7591 section 2.1). */
export function responseTypesFor(grantTypes: readonly GrantType[]): ResponseType[] {
  const types: ResponseType[] = [];
  if (grantTypes.includes('authorization_code')) types.push('code');
  if (grantTypes.includes('implicit')) types.push('token');
  return types;
}

/**
 * Checks a redirect URI with the core's own registration check (`assertValidRedirectUri`, the one
 * `registerClient` runs): absolute, no fragment (RFC 6749 section 3.1.2), no credentials, no
 * whitespace, https (http only on loopback when TLS is enforced) or a native app's private-use
 * scheme (RFC 8252 section 7.1), never a scheme that runs code or reads local data. Every path
 * that stores a redirect URI (the admin's create and edit forms, the CLI) comes through here.
 * Returns the problem, or null.
 */
export function checkRedirectUri(uri: string, enforceSecure: boolean): string | null {
  try {
    assertValidRedirectUri(uri, enforceSecure);
    return null;
  } catch (error) {
    if (error instanceof OAuthError) return error.description ?? `${uri} is not an acceptable redirect URI`;
    throw error;
  }
}

/**
 * Validates settings from a form or the CLI; throws ClientSettingsError naming the first problem.
 * `enforceSecure` is the server's: true outside development.
 */
export function checkClientSettings(settings: ClientSettings, scopes: ScopeRegistry, options: { enforceSecure: boolean }): ClientSettings {
  const name = settings.name.trim();
  if (!name || name.length > 200) throw new ClientSettingsError('a client needs a name of 1 to 200 characters');
  for (const uri of [...settings.redirectUris, ...(settings.postLogoutRedirectUris ?? [])]) {
    const problem = checkRedirectUri(uri, options.enforceSecure);
    if (problem) throw new ClientSettingsError(problem);
  }
  for (const scope of settings.scopes) {
    if (!scopes.has(scope)) throw new ClientSettingsError(`unknown scope ${JSON.stringify(scope)}`);
  }
  for (const grant of settings.grantTypes) {
    if (!isGrantType(grant)) throw new ClientSettingsError(`unknown grant type ${JSON.stringify(grant)}`);
  }
  if (settings.grantTypes.length === 0 && !settings.oauth1Enabled) throw new ClientSettingsError('choose at least one grant type');
  const redirecting = settings.grantTypes.includes('authorization_code') || settings.grantTypes.includes('implicit');
  if (redirecting && settings.redirectUris.length === 0) {
    throw new ClientSettingsError('the authorization code and implicit grants need at least one redirect URI');
  }
  if (settings.type === 'public' && settings.grantTypes.includes('client_credentials')) {
    throw new ClientSettingsError('a public client cannot use client_credentials (it has no secret)');
  }
  if (settings.type === 'public' && settings.oauth1Enabled) {
    throw new ClientSettingsError('OAuth 1.0a needs a consumer secret, so a public client cannot use it');
  }
  const rsaPublicKey = settings.rsaPublicKey?.trim() || null;
  if (rsaPublicKey && !/^-----BEGIN (RSA )?PUBLIC KEY-----[\s\S]+-----END (RSA )?PUBLIC KEY-----$/.test(rsaPublicKey)) {
    throw new ClientSettingsError('the RSA public key must be a PEM block (-----BEGIN PUBLIC KEY-----)');
  }
  return { ...settings, name, rsaPublicKey, redirectUris: [...new Set(settings.redirectUris)],
    postLogoutRedirectUris: [...new Set(settings.postLogoutRedirectUris ?? [])],
    scopes: [...new Set(settings.scopes)] };
}
