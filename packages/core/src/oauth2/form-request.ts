import { invalidRequest } from '../errors.js';
import type { OAuthRequest } from '../http.js';
import type { ServerContext } from './options.js';
import { RequestParameters } from './parameters.js';
import { assertSecureTransport } from './secure-transport.js';

/**
 * The common entry of the token, revocation and introspection endpoints: TLS when enforced,
 * POST, a form body (never the query string, where credentials would land in logs), and no
 * parameter repeated but the `repeatable` ones.
 */
export function readFormParameters(
  context: ServerContext,
  request: OAuthRequest,
  endpoint: string,
  repeatable: readonly string[] = [],
): RequestParameters {
  assertSecureTransport(context, request);
  if (request.method.toUpperCase() !== 'POST') {
    throw invalidRequest(`The ${endpoint} endpoint accepts POST only.`, { status: 405, headers: { allow: 'POST' } });
  }
  if (request.body === undefined) {
    throw invalidRequest(`The ${endpoint} endpoint expects application/x-www-form-urlencoded`);
  }
  const params = RequestParameters.fromBody(request.body);
  params.assertNoRepeats(repeatable);
  return params;
}
