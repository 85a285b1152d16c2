import { tokenDigest } from '../crypto.js';
import { invalidGrant, invalidRequest, type OAuthError } from '../errors.js';
import type { IssuedTokens } from '../server-types.js';
import type { AuthenticatedClient } from './client-authentication.js';
import { lifetimesOf, type ServerContext } from './options.js';
import type { RequestParameters } from './parameters.js';
import { isValidCodeVerifier, verifyCodeVerifier } from './pkce.js';
import { requiresPkce } from './profile.js';
import { matchesRedirectUri } from './redirect-uri.js';
import { narrowAudience, readResourceParameters } from './resource-indicators.js';
import type { AuthorizationCodeRecord, ClientRecord } from '../storage/records.js';
import { addIdToken, emitTokensIssued, mintTokens, revokeForSingleAccessToken } from './token-issuer.js';

/**
 * RFC 6749 section 4.1.3 with RFC 7636 section 4.6. The code is read, checked, and then redeemed:
 * the store marks it consumed and saves its tokens in one transaction, so exactly one request
 * wins, and a request that finds the code consumed also finds the tokens it bought (RFC 6749
 * section 4.1.2: a code used twice was probably stolen, and those tokens are revoked, since the
 * first redeemer may have been the attacker). A failed check by the code's own client spends the
 * code too, which also stops verifier guessing; another client's request changes nothing.
 *
 * Every rule is checked here, on the code as found; the store's redemption only consumes the code
 * if it is still unconsumed and saves the tokens. When it reports that another request consumed
 * the code first, this request is a replay like any other.
 */
export async function exchangeAuthorizationCode(
  context: ServerContext,
  { client }: AuthenticatedClient,
  params: RequestParameters,
): Promise<IssuedTokens> {
  const code = params.require('code');
  const redirectUri = params.get('redirect_uri');
  const requestedResources = readResourceParameters(params);
  const verifier = params.get('code_verifier');
  if (verifier !== undefined && !isValidCodeVerifier(verifier)) {
    throw invalidRequest('The code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9, "-", ".", "_" and "~".');
  }
  const { storage } = context.options;
  const now = context.now();
  const digest = tokenDigest(code);
  const withRefreshToken = client.grantTypes.includes('refresh_token');

  const record = await storage.findAuthorizationCode(digest);
  if (record === null) throw invalidGrant('The authorization code is invalid.');
  // Before anything that writes: a code is no business of a client it was not issued to (RFC 6749
  // section 4.1.3), so presenting it, used or not, neither spends it nor revokes its tokens.
  // Anyone may name a public client's id, so a replay under another id proves nothing.
  if (record.clientId !== client.id) throw otherClientsCode();
  const { familyId } = record;
  const replayed = async (): Promise<never> => {
    const revokedCount = await storage.revokeFamily(familyId, now);
    context.emit({ type: 'authorization_code.replay_detected', clientId: client.id, userId: record.userId, codeId: record.id, familyId, revokedCount });
    throw invalidGrant('The authorization code was already used.');
  };
  if (record.consumedAt !== null) return replayed();
  // RFC 8707 section 2.2: the token may be for fewer of the granted resources, never more. A
  // refusal here spends nothing: the code stays good for a request that asks within the grant.
  const audience = narrowAudience(context, client, record.audience, requestedResources);

  const refusal = checkRedemption(context, client, record, redirectUri, verifier, now);
  if (refusal !== null) {
    await storage.consumeAuthorizationCode(digest, now);
    if (refusal.expired) await context.purgeExpiredLazily();
    throw refusal.error;
  }
  const issuance = {
    clientId: client.id,
    userId: record.userId,
    scope: record.scope,
    audience,
    refreshAudience: record.audience,
    familyId: record.familyId,
    withRefreshToken,
    authTime: record.authTime ?? null,
    lifetimes: lifetimesOf(context, client),
  };
  const minted = await mintTokens(context, issuance, now);
  await addIdToken(context, minted, { client, userId: record.userId, scope: record.scope, nonce: record.nonce ?? null, authTime: record.authTime ?? null }, now);
  await revokeForSingleAccessToken(context, issuance, now);
  if (!(await storage.redeemAuthorizationCode(record.id, now, minted.access, minted.refresh))) return replayed();
  emitTokensIssued(context, 'authorization_code', minted);
  return minted.response;
}

const otherClientsCode = (): OAuthError => invalidGrant('The authorization code was issued to another client.');

/** Why this request may not redeem its own client's code, or null when it may. */
function checkRedemption(
  context: ServerContext,
  client: ClientRecord,
  record: AuthorizationCodeRecord,
  redirectUri: string | undefined,
  verifier: string | undefined,
  now: Date,
): { error: OAuthError; expired?: boolean } | null {
  if (record.expiresAt.getTime() <= now.getTime()) return { error: invalidGrant('The authorization code has expired.'), expired: true };
  if (record.redirectUri !== null) {
    if (redirectUri === undefined) return { error: invalidGrant('The redirect_uri parameter must repeat the one sent to the authorization endpoint.') };
    if (redirectUri !== record.redirectUri) return { error: invalidGrant('The redirect_uri does not match the one sent to the authorization endpoint.') };
  } else if (redirectUri !== undefined && !client.redirectUris.some((uri) => matchesRedirectUri(redirectUri, uri, context.redirectMatching))) {
    return { error: invalidGrant('The redirect_uri is not registered for the client.') };
  }
  if (record.codeChallenge === null) {
    // A code issued without a challenge before the profile asked for one is not redeemed under it.
    if (requiresPkce(context.options.profile, client)) {
      return { error: invalidGrant('The authorization request had no code_challenge, which PKCE requires of this client.') };
    }
    if (verifier !== undefined) return { error: invalidGrant('A code_verifier was sent but the authorization request had no code_challenge.') };
  } else {
    if (verifier === undefined) return { error: invalidGrant('The code_verifier parameter is required: the authorization request had a code_challenge.') };
    if (!verifyCodeVerifier(verifier, record.codeChallenge, record.codeChallengeMethod ?? 'plain')) {
      return { error: invalidGrant('The code_verifier does not match the code_challenge.') };
    }
  }
  return null;
}
