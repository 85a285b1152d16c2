/**
 * The plain request and response of the core. A transport (the Fastify plugin, an Express or
 * node:http adapter) builds an `OAuthRequest` from its own request and writes the result back.
 */
export interface OAuthRequest {
  method: string;
  /** The full request URL as the client addressed it (scheme and host matter for OAuth 1.0a). */
  url: URL;
  /**
   * Header names in lower case. Node's `IncomingMessage.headers` (and so Express's `req.headers`)
   * fits as it is; a header given as an array is read as its values joined with `, `, as Node joins
   * a repeated header, so a repeated `Authorization` never parses as one credential.
   */
  headers: Record<string, string | string[] | undefined>;
  /** The parsed `application/x-www-form-urlencoded` body; undefined for any other content type or none. */
  body?: Record<string, string | string[]> | undefined;
  /** Whether the request came over TLS (or through a trusted proxy that says so). */
  secure: boolean;
}

export interface OAuthResponse {
  status: number;
  headers: Record<string, string>;
  /** A JSON value, or a string for `application/x-www-form-urlencoded` answers (OAuth 1.0a). */
  body: unknown;
}

/** One header of a request as a single string (see `OAuthRequest.headers`). */
export function headerOf(request: Pick<OAuthRequest, 'headers'>, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' || value === undefined ? value : value.join(', ');
}
