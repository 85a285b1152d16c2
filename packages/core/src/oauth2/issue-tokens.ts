import { recordClientUse } from '../client-use.js';
import { invalidClient, invalidRequest, invalidTarget } from '../errors.js';
import type { IssuedTokens, IssueTokensInput } from '../server-types.js';
import { isClientUnusable } from './client-registration.js';
import { findClient } from './find-client.js';
import { isResourceIndicator, resolveAudience } from './resource-indicators.js';
import { lifetimesOf, type ServerContext } from './options.js';
import { grantsScope, parseRequestedScope } from './scope-policy.js';
import { issueTokenSet } from './token-issuer.js';

/**
 * Tokens issued by hand, as oauthost's admin could: for an administrator, not a client, so no
 * client authentication, but the client must exist, be usable, and the scope stay within its own.
 * The client is found as the endpoints find it (a metadata document included) and its use is
 * recorded as theirs is.
 */
export async function issueTokensByHand(
  context: ServerContext,
  input: IssueTokensInput,
): Promise<IssuedTokens> {
  const client = await findClient(context, input.clientId, (reason) => invalidClient(reason, { status: 400 }));
  if (client === null || isClientUnusable(client, context.now())) throw invalidClient('The client is unknown or disabled.', { status: 400 });
  const scope =
    input.scope === undefined || input.scope.length === 0
      ? client.scopes.filter((name) => context.scopes.has(name))
      : parseRequestedScope(context.scopes, input.scope.join(' '));
  if (!grantsScope(context.scopes, scope, client.scopes)) throw invalidRequest('The scope exceeds what the client may be granted.');
  if (input.resource !== undefined && !Array.isArray(input.resource)) throw invalidRequest('The resource must be a list of resource identifiers.');
  for (const resource of input.resource ?? []) {
    if (!isResourceIndicator(resource)) throw invalidTarget('A resource must be an absolute URI without a fragment (RFC 8707 section 2).');
  }
  const audience = resolveAudience(context, client, [...new Set(input.resource ?? [])]);
  const withRefreshToken = input.withRefreshToken ?? false;
  if (withRefreshToken && input.userId === null) throw invalidRequest('A refresh token needs a user.');
  const tokens = await issueTokenSet(context, {
    grantType: 'manual',
    clientId: client.id,
    lifetimes: lifetimesOf(context, client),
    userId: input.userId,
    scope,
    audience,
    withRefreshToken,
  });
  await recordClientUse(context.options.storage, client, context.now());
  return tokens;
}
