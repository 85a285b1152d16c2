import { constantTimeEqual, digestSecret } from '../crypto.js';
import { invalidClient, invalidRequest, type OAuthError } from '../errors.js';
import type { OAuthRequest } from '../http.js';
import type { ClientRecord } from '../storage/records.js';
import type { ServerContext } from './options.js';
import type { RequestParameters } from './parameters.js';

export type ClientAuthenticationMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

export const CLIENT_AUTHENTICATION_METHODS: readonly ClientAuthenticationMethod[] = ['client_secret_basic', 'client_secret_post', 'none'];

export interface AuthenticatedClient {
  client: ClientRecord;
  method: ClientAuthenticationMethod;
}

interface BasicCredentials {
  clientId: string;
  clientSecret: string;
}

/**
 * RFC 6749 section 2.3: a confidential client proves itself with its secret, in the Basic header
 * or in the form body; a public client only names itself (`none`). Using two methods at once is
 * invalid_request. Every failure is the same 401 invalid_client, so a caller cannot tell an
 * unknown client from a wrong secret; it carries `WWW-Authenticate: Basic` when Basic was tried.
 */
export async function authenticateClient(
  context: ServerContext,
  request: OAuthRequest,
  params: RequestParameters,
): Promise<AuthenticatedClient> {
  const authorization = request.headers['authorization'];
  const usedBasic = authorization !== undefined && /^basic(\s|$)/i.test(authorization);
  const failure = (description: string): OAuthError =>
    invalidClient(description, usedBasic ? { headers: { 'www-authenticate': `Basic realm="${context.realm}"` } } : {});

  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  let clientId: string;
  let secret: string | null;
  let method: ClientAuthenticationMethod;
  if (usedBasic) {
    if (bodySecret !== undefined) throw invalidRequest('The client used more than one authentication method.');
    const basic = parseBasicCredentials(authorization);
    if (basic === null) throw failure('The Basic authorization header is malformed.');
    if (bodyId !== undefined && bodyId !== basic.clientId) {
      throw invalidRequest('The client_id parameter does not match the authenticated client.');
    }
    ({ clientId, clientSecret: secret } = basic);
    method = 'client_secret_basic';
  } else if (bodySecret !== undefined) {
    if (bodyId === undefined) throw failure('The client_secret parameter needs a client_id.');
    clientId = bodyId;
    secret = bodySecret;
    method = 'client_secret_post';
  } else if (bodyId !== undefined) {
    clientId = bodyId;
    secret = null;
    method = 'none';
  } else {
    throw failure('Client authentication is required.');
  }

  const client = await context.options.storage.findClient(clientId);
  if (client === null || client.disabled) {
    // Spend the same digest work as a known client, so timing does not reveal which ids exist.
    if (secret !== null) digestSecret(secret);
    throw failure('Client authentication failed.');
  }
  if (secret === null) {
    if (client.type !== 'public' || client.secretDigest !== null) throw failure('Client authentication failed.');
    return { client, method };
  }
  if (client.secretDigest === null || !constantTimeEqual(digestSecret(secret), client.secretDigest)) {
    throw failure('Client authentication failed.');
  }
  return { client, method };
}

/**
 * RFC 6749 section 2.3.1: the client id and secret are form-urlencoded before Basic encoding, so
 * they are decoded twice. Null when the header is not well-formed.
 */
export function parseBasicCredentials(header: string): BasicCredentials | null {
  const match = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  const clientId = decodeFormComponent(decoded.slice(0, colon));
  const clientSecret = decodeFormComponent(decoded.slice(colon + 1));
  if (clientId === null || clientSecret === null || clientId === '' || clientSecret === '') return null;
  return { clientId, clientSecret };
}

function decodeFormComponent(text: string): string | null {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}
