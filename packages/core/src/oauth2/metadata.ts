import type { OAuthResponse } from '../http.js';
import type { ServerContext } from './options.js';
import { DEVICE_CODE_GRANT_TYPE } from './device-authorization.js';
import { profileRefusal } from './profile.js';
import { idTokenAlgorithms, supportedClaims } from './openid.js';

/**
 * The RFC 8414 document, built once from the options: it changes only when they do. It offers
 * only what a client can use: without an authorization endpoint only the grants a client reaches
 * at the token endpoint alone (`response_types_supported` stays, empty, as section 2 requires
 * it); the implicit and password grants only where the profile allows them (the password grant
 * also needs `verifyUser`). PKCE is offered as S256 alone, even where `allowPlainPkce` still
 * accepts `plain` from older clients: a client reading the document never picks the weaker one.
 */
export function buildMetadata(context: ServerContext): Record<string, unknown> {
  const { issuer, endpoints, profile } = context.options;
  const base = issuer.endsWith('/') ? issuer.slice(0, -1) : issuer;
  const browser = endpoints.authorization !== null;
  const implicit = browser && profileRefusal(profile, 'implicit') === null;
  const grantTypes = [
    ...(browser ? ['authorization_code'] : []),
    ...(implicit ? ['implicit'] : []),
    'refresh_token',
    'client_credentials',
    ...(context.verifyUser !== undefined && profileRefusal(profile, 'password') === null ? ['password'] : []),
    // RFC 8628: the user approves on the verification page, a browser endpoint.
    ...(browser ? [DEVICE_CODE_GRANT_TYPE] : []),
  ];
  return {
    issuer,
    ...(browser && { authorization_endpoint: base + endpoints.authorization }),
    token_endpoint: base + endpoints.token,
    revocation_endpoint: base + endpoints.revocation,
    introspection_endpoint: base + endpoints.introspection,
    ...(context.registration !== null && { registration_endpoint: base + endpoints.registration }),
    ...(context.signingKeys !== null && { jwks_uri: base + endpoints.jwks }),
    // RFC 8628 section 4.
    ...(browser && { device_authorization_endpoint: base + endpoints.deviceAuthorization }),
    response_types_supported: browser ? (implicit ? ['code', 'token'] : ['code']) : [],
    ...(browser && { response_modes_supported: implicit ? ['query', 'fragment'] : ['query'] }),
    grant_types_supported: grantTypes,
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    ...(browser && { code_challenge_methods_supported: ['S256'] }),
    scopes_supported: context.scopes.list().map((scope) => scope.name),
    // RFC 9207: the `iss` parameter of authorization responses, which only that endpoint sends.
    ...(browser && { authorization_response_iss_parameter_supported: true }),
    // draft-ietf-oauth-client-id-metadata-document: a client may use its document's URL as client_id.
    ...(browser && context.clientMetadata !== null && { client_id_metadata_document_supported: true }),
    ...(browser && buildOpenIdMetadata(context, base)),
  };
}

/**
 * OpenID Connect Discovery 1.0 section 3, when OpenID Connect is on: the fields it adds to the
 * RFC 8414 ones (both documents are the same, as RFC 8414 section 2 registers these names).
 * Request objects and the `claims` parameter are not supported, and say so.
 */
function buildOpenIdMetadata(context: ServerContext, base: string): Record<string, unknown> {
  const { openid } = context;
  if (openid === null) return {};
  const { endpoints } = context.options;
  return {
    userinfo_endpoint: base + endpoints.userinfo,
    end_session_endpoint: base + endpoints.endSession,
    subject_types_supported: [openid.subjectType],
    id_token_signing_alg_values_supported: idTokenAlgorithms(openid),
    claims_supported: supportedClaims(),
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    prompt_values_supported: ['none', 'login', 'consent'],
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

/**
 * `GET /oauth/jwks.json`: the published keys (RFC 7517 section 5). Cacheable for less than the
 * rotation lead time, so a verifier sees a new key before it signs; a verifier meeting an
 * unknown `kid` fetches the set again anyway.
 */
export async function createJwksResponse(context: ServerContext): Promise<OAuthResponse> {
  if (context.signingKeys === null) {
    return { status: 404, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: { error: 'not_found', error_description: 'This server signs no tokens.' } };
  }
  return {
    status: 200,
    headers: { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300' },
    body: await context.signingKeys.publicJwks(),
  };
}
