import type { FastifyRequest } from 'fastify';

// Query parameters that carry credentials: a log line must never hold a usable one. `oauth_token`
// is an OAuth 1.0a request token on /oauth1/authorize and the callback (RFC 5849 section 2.2):
// with the verifier it buys token credentials, so it is kept out of logs as well.
const SECRET_PARAMETERS = new Set([
  'code',
  'access_token',
  'refresh_token',
  'token',
  'client_secret',
  'password',
  'oauth_token',
  'oauth_verifier',
  'oauth_token_secret',
  'code_verifier',
]);

/** The URL with the values of credential-bearing query parameters replaced. */
export function redactUrl(url: string): string {
  const query = url.indexOf('?');
  if (query === -1) return url;
  const params = url
    .slice(query + 1)
    .split('&')
    .map((pair) => {
      const name = pair.split('=', 1)[0] ?? '';
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // A malformed name is logged as sent; it cannot be one of ours.
      }
      return SECRET_PARAMETERS.has(decoded) ? `${name}=[redacted]` : pair;
    });
  return `${url.slice(0, query)}?${params.join('&')}`;
}

/** Fastify's request log serializer, minus the credentials (codes land on /callback, for one). */
export function serializeRequest(request: FastifyRequest): Record<string, unknown> {
  return { method: request.method, url: redactUrl(request.url), host: request.host, remoteAddress: request.ip };
}
