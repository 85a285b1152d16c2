import type { ClientRecord } from '../storage/records.js';

/**
 * Which OAuth the server speaks. `oauth2.1` (draft-ietf-oauth-v2-1, the default) is OAuth 2.0
 * with the security BCP (RFC 9700) made mandatory: PKCE with S256 for every code grant, no
 * implicit grant, no password grant, no bearer token in a query string. `oauth2.0` keeps what
 * RFC 6749 and RFC 6750 allow, each older feature still switched on per option or per client.
 * Both profiles offer the device authorization grant (RFC 8628), an extension grant that OAuth
 * 2.1 keeps: the user approves on the server's own page, and no credential passes a redirect.
 */
export type OAuthProfile = 'oauth2.1' | 'oauth2.0';

export const DEFAULT_PROFILE: OAuthProfile = 'oauth2.1';

/** The features the `oauth2.1` profile removes. */
export type LegacyFeature = 'implicit' | 'password' | 'queryToken' | 'plainPkce';

const REMOVED: Readonly<Record<LegacyFeature, string>> = {
  // RFC 9700 section 2.1.2: the token in the redirect leaks through history and referrers.
  implicit: 'implicit grant (response_type=token)',
  // RFC 9700 section 2.4: the client sees the user's password.
  password: 'password grant',
  // RFC 9700 section 4.3.2 and RFC 6750 section 5.3: a URL ends up in logs and histories.
  queryToken: 'access tokens in a query string',
  // RFC 9700 section 2.1.1: plain gives no protection when the authorization request leaks.
  plainPkce: 'PKCE method plain',
};

/** Checks the `profile` option; throws a TypeError naming it. */
export function resolveProfile(value: unknown): OAuthProfile {
  if (value === undefined) return DEFAULT_PROFILE;
  if (value !== 'oauth2.1' && value !== 'oauth2.0') throw new TypeError(`options.profile must be 'oauth2.1' or 'oauth2.0', not ${JSON.stringify(value)}`);
  return value;
}

/** Why the profile refuses the feature, as a sentence for an error, or null when it allows it. */
export function profileRefusal(profile: OAuthProfile, feature: LegacyFeature): string | null {
  if (profile === 'oauth2.0') return null;
  return `OAuth 2.1 has no ${REMOVED[feature]}; set profile: 'oauth2.0' to allow it`;
}

/**
 * Whether a code request of this client must carry a PKCE challenge: always under OAuth 2.1, for
 * public clients under OAuth 2.0 (RFC 9700 section 2.1.1, RFC 7636 section 1).
 */
export function requiresPkce(profile: OAuthProfile, client: ClientRecord): boolean {
  return profile === 'oauth2.1' || client.type === 'public';
}
