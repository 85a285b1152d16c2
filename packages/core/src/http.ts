/**
 * The plain request and response of the core. A transport (the Fastify plugin, an Express or
 * node:http adapter) builds an `OAuthRequest` from its own request and writes the result back.
 */
export interface OAuthRequest {
  method: string;
  /** The full request URL as the client addressed it (scheme and host matter for OAuth 1.0a). */
  url: URL;
  /** Header names in lower case. */
  headers: Record<string, string | undefined>;
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
