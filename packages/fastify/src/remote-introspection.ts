import { digestSecret, invalidToken, temporarilyUnavailable, type OAuthError, type TokenGrant } from '@portcullis/core';
import type { IntrospectionOptions } from './options.js';

/** Checks an access token and says whom it was granted to, or rejects with an `OAuthError`. */
export type AccessTokenCheck = (token: string) => Promise<TokenGrant>;

interface CachedGrant {
  grant: TokenGrant;
  /** Epoch milliseconds after which the answer is asked for again. */
  until: number;
}

/**
 * Checks bearer tokens at a remote authorization server's RFC 7662 introspection endpoint, as a
 * client authenticated with its secret (section 2.1). Active answers are kept for `cacheTtl`
 * seconds at most and never past the token's `exp`, in at most `cacheSize` entries (the oldest
 * leaves first), keyed by the token's digest (the one the stores keep) so no token is held in
 * memory. Inactive answers are not kept; concurrent requests with one token share one
 * introspection. An unreachable server, a failed answer or one that is not RFC 7662 JSON becomes
 * 503 temporarily_unavailable: the request is refused, never let through.
 */
export function createRemoteIntrospection(options: Required<IntrospectionOptions>, now: () => Date): AccessTokenCheck {
  const cache = new Map<string, CachedGrant>();
  const asking = new Map<string, Promise<Record<string, unknown>>>();
  const ttl = options.cacheTtl * 1000;
  // RFC 7662 section 2.1 with RFC 6749 section 2.3.1: both parts form-encoded before Basic.
  const authorization = `Basic ${Buffer.from(
    `${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`,
  ).toString('base64')}`;
  const unavailable = (cause?: unknown): OAuthError =>
    temporarilyUnavailable('The authorization server could not check the access token; try again shortly.', {
      headers: { 'retry-after': '1' },
      ...(cause === undefined ? {} : { cause }),
    });

  async function ask(token: string): Promise<Record<string, unknown>> {
    let response: Response;
    try {
      response = await fetch(options.url, {
        method: 'POST',
        headers: {
          authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        signal: AbortSignal.timeout(options.timeout),
        redirect: 'error',
      });
    } catch (error) {
      throw unavailable(error);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw unavailable(error);
    }
    if (response.status !== 200 || body === null || typeof body !== 'object' || typeof (body as { active?: unknown }).active !== 'boolean') {
      throw unavailable(new Error(`introspection answered ${response.status}`));
    }
    return body as Record<string, unknown>;
  }

  return async function introspect(token: string): Promise<TokenGrant> {
    const key = digestSecret(token);
    const time = now().getTime();
    const cached = cache.get(key);
    if (cached !== undefined) {
      if (cached.until > time) return cached.grant;
      cache.delete(key);
    }
    // Requests carrying one token at the same moment share one question.
    let answer = asking.get(key);
    if (answer === undefined) {
      answer = ask(token).finally(() => asking.delete(key));
      asking.set(key, answer);
    }
    const grant = toGrant(await answer, key, time);
    if (grant === null) throw invalidToken('The access token is invalid, expired or revoked.');
    const until = Math.min(time + ttl, grant.expiresAt.getTime());
    if (until > time) {
      // Map keeps insertion order: the first key is the oldest entry.
      if (cache.size >= options.cacheSize) cache.delete(cache.keys().next().value!);
      cache.set(key, { grant, until });
    }
    return grant;
  };
}

/** The latest time a Date holds (ECMAScript section 21.4.1.1). */
const LATEST_DATE = 8.64e15;

/**
 * The grant an active RFC 7662 answer describes, or null when it is inactive, expired, or not an
 * access token (a refresh token is active at introspection too, but buys no resource).
 */
function toGrant(claims: Record<string, unknown>, digest: string, time: number): TokenGrant | null {
  if (claims.active !== true) return null;
  const { scope, client_id: clientId, sub, exp, token_type: tokenType, jti, aud } = claims;
  if (tokenType !== undefined && (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer')) return null;
  if (typeof clientId !== 'string' || clientId === '') return null;
  if (exp !== undefined && (typeof exp !== 'number' || exp * 1000 <= time)) return null;
  return {
    clientId,
    userId: typeof sub === 'string' ? sub : null,
    scope: typeof scope === 'string' ? scope.split(' ').filter((name) => name !== '') : [],
    // RFC 7662 section 2.2: one audience as a string, several as an array.
    audience: typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((item): item is string => typeof item === 'string') : [],
    // Without `exp` the answer holds for the cache time only.
    expiresAt: new Date(typeof exp === 'number' ? exp * 1000 : LATEST_DATE),
    tokenId: typeof jti === 'string' ? jti : digest,
  };
}
