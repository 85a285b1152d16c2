import { constantTimeEqual, digestSecret } from '../crypto.js';
import { invalidClient, invalidRequest, type OAuthError } from '../errors.js';
import type { ClientAuthenticationFailure } from '../events.js';
import { headerOf, type OAuthRequest } from '../http.js';
import type { ClientRecord } from '../storage/records.js';
import { isClientUnusable } from './client-registration.js';
import { findClient } from './find-client.js';
import type { ServerContext } from './options.js';
import type { RequestParameters } from './parameters.js';

export type ClientAuthenticationMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

export const CLIENT_AUTHENTICATION_METHODS: readonly ClientAuthenticationMethod[] = ['client_secret_basic', 'client_secret_post', 'none'];

export interface AuthenticatedClient {
  /** The stored record: read it, do not change it. */
  client: Readonly<ClientRecord>;
  method: ClientAuthenticationMethod;
}

interface BasicCredentials {
  clientId: string;
  clientSecret: string;
}

/** What the request presents, before the client is looked up. */
interface PresentedCredentials extends Attempt {
  clientId: string;
  /** Null for a public client naming itself (`none`). */
  secret: string | null;
  method: ClientAuthenticationMethod;
  usedBasic: boolean;
}

/** What a failed authentication is reported with: as much of the request as could be read. */
interface Attempt {
  clientId: string | null;
  method: ClientAuthenticationMethod | null;
  usedBasic: boolean;
}

/**
 * RFC 6749 section 2.3: a confidential client proves itself with its secret, in the Basic header
 * or in the form body; a public client only names itself (`none`). Using two methods at once is
 * invalid_request. Every failure is the same 401 invalid_client, so a caller cannot tell an
 * unknown client from a wrong secret; it carries `WWW-Authenticate: Basic` when Basic was tried.
 *
 * The secret is compared with the stored digest in constant time. The client comes from
 * `storage.findClient`, whatever store or cache stands behind it.
 */
export async function authenticateClient(
  context: ServerContext,
  request: OAuthRequest,
  params: RequestParameters,
): Promise<AuthenticatedClient> {
  const presented = readCredentials(context, request, params);
  const client = await findClient(context, presented.clientId, (reason) => failure(context, presented, 'metadata_document_refused', reason));
  checkClient(context, presented, client);
  return { client, method: presented.method };
}

function readCredentials(context: ServerContext, request: OAuthRequest, params: RequestParameters): PresentedCredentials {
  const authorization = headerOf(request, 'authorization');
  // The usual spelling first; the regular expression for any other case.
  const usedBasic = authorization !== undefined && (authorization.startsWith('Basic ') || /^basic(\s|$)/i.test(authorization));
  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  if (usedBasic) {
    if (bodySecret !== undefined) throw invalidRequest('The client used more than one authentication method.');
    const basic = parseBasicCredentials(authorization);
    if (basic === null) {
      throw failure(context, { clientId: null, method: 'client_secret_basic', usedBasic }, 'credentials_malformed', 'The Basic authorization header is malformed.');
    }
    if (bodyId !== undefined && bodyId !== basic.clientId) {
      throw invalidRequest('The client_id parameter does not match the authenticated client.');
    }
    return { clientId: basic.clientId, secret: basic.clientSecret, method: 'client_secret_basic', usedBasic };
  }
  if (bodySecret !== undefined) {
    if (bodyId === undefined) {
      throw failure(context, { clientId: null, method: 'client_secret_post', usedBasic }, 'credentials_malformed', 'The client_secret parameter needs a client_id.');
    }
    return { clientId: bodyId, secret: bodySecret, method: 'client_secret_post', usedBasic };
  }
  if (bodyId !== undefined) return { clientId: bodyId, secret: null, method: 'none', usedBasic };
  throw failure(context, { clientId: null, method: null, usedBasic }, 'credentials_missing', 'Client authentication is required.');
}

/** Throws invalid_client unless `client` is enabled and the presented secret (or its absence) fits it. */
function checkClient(
  context: ServerContext,
  presented: PresentedCredentials,
  client: Readonly<ClientRecord> | null,
): asserts client is Readonly<ClientRecord> {
  const { secret } = presented;
  if (client === null || isClientUnusable(client, context.now())) {
    // Spend the same digest work as a known client, so timing does not reveal which ids exist.
    if (secret !== null) digestSecret(secret);
    throw failure(context, presented, client === null ? 'unknown_client' : 'client_disabled', 'Client authentication failed.');
  }
  if (secret === null) {
    if (client.type !== 'public' || client.secretDigest !== null) throw failure(context, presented, 'secret_required', 'Client authentication failed.');
    return;
  }
  if (client.secretDigest === null || !constantTimeEqual(digestSecret(secret), client.secretDigest)) {
    throw failure(context, presented, 'invalid_secret', 'Client authentication failed.');
  }
}

/**
 * The one invalid_client of every failure, and the `client.authentication_failed` event that
 * tells the operator the reason the client is not told. The event names the client id and the
 * method, never the secret.
 */
function failure(context: ServerContext, attempt: Attempt, reason: ClientAuthenticationFailure, description: string): OAuthError {
  context.emit({ type: 'client.authentication_failed', clientId: attempt.clientId, method: attempt.method, reason });
  return invalidClient(description, attempt.usedBasic ? { headers: { 'www-authenticate': `Basic realm="${context.realm}"` } } : {});
}

/**
 * RFC 6749 section 2.3.1: the client id and secret are form-urlencoded before Basic encoding, so
 * they are decoded twice. Null when the header is not well-formed.
 */
export function parseBasicCredentials(header: string): BasicCredentials | null {
  const match = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!match?.[1]) return null;
  const decoded = decodeBase64(match[1]);
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  const clientId = decodeFormComponent(decoded.slice(0, colon));
  const clientSecret = decodeFormComponent(decoded.slice(colon + 1));
  if (clientId === null || clientSecret === null || clientId === '' || clientSecret === '') return null;
  return { clientId, clientSecret };
}

/**
 * Base64 to UTF-8 text, as `Buffer.from(text, 'base64').toString('utf8')` decodes it. `atob` is
 * about twice as fast and gives the same characters when every byte is ASCII, which client ids
 * and generated secrets are; anything else (non-ASCII bytes, input atob refuses such as a length
 * of 4n+1 or misplaced padding, which Buffer decodes leniently) takes Buffer's path.
 */
function decodeBase64(text: string): string {
  try {
    const binary = atob(text);
    if (!NON_ASCII.test(binary)) return binary;
  } catch {
    // atob refused it: Buffer decodes leniently, below.
  }
  return Buffer.from(text, 'base64').toString('utf8');
}

// atob yields one character per byte (0 to 255): the bytes above 127 are the non-ASCII ones.
const NON_ASCII = /[\u0080-\u00ff]/;

function decodeFormComponent(text: string): string | null {
  // Nothing to decode without `+` or `%`: decodeURIComponent would return the text unchanged.
  if (!text.includes('%') && !text.includes('+')) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}
