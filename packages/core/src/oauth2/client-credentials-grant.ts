import { unauthorizedClient } from '../errors.js';
import type { IssuedTokens } from '../server-types.js';
import type { AuthenticatedClient } from './client-authentication.js';
import { lifetimesOf, type ServerContext } from './options.js';
import type { RequestParameters } from './parameters.js';
import { readResourceParameters, resolveAudience } from './resource-indicators.js';
import { resolveRequestedScope } from './scope-policy.js';
import { issueTokenSet } from './token-issuer.js';

/**
 * RFC 6749 section 4.4: only a client that proved itself with a secret acts on its own behalf;
 * a public client's id alone proves nothing. No refresh token (section 4.4.3).
 */
export async function exchangeClientCredentials(
  context: ServerContext,
  { client, method }: AuthenticatedClient,
  params: RequestParameters,
): Promise<IssuedTokens> {
  if (client.type !== 'confidential' || method === 'none') {
    throw unauthorizedClient('The client_credentials grant is for confidential clients only.');
  }
  const scope = resolveRequestedScope(context, client, params.get('scope'));
  const audience = resolveAudience(context, client, readResourceParameters(params));
  return issueTokenSet(context, {
    grantType: 'client_credentials',
    clientId: client.id,
    lifetimes: lifetimesOf(context, client),
    userId: null,
    scope,
    audience,
    withRefreshToken: false,
  });
}
