import { recordClientUse } from '../client-use.js';
import { unauthorizedClient, unsupportedGrantType } from '../errors.js';
import type { OAuthRequest, OAuthResponse } from '../http.js';
import type { IssuedTokens } from '../server-types.js';
import type { GrantType } from '../storage/records.js';
import { exchangeAuthorizationCode } from './authorization-code-grant.js';
import { authenticateClient, type AuthenticatedClient } from './client-authentication.js';
import { exchangeClientCredentials } from './client-credentials-grant.js';
import { DEVICE_CODE_GRANT_TYPE, exchangeDeviceCode } from './device-authorization.js';
import type { ServerContext } from './options.js';
import { readFormParameters } from './form-request.js';
import type { RequestParameters } from './parameters.js';
import { exchangePassword } from './password-grant.js';
import { profileRefusal } from './profile.js';
import { exchangeRefreshToken } from './refresh-token-grant.js';
import { createErrorResponse, createJsonResponse } from './responses.js';

type GrantHandler = (context: ServerContext, authenticated: AuthenticatedClient, params: RequestParameters) => Promise<IssuedTokens>;

const GRANT_HANDLERS: ReadonlyMap<string, { grantType: GrantType; handle: GrantHandler }> = new Map([
  ['authorization_code', { grantType: 'authorization_code', handle: exchangeAuthorizationCode }],
  ['refresh_token', { grantType: 'refresh_token', handle: exchangeRefreshToken }],
  ['client_credentials', { grantType: 'client_credentials', handle: exchangeClientCredentials }],
  ['password', { grantType: 'password', handle: exchangePassword }],
  [DEVICE_CODE_GRANT_TYPE, { grantType: DEVICE_CODE_GRANT_TYPE, handle: exchangeDeviceCode }],
]);

/**
 * `POST /oauth/token`: RFC 6749 sections 4.1.3, 4.3.2, 4.4.2 and 6 and RFC 8628 section 3.4,
 * answered as RFC 6749 section 5.1 or 5.2.
 */
export async function handleTokenRequest(context: ServerContext, request: OAuthRequest): Promise<OAuthResponse> {
  // What the refusal event can name, as far as the request got.
  let grantType: string | null = null;
  let clientId: string | null = null;
  try {
    // RFC 8707 section 2: a token request may name several resources.
    const params = readFormParameters(context, request, 'token', ['resource']);
    grantType = params.require('grant_type');
    const grant = GRANT_HANDLERS.get(grantType);
    // The password grant exists only when the application can check passwords, which the OAuth
    // 2.1 profile never lets it.
    const refusal = grant?.grantType === 'password' ? profileRefusal(context.options.profile, 'password') : null;
    if (refusal !== null) throw unsupportedGrantType(`${refusal}.`);
    if (grant === undefined || (grant.grantType === 'password' && context.verifyUser === undefined)) {
      throw unsupportedGrantType(`The grant_type ${JSON.stringify(grantType)} is not supported.`);
    }
    const authenticated = await authenticateClient(context, request, params);
    clientId = authenticated.client.id;
    if (!authenticated.client.grantTypes.includes(grant.grantType)) {
      throw unauthorizedClient(`The client may not use the ${grantType} grant.`);
    }
    // RFC 9700 section 2.4: the password grant is for a confidential client only. A public client
    // names itself (`none`), which proves nothing, whatever grant types its record lists.
    if (grant.grantType === 'password' && authenticated.method === 'none') {
      throw unauthorizedClient('The password grant needs a confidential client authenticated with its secret.');
    }
    const tokens = await grant.handle(context, authenticated, params);
    await recordClientUse(context.options.storage, authenticated.client, context.now());
    return createJsonResponse(200, tokens);
  } catch (thrown) {
    const response = createErrorResponse(thrown);
    const { error } = response.body as { error: string };
    context.emit({ type: 'token.refused', grantType, clientId, error, status: response.status });
    return response;
  }
}

