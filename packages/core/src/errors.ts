import { percentEncode } from './oauth1/percent-encoding.js';

/**
 * The wire fields of an OAuth error (RFC 6749 section 5.2, RFC 6750 section 3, RFC 5849 problem
 * reporting). Every protocol error the server sends is one of these.
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'unsupported_token_type'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'invalid_token'
  | 'insufficient_scope'
  // RFC 8707 section 2: a resource indicator that is malformed, unknown or not for this client.
  | 'invalid_target'
  // RFC 7591 section 3.2.2: a registration whose redirect URIs or other metadata are refused.
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  // OpenID Connect Core 1.0 section 3.1.2.6: what a request with prompt=none could not do silently.
  | 'interaction_required'
  | 'login_required'
  | 'account_selection_required'
  | 'consent_required'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  // RFC 8628 section 3.5: the device access token response while the user has not finished.
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token'
  // OAuth 1.0a problem codes (the oauth_problem extension RFC 5849 points to).
  | 'parameter_absent'
  | 'parameter_rejected'
  | 'signature_method_rejected'
  | 'signature_invalid'
  | 'consumer_key_unknown'
  | 'consumer_key_rejected'
  | 'token_rejected'
  | 'token_expired'
  | 'token_revoked'
  | 'token_used'
  | 'timestamp_refused'
  | 'nonce_used'
  | 'verifier_invalid'
  | 'version_rejected'
  | 'permission_denied';

export interface OAuthErrorBody {
  error: OAuthErrorCode;
  error_description?: string;
  error_uri?: string;
}

export interface OAuthErrorOptions {
  status?: number;
  description?: string;
  uri?: string;
  /** Extra response headers, e.g. `WWW-Authenticate`. */
  headers?: Record<string, string>;
  /** For `insufficient_scope`: the scope the resource needs. */
  scope?: string;
  cause?: unknown;
}

const DEFAULT_STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  access_denied: 403,
  unsupported_response_type: 400,
  unsupported_token_type: 400,
  server_error: 500,
  temporarily_unavailable: 503,
  invalid_token: 401,
  insufficient_scope: 403,
  invalid_target: 400,
  invalid_redirect_uri: 400,
  invalid_client_metadata: 400,
  interaction_required: 400,
  login_required: 400,
  account_selection_required: 400,
  consent_required: 400,
  request_not_supported: 400,
  request_uri_not_supported: 400,
  authorization_pending: 400,
  slow_down: 400,
  expired_token: 400,
  parameter_absent: 400,
  parameter_rejected: 400,
  signature_method_rejected: 400,
  signature_invalid: 401,
  consumer_key_unknown: 401,
  consumer_key_rejected: 401,
  token_rejected: 401,
  token_expired: 401,
  token_revoked: 401,
  token_used: 401,
  timestamp_refused: 401,
  nonce_used: 401,
  verifier_invalid: 401,
  version_rejected: 400,
  permission_denied: 401,
};

// RFC 6749 section 5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ).
const DESCRIPTION_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
// Long enough for any sentence the server writes; an echoed value longer than this loses its middle.
const MAX_DESCRIPTION_LENGTH = 512;
const DESCRIPTION_HEAD_LENGTH = 384;
const ELISION = '...';

/**
 * A description as it may go on the wire: in a JSON body, a redirect's query or fragment, a
 * `WWW-Authenticate` quoted-string (RFC 6750 section 3) and an OAuth 1.0a problem report. `"`
 * becomes `'`; every other character outside RFC 6749 section 5.2's set (controls, `\\`,
 * non-ASCII) is percent-encoded as UTF-8; and a description longer than 512 characters keeps its
 * start and its end around `...`, so an echoed request value never comes back whole. A text
 * already within these rules is returned unchanged.
 */
export function toErrorDescription(text: string): string {
  if (text.length <= MAX_DESCRIPTION_LENGTH && DESCRIPTION_TEXT.test(text)) return text;
  // Every character gives at least one character of output, so the ends of a long text are all
  // that can show: the middle is never encoded.
  const limit = MAX_DESCRIPTION_LENGTH;
  const pieces = encodeDescriptionPieces(text.length > 2 * limit ? `${text.slice(0, limit)}${text.slice(-limit)}` : text);
  let length = 0;
  for (const piece of pieces) length += piece.length;
  if (length <= limit) return pieces.join('');
  // Whole pieces only, so no escape or UTF-8 sequence is cut in two.
  let head = '';
  let at = 0;
  while (at < pieces.length && head.length + pieces[at]!.length <= DESCRIPTION_HEAD_LENGTH) head += pieces[at++];
  let tail = '';
  let back = pieces.length - 1;
  const tailLength = limit - ELISION.length - head.length;
  while (back >= at && tail.length + pieces[back]!.length <= tailLength) tail = pieces[back--] + tail;
  return `${head}${ELISION}${tail}`;
}

