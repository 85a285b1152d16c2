import { digestSecret } from '../crypto.js';
import { invalidGrant, invalidRequest } from '../errors.js';
import type { IssuedTokens } from '../server-types.js';
import type { AuthenticatedClient } from './client-authentication.js';
import type { ServerContext } from './options.js';
import type { RequestParameters } from './parameters.js';
import { isValidCodeVerifier, verifyCodeVerifier } from './pkce.js';
import { matchesRedirectUri } from './redirect-uri.js';
import { issueTokenSet } from './token-issuer.js';

/** How long a replay waits for a concurrent winner to save its tokens, in real milliseconds. */
const REPLAY_GRACE_MS = 250;
/** A code consumed longer ago than this has surely had its tokens saved already. */
const IN_FLIGHT_WINDOW_MS = 5_000;

/**
 * Consuming the code and saving its tokens are two store operations, so a replay racing the
 * first redemption can revoke the family before the winner's tokens exist. When the code was
 * consumed moments ago, the replay waits briefly and revokes again. Only replays pay the wait.
 */
async function revokeLateTokens(context: ServerContext, familyId: string, consumedAt: Date | null, now: Date): Promise<void> {
  if (consumedAt === null || now.getTime() - consumedAt.getTime() > IN_FLIGHT_WINDOW_MS) return;
  await new Promise((resolve) => setTimeout(resolve, REPLAY_GRACE_MS));
  await context.options.storage.revokeFamily(familyId, context.now());
}

/**
 * RFC 6749 section 4.1.3 with RFC 7636 section 4.6. The code is consumed first, atomically, by
 * the store: checking it and then marking it used would let two concurrent requests both win.
 * A failed redemption therefore spends the code, which also stops verifier guessing.
 */
export async function exchangeAuthorizationCode(
  context: ServerContext,
  { client }: AuthenticatedClient,
  params: RequestParameters,
): Promise<IssuedTokens> {
  const code = params.require('code');
  const redirectUri = params.get('redirect_uri');
  const verifier = params.get('code_verifier');
  if (verifier !== undefined && !isValidCodeVerifier(verifier)) {
    throw invalidRequest('The code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9, "-", ".", "_" and "~".');
  }
  const { storage } = context.options;
  const now = context.now();
  const result = await storage.consumeAuthorizationCode(digestSecret(code), now);
  if (result.status === 'missing') throw invalidGrant('The authorization code is invalid.');
  const record = result.record;
  if (result.status === 'reused') {
    // RFC 6749 section 4.1.2: a code used twice was probably stolen; the tokens it gave are
    // revoked, since the first redeemer may have been the attacker.
    await storage.revokeFamily(record.familyId, now);
    await revokeLateTokens(context, record.familyId, record.consumedAt, now);
    throw invalidGrant('The authorization code was already used.');
  }
  if (record.clientId !== client.id) throw invalidGrant('The authorization code was issued to another client.');
  if (record.expiresAt.getTime() <= now.getTime()) {
    await context.purgeExpiredLazily();
    throw invalidGrant('The authorization code has expired.');
  }
  if (record.redirectUri !== null) {
    if (redirectUri === undefined) throw invalidGrant('The redirect_uri parameter must repeat the one sent to the authorization endpoint.');
    if (redirectUri !== record.redirectUri) throw invalidGrant('The redirect_uri does not match the one sent to the authorization endpoint.');
  } else if (redirectUri !== undefined && !client.redirectUris.some((uri) => matchesRedirectUri(redirectUri, uri))) {
    throw invalidGrant('The redirect_uri is not registered for the client.');
  }
  if (record.codeChallenge === null) {
    if (verifier !== undefined) throw invalidGrant('A code_verifier was sent but the authorization request had no code_challenge.');
  } else {
    if (verifier === undefined) throw invalidGrant('The code_verifier parameter is required: the authorization request had a code_challenge.');
    if (!verifyCodeVerifier(verifier, record.codeChallenge, record.codeChallengeMethod ?? 'plain')) {
      throw invalidGrant('The code_verifier does not match the code_challenge.');
    }
  }
  return issueTokenSet(context, {
    clientId: client.id,
    userId: record.userId,
    scope: record.scope,
    familyId: record.familyId,
    withRefreshToken: client.grantTypes.includes('refresh_token'),
  });
}
