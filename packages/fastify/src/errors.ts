import createError from '@fastify/error';

// Configuration errors, thrown at registration so a misconfigured server never starts. The codes
// are stable: applications and tests may match on them.

export const NoStorageError = createError<'FST_PORTCULLIS_NO_STORAGE', [string?]>(
  'FST_PORTCULLIS_NO_STORAGE',
  'The "storage" option is required: pass an OAuthStorage (MemoryStorage or createKyselyStorage(db)).',
);

export const NoIssuerError = createError<'FST_PORTCULLIS_NO_ISSUER', [string]>(
  'FST_PORTCULLIS_NO_ISSUER',
  'The "issuer" option must be an absolute http(s) URL without query or fragment; got %s.',
);

export const NoGetUserError = createError<'FST_PORTCULLIS_NO_GET_USER', [string?]>(
  'FST_PORTCULLIS_NO_GET_USER',
  'The "getUser" option is required: a function (request) => user | null that tells who is logged in.',
);

export const NoLoginUrlError = createError<'FST_PORTCULLIS_NO_LOGIN_URL', [string?]>(
  'FST_PORTCULLIS_NO_LOGIN_URL',
  'The "loginUrl" option is required: a path, or a function (request, returnTo) => string.',
);

export const InvalidOptionError = createError<'FST_PORTCULLIS_INVALID_OPTION', [string, string]>(
  'FST_PORTCULLIS_INVALID_OPTION',
  'The "%s" option %s.',
);

export const InvalidScopeError = createError<'FST_PORTCULLIS_INVALID_SCOPE', [string, string]>(
  'FST_PORTCULLIS_INVALID_SCOPE',
  'requireScope: %s %s.',
);

export const ScopeAutoError = createError<'FST_PORTCULLIS_SCOPE_AUTO', [string, string]>(
  'FST_PORTCULLIS_SCOPE_AUTO',
  'requireScope({ auto: true }) cannot derive a scope from the route %s: %s. Pass { auto: true, app, view } or name the scope.',
);

export const OAuth1SecretKeyError = createError<'FST_PORTCULLIS_OAUTH1_SECRET_KEY', [string?]>(
  'FST_PORTCULLIS_OAUTH1_SECRET_KEY',
  'The "oauth1" option needs the "secretKey" option (32 bytes, or 64 hex or 43 base64url characters): OAuth 1.0a secrets are stored encrypted under it.',
);

export const NoSessionError = createError<'FST_PORTCULLIS_NO_SESSION', [string?]>(
  'FST_PORTCULLIS_NO_SESSION',
  'The authorization endpoints keep the pending request in a session: register @fastify/cookie and @fastify/session before this plugin, or set authorizationEndpoint: false to serve machine clients only.',
);

export const NoLocalServerError = createError<'FST_PORTCULLIS_NO_LOCAL_SERVER', [string]>(
  'FST_PORTCULLIS_NO_LOCAL_SERVER',
  'fastify.oauth.%s needs the "storage" option: this resource server checks tokens at a remote authorization server, where clients and tokens are administered.',
);

export const UnknownScopeError = createError<'FST_PORTCULLIS_UNKNOWN_SCOPE', [string, string]>(
  'FST_PORTCULLIS_UNKNOWN_SCOPE',
  'requireScope names %s, which the scope registry does not define; known scopes: %s. Fix the name, or define the scope in the "scopes" registry before the server is ready.',
);

export const InvalidResourceError = createError<'FST_PORTCULLIS_INVALID_RESOURCE', [string, string]>(
  'FST_PORTCULLIS_INVALID_RESOURCE',
  'The resource identifier %s %s.',
);
