import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { describeJwtRefusal, invalidToken, temporarilyUnavailable, verifyJwtAccessToken, type OAuthError, type TokenGrant } from '@portcullis/core';
import type { ResolvedRemoteJwt } from './options.js';
import type { AccessTokenCheck } from './remote-introspection.js';

/**
 * Checks JWT access tokens (RFC 9068 section 4) of a remote authorization server with its
 * published keys alone: the JWK Set named by `jwksUri`, else by the `jwks_uri` of the issuer's
 * RFC 8414 metadata, whose `issuer` must be the one configured (RFC 8414 section 3.3). The
 * metadata is read once, on the first token; jose's remote key set keeps the keys for
 * `cacheMaxAge` and fetches them again when a token names a key it lacks (a rotation), at most
 * once per `cooldown`. Revocation is not seen: a revoked token is accepted until its `exp`.
 * Metadata or keys that cannot be fetched become 503 temporarily_unavailable: the request is
 * refused, never let through.
 */
export function createRemoteJwtVerifier(options: ResolvedRemoteJwt, now: () => Date): AccessTokenCheck {
  let keySet: Promise<JWTVerifyGetKey> | null = null;
  const unavailable = (cause: unknown): OAuthError =>
    temporarilyUnavailable('The keys of the authorization server could not be fetched; try again shortly.', {
      headers: { 'retry-after': '1' },
      cause,
    });

  async function discover(): Promise<JWTVerifyGetKey> {
    const jwksUri = options.jwksUri ?? (await readJwksUri(options));
    return createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: options.timeout,
      cooldownDuration: options.cooldown * 1000,
      cacheMaxAge: options.cacheMaxAge * 1000,
    });
  }

  return async function verifyRemoteJwt(token: string): Promise<TokenGrant> {
    // A failed discovery is tried again by the next request rather than kept.
    keySet ??= discover().catch((error: unknown) => {
      keySet = null;
      throw error;
    });
    let result: Awaited<ReturnType<typeof verifyJwtAccessToken>>;
    try {
      result = await verifyJwtAccessToken(token, {
        getKey: await keySet,
        issuer: options.issuer,
        algorithms: options.algorithms,
        clockTolerance: options.clockTolerance,
        now: now(),
      });
    } catch (error) {
      throw unavailable(error);
    }
    if ('refusal' in result) throw invalidToken(describeJwtRefusal(result.refusal));
    return result.grant;
  };
}

/** The `jwks_uri` of the issuer's metadata, which must name the same issuer. */
async function readJwksUri(options: ResolvedRemoteJwt): Promise<string> {
  const response = await fetch(options.metadataUrl, {
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(options.timeout),
    redirect: 'error',
  });
  if (response.status !== 200) throw new Error(`the authorization server metadata answered ${response.status}`);
  const metadata = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown } | null;
  // RFC 8414 section 3.3: metadata naming another issuer must not be used.
  if (metadata?.issuer !== options.issuer) throw new Error('the authorization server metadata names another issuer');
  const jwksUri = metadata.jwks_uri;
  if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri)) throw new Error('the authorization server metadata has no jwks_uri');
  const protocol = new URL(jwksUri).protocol;
  if (protocol !== 'https:' && (options.requireHttps || protocol !== 'http:')) throw new Error('the jwks_uri is not https');
  return jwksUri;
}
