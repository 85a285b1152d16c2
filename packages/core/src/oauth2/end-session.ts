import { invalidClient, invalidRequest, toOAuthError } from '../errors.js';
import type { OAuthRequest } from '../http.js';
import type { EndSessionResult } from '../server-types.js';
import type { ClientRecord } from '../storage/records.js';
import { isClientUnusable } from './client-registration.js';
import { findClient } from './find-client.js';
import { readIdTokenHint, subjectFor } from './openid.js';
import type { ServerContext } from './options.js';
import { RequestParameters } from './parameters.js';
import { buildRedirectLocation } from './redirect-uri.js';
import { assertSecureTransport } from './secure-transport.js';

/**
 * OpenID Connect RP-Initiated Logout 1.0 section 2: checks a logout request. Nothing here is
 * sent back by redirect until the client is known and the `post_logout_redirect_uri` is one it
 * registered, character for character (section 3.1); every other error is shown to the user.
 * The logout goes ahead without asking only when the `id_token_hint` names the signed-in user (or
 * nobody is signed in, so there is nothing to end): otherwise any site could sign the user out.
 */
export async function validateEndSessionRequest(context: ServerContext, request: OAuthRequest, userId: string | null): Promise<EndSessionResult> {
  try {
    const openid = context.openid;
    if (openid === null) throw invalidRequest('OpenID Connect is not enabled.', { status: 404 });
    assertSecureTransport(context, request);
    const method = request.method.toUpperCase();
    let params: RequestParameters;
    if (method === 'GET' || method === 'HEAD') params = RequestParameters.fromSearchParams(request.url.searchParams);
    else if (method === 'POST' && request.body !== undefined) params = RequestParameters.fromBody(request.body);
    else if (method === 'POST') throw invalidRequest('The logout endpoint expects application/x-www-form-urlencoded on POST.');
    else throw invalidRequest('The logout endpoint accepts GET and POST only.', { status: 405, headers: { allow: 'GET, POST' } });
    params.assertNoRepeats();

    const hintToken = params.get('id_token_hint');
    const hint = hintToken === undefined ? null : await readIdTokenHint(openid, context.options.issuer, hintToken);
    let clientId = params.get('client_id') ?? null;
    if (hint !== null) {
      if (clientId !== null && !hint.aud.includes(clientId)) throw invalidRequest('The client_id is not the audience of the id_token_hint.');
      if (clientId === null && hint.aud.length === 1) clientId = hint.aud[0]!;
    }
    let client: Readonly<ClientRecord> | null = null;
    if (clientId !== null) {
      client = await findClient(context, clientId, (description) => invalidClient(description, { status: 400 }));
      if (client === null || isClientUnusable(client, context.now())) throw invalidClient('The client is unknown or disabled.', { status: 400 });
    }

    const redirectUri = params.get('post_logout_redirect_uri');
    let location: string | null = null;
    if (redirectUri !== undefined) {
      if (client === null) throw invalidRequest('A post_logout_redirect_uri needs the client named, by client_id or id_token_hint.');
      if (!(client.postLogoutRedirectUris ?? []).includes(redirectUri)) {
        throw invalidRequest('The post_logout_redirect_uri is not registered for the client.');
      }
      location = buildRedirectLocation(redirectUri, { state: params.get('state') ?? null }, 'query');
    }
    const provenByHint = hint !== null && client !== null && userId !== null && subjectFor(openid, client, userId) === hint.sub;
    return {
      kind: 'logout',
      clientId: client?.id ?? null,
      clientName: client?.name ?? null,
      confirm: userId !== null && !provenByHint,
      location,
    };
  } catch (thrown) {
    const error = toOAuthError(thrown);
    return { kind: 'error', status: error.status, error };
  }
}
