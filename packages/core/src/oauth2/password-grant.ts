import { invalidGrant } from '../errors.js';
import type { IssuedTokens } from '../server-types.js';
import type { AuthenticatedClient } from './client-authentication.js';
import { lifetimesOf, type ServerContext } from './options.js';
import type { RequestParameters } from './parameters.js';
import { readResourceParameters, resolveAudience } from './resource-indicators.js';
import { resolveRequestedScope } from './scope-policy.js';
import { issueTokenSet } from './token-issuer.js';

/**
 * RFC 6749 section 4.3, for the clients that enable it, through the application's `verifyUser`.
 * The scope and resources are checked before the password, so a bad request costs no password hashing.
 */
export async function exchangePassword(
  context: ServerContext,
  { client }: AuthenticatedClient,
  params: RequestParameters,
): Promise<IssuedTokens> {
  const username = params.require('username');
  const password = params.require('password');
  const scope = resolveRequestedScope(context, client, params.get('scope'));
  const audience = resolveAudience(context, client, readResourceParameters(params));
  const verifyUser = context.verifyUser;
  if (verifyUser === undefined) throw invalidGrant('The password grant is not available.');
  const user = await verifyUser(username, password);
  if (user === null) throw invalidGrant('The username or password is wrong.');
  return issueTokenSet(context, {
    grantType: 'password',
    clientId: client.id,
    lifetimes: lifetimesOf(context, client),
    userId: user.id,
    scope,
    audience,
    withRefreshToken: client.grantTypes.includes('refresh_token'),
  });
}