/** The text as output pieces, one per character: itself, `'` for `"`, or its UTF-8 escapes. */
function encodeDescriptionPieces(text: string): string[] {
  const pieces: string[] = [];
  for (const char of text) {
    const code = char.charCodeAt(0);
    if (char === '"') pieces.push("'");
    else if (char.length === 1 && code >= 0x20 && code <= 0x7e && code !== 0x5c) pieces.push(char);
    // Its UTF-8 escapes; a lone surrogate's are U+FFFD's.
    else pieces.push(percentEncode(char));
  }
  return pieces;
}

/**
 * One error class for every protocol error: the wire fields, the HTTP status, headers and cause.
 * Its description (and message) is the given one made wire-ready by `toErrorDescription`.
 *
 * It carries no stack trace: it is an answer to a refused request, not a bug, and floods of
 * refused requests (wrong secrets, bad tokens) made capturing stacks a visible share of CPU. When
 * it wraps a real failure, `cause` keeps that failure's stack.
 */
export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly status: number;
  readonly description: string | undefined;
  readonly uri: string | undefined;
  readonly headers: Record<string, string>;
  readonly scope: string | undefined;

  constructor(error: OAuthErrorCode, options: OAuthErrorOptions = {}) {
    // V8 captures the stack inside Error's constructor, reading the limit there; restored at once,
    // even if super throws, so no other error loses its stack.
    const description = options.description === undefined ? undefined : toErrorDescription(options.description);
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(description ?? error, options.cause === undefined ? undefined : { cause: options.cause });
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    // Assigned, not a field initializer: TypeScript allows super() inside try only without those.
    this.name = 'OAuthError';
    this.error = error;
    this.status = options.status ?? DEFAULT_STATUS[error];
    this.description = description;
    this.uri = options.uri;
    this.headers = options.headers ?? {};
    this.scope = options.scope;
  }

  /** The JSON body of RFC 6749 section 5.2. */
  toJSON(): OAuthErrorBody {
    const body: OAuthErrorBody = { error: this.error };
    if (this.description !== undefined) body.error_description = this.description;
    if (this.uri !== undefined) body.error_uri = this.uri;
    return body;
  }
}

type Factory = (description?: string, options?: Omit<OAuthErrorOptions, 'description'>) => OAuthError;
// The options are copied field by field: spreading them and then adding `description` takes V8's
// slow path, on every refused request.
const factory =
  (code: OAuthErrorCode): Factory =>
  (description, options = {}) =>
    new OAuthError(code, {
      status: options.status,
      description,
      uri: options.uri,
      headers: options.headers,
      scope: options.scope,
      cause: options.cause,
    });

export const invalidRequest = factory('invalid_request');
export const invalidClient = factory('invalid_client');
export const invalidGrant = factory('invalid_grant');
export const unauthorizedClient = factory('unauthorized_client');
export const unsupportedGrantType = factory('unsupported_grant_type');
export const invalidScope = factory('invalid_scope');
export const accessDenied = factory('access_denied');
export const unsupportedResponseType = factory('unsupported_response_type');
export const unsupportedTokenType = factory('unsupported_token_type');
export const serverError = factory('server_error');
export const temporarilyUnavailable = factory('temporarily_unavailable');
export const invalidToken = factory('invalid_token');
export const insufficientScope = factory('insufficient_scope');
export const invalidTarget = factory('invalid_target');
export const invalidRedirectUri = factory('invalid_redirect_uri');
export const invalidClientMetadata = factory('invalid_client_metadata');
export const interactionRequired = factory('interaction_required');
export const loginRequired = factory('login_required');
export const consentRequired = factory('consent_required');
export const requestNotSupported = factory('request_not_supported');
export const requestUriNotSupported = factory('request_uri_not_supported');
export const authorizationPending = factory('authorization_pending');
export const slowDown = factory('slow_down');
export const expiredToken = factory('expired_token');

/**
 * Thrown by a store when the database fails (connection lost, timeout, deadlock). Transports map
 * it to `503 temporarily_unavailable` and never show its message to a client, since driver
 * messages can name hosts, users and SQL.
 */
export class StorageError extends Error {
  override name = 'StorageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Maps anything thrown inside an endpoint to the OAuthError that goes on the wire. */
export function toOAuthError(error: unknown): OAuthError {
  if (error instanceof OAuthError) return error;
  if (error instanceof StorageError) {
    return temporarilyUnavailable('The authorization server cannot reach its storage; try again shortly.', {
      cause: error,
      headers: { 'retry-after': '1' },
    });
  }
  return serverError('The authorization server met an unexpected condition.', { cause: error });
}
