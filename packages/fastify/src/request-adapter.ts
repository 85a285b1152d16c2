import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  invalidRequest,
  OAuthError,
  StorageError,
  toOAuthError,
  type OAuthRequest,
  type OAuthResponse,
} from '@portcullis/core';

// A host (with an optional port) as RFC 3986 allows it; anything else could make the URL parser
// read a different authority than the one the client addressed.
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&'()*+,;=-]+)(:\d{1,5})?$/;

/** Whether the request body was sent as `application/x-www-form-urlencoded`. */
export function isFormRequest(request: FastifyRequest): boolean {
  const type = request.headers['content-type'];
  // The spelling every client sends, without the lower-casing and splitting below.
  if (type === 'application/x-www-form-urlencoded') return true;
  return type !== undefined && type.toLowerCase().split(';', 1)[0]!.trim() === 'application/x-www-form-urlencoded';
}

/**
 * The core's plain request from Fastify's, for a route that hands the request to a core endpoint
 * (`fastify.oauth.server.handleTokenRequest(toOAuthRequest(request))`). The body is passed on only
 * when it was sent as a form. `secure` is `request.protocol === 'https'`, so Fastify's
 * `trustProxy` alone decides whether `X-Forwarded-Proto` counts. Throws `invalid_request` for a
 * malformed Host header.
 */
export function toOAuthRequest(request: FastifyRequest): OAuthRequest {
  const host = request.host;
  if (!HOST.test(host)) throw invalidRequest('The Host header is malformed.');
  const body =
    isFormRequest(request) && request.body !== null && typeof request.body === 'object'
      ? (request.body as Record<string, string | string[]>)
      : undefined;
  const protocol = request.protocol;
  // Concatenated rather than resolved: a request path of `//evil.example/` must stay a path.
  // `originalUrl` is the request line as the client sent it, before any `rewriteUrl`: OAuth 1.0a
  // signatures cover its path and query (RFC 5849 section 3.4.1.2); the core puts the issuer's
  // origin before them, not this Host header's.
  const href = `${protocol}://${host}${request.originalUrl}`;
  return new AdaptedRequest(request.method, href, singleValuedHeaders(request.headers), body, protocol === 'https');
}

/**
 * A class and not an object literal: V8 builds a literal holding a getter on a slow path, on
 * every request, where a class instance takes the fast one (bench/README.md has the figures).
 */
class AdaptedRequest implements OAuthRequest {
  readonly method: string;
  readonly headers: Record<string, string | undefined>;
  readonly body: Record<string, string | string[]> | undefined;
  readonly secure: boolean;
  readonly #href: string;
  #url: URL | undefined;

  constructor(
    method: string,
    href: string,
    headers: Record<string, string | undefined>,
    body: Record<string, string | string[]> | undefined,
    secure: boolean,
  ) {
    this.method = method;
    this.#href = href;
    this.headers = headers;
    this.body = body;
    this.secure = secure;
  }

  /** Parsed on first read: the OAuth 2 form endpoints never read it, the OAuth 1.0a ones do. */
  get url(): URL {
    return (this.#url ??= new URL(this.#href));
  }
}

/**
 * The headers as the core reads them, one string per name. Node already joins a repeated request
 * header into one value, or keeps the first, for every name but Set-Cookie, a response header: so
 * the request's own object serves, read only, and a copy is made only when a value is still a list.
 */
function singleValuedHeaders(headers: FastifyRequest['headers']): Record<string, string | undefined> {
  for (const name in headers) {
    if (Array.isArray(headers[name])) {
      const joined: Record<string, string | undefined> = {};
      for (const [key, value] of Object.entries(headers)) joined[key] = Array.isArray(value) ? value.join(', ') : value;
      return joined;
    }
  }
  return headers as Record<string, string | undefined>;
}

/** Writes a core endpoint's response (status, headers, JSON or form-encoded body) to the reply. */
export function sendOAuthResponse(reply: FastifyReply, response: OAuthResponse): FastifyReply {
  reply.code(response.status);
  for (const name of Object.keys(response.headers)) reply.header(name, response.headers[name]);
  return reply.send(response.body);
}

/**
 * Maps anything thrown on an OAuth route to the OAuth error of the wire, so no Fastify default
 * error body ever reaches a client: schema failures, unparsable or oversized bodies and other
 * content types are `invalid_request`; storage failures `503 temporarily_unavailable`; anything
 * else `500 server_error`.
 */
export function toWireError(error: unknown): OAuthError {
  if (error instanceof OAuthError || error instanceof StorageError) return toOAuthError(error);
  const fastifyError = error as Partial<FastifyError> | null;
  if (fastifyError?.validation !== undefined) {
    return invalidRequest(`The request is malformed: ${fastifyError.message ?? 'a parameter is invalid'}.`);
  }
  const code = fastifyError?.code;
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || code === 'FST_ERR_CTP_INVALID_TYPE') {
    return invalidRequest('The request body must be application/x-www-form-urlencoded.');
  }
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return invalidRequest('The request body is too large.', { status: 413 });
  }
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return invalidRequest('The request could not be read.');
  }
  return toOAuthError(error);
}

/**
 * Writes an error as RFC 6749 section 5.2 JSON with its status, its headers and
 * `Cache-Control: no-store`. An `OAuthError` goes out as it is; anything else is mapped by
 * `toWireError` first, and logged with its cause when the fault is the server's.
 */
export function sendOAuthError(reply: FastifyReply, error: unknown): FastifyReply {
  let wire: OAuthError;
  if (error instanceof OAuthError) {
    wire = error;
  } else {
    wire = toWireError(error);
    if (wire.status >= 500) reply.log.error({ err: error }, `portcullis: ${wire.error}`);
  }
  reply.code(wire.status);
  for (const name of Object.keys(wire.headers)) reply.header(name, wire.headers[name]);
  reply.header('cache-control', 'no-store');
  return reply.send(wire.toJSON());
}
