import type { OAuthResponse } from '../http.js';
import type { ServerContext } from './options.js';

/**
 * The RFC 8414 document, built once from the options: it changes only when they do. Without an
 * authorization endpoint it offers only the grants a client reaches at the token endpoint alone;
 * `response_types_supported` stays, empty, as section 2 requires it.
 */
export function buildMetadata(context: ServerContext): Record<string, unknown> {
  const { issuer, endpoints, allowPlainPkce } = context.options;
  const base = issuer.endsWith('/') ? issuer.slice(0, -1) : issuer;
  const browser = endpoints.authorization !== null;
  const grantTypes = browser ? ['authorization_code', 'implicit', 'refresh_token', 'client_credentials'] : ['refresh_token', 'client_credentials'];
  if (context.verifyUser !== undefined) grantTypes.push('password');
  return {
    issuer,
    ...(browser && { authorization_endpoint: base + endpoints.authorization }),
    token_endpoint: base + endpoints.token,
    revocation_endpoint: base + endpoints.revocation,
    introspection_endpoint: base + endpoints.introspection,
    response_types_supported: browser ? ['code', 'token'] : [],
    ...(browser && { response_modes_supported: ['query', 'fragment'] }),
    grant_types_supported: grantTypes,
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    ...(browser && { code_challenge_methods_supported: allowPlainPkce ? ['S256', 'plain'] : ['S256'] }),
    scopes_supported: context.scopes.list().map((scope) => scope.name),
    // RFC 9207: the `iss` parameter of authorization responses, which only that endpoint sends.
    ...(browser && { authorization_response_iss_parameter_supported: true }),
  };
}

/** `GET /.well-known/oauth-authorization-server`. Public and cacheable, unlike token responses. */
export function createMetadataResponse(metadata: Record<string, unknown>): OAuthResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' },
    body: metadata,
  };
}
