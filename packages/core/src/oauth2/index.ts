export { createAuthorizationServer } from './authorization-server.js';
export {
  DEFAULT_ENDPOINTS,
  DEFAULT_ACCESS_TOKEN_TTL,
  DEFAULT_REFRESH_TOKEN_TTL,
  DEFAULT_AUTHORIZATION_CODE_TTL,
  DEFAULT_DEVICE_CODE_TTL,
  DEFAULT_DEVICE_CODE_INTERVAL,
} from './options.js';
export {
  DEVICE_CODE_GRANT_TYPE,
  USER_CODE_ALPHABET,
  USER_CODE_LENGTH,
  formatUserCode,
  normaliseUserCode,
  userCodeDigest,
} from './device-authorization.js';
export { DEFAULT_PROFILE, profileRefusal, resolveProfile, type LegacyFeature, type OAuthProfile } from './profile.js';
export { computeS256Challenge, verifyCodeVerifier, isValidCodeVerifier, isValidCodeChallenge, type CodeChallengeMethod } from './pkce.js';
export { matchesRedirectUri, assertValidRedirectUri, type RedirectMatching, buildRedirectLocation, isUriText, parseLocationUri, toUriText } from './redirect-uri.js';
export { parseBasicCredentials, CLIENT_AUTHENTICATION_METHODS, type ClientAuthenticationMethod } from './client-authentication.js';
export { GRANT_TYPES, DEFAULT_GRANT_TYPES, deriveResponseTypes, checkClientLifetime } from './register-client.js';
export { NO_STORE_HEADERS } from './responses.js';
export type { IntrospectionResponse } from './introspection.js';
export { isResourceIndicator, isAudienceOf, otherAudienceError } from './resource-indicators.js';
export { describeJwtRefusal, isCompactJws, verifyJwtAccessToken, type JwtRefusal } from './resource.js';
export { JWT_ACCESS_TOKEN_TYPE } from './token-issuer.js';
export { isPublicAddress } from './client-metadata-fetch.js';
export {
  SIGNING_ALGORITHMS,
  DEFAULT_ROTATION_LEAD_TIME,
  DEFAULT_SIGNING_KEYS_REFRESH_INTERVAL,
  pickCurrentKey,
  type PublicSigningJwk,
  type SigningKeyInfo,
  type SigningKeyRing,
  type SigningKeysOptions,
  type SigningKeyState,
} from './signing-keys.js';
export { SCOPE_CLAIMS, accessTokenHash, DEFAULT_ID_TOKEN_ALGORITHM } from './openid.js';
