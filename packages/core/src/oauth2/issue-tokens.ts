import { invalidClient, invalidRequest } from '../errors.js';
import type { IssuedTokens } from '../server-types.js';
import type { ServerContext } from './options.js';
import { grantsScope, parseRequestedScope } from './scope-policy.js';
import { issueTokenSet } from './token-issuer.js';

/**
 * Tokens issued by hand, as oauthost's admin could: for an administrator, not a client, so no
 * client authentication, but the client must exist and the scope stay within its own.
 */
export async function issueTokensByHand(
  context: ServerContext,
  input: { clientId: string; userId: string | null; scope?: string[]; withRefreshToken?: boolean },
): Promise<IssuedTokens> {
  const client = await context.options.storage.findClient(input.clientId);
  if (client === null || client.disabled) throw invalidClient('The client is unknown or disabled.', { status: 400 });
  const scope =
    input.scope === undefined || input.scope.length === 0
      ? client.scopes.filter((name) => context.scopes.has(name))
      : parseRequestedScope(context.scopes, input.scope.join(' '));
  if (!grantsScope(context.scopes, scope, client.scopes)) throw invalidRequest('The scope exceeds what the client may be granted.');
  const withRefreshToken = input.withRefreshToken ?? false;
  if (withRefreshToken && input.userId === null) throw invalidRequest('A refresh token needs a user.');
  return issueTokenSet(context, {
    clientId: client.id,
    userId: input.userId,
    scope,
    withRefreshToken,
  });
}
