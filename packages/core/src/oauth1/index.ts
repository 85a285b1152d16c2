export { percentEncode, percentDecode } from './percent-encoding.js';
export { buildBaseStringUri, normalizeParameters, buildSignatureBaseString, type ParameterList } from './signature-base-string.js';
export {
  SIGNATURE_METHODS,
  isSignatureMethod,
  buildSigningKey,
  signHmac,
  signRsaSha1,
  signPlaintext,
  createSignature,
  verifySignature,
  type SignatureMethod,
  type SignatureCredentials,
} from './signature-methods.js';
export { parseAuthorizationHeader, formatAuthorizationHeader } from './authorization-header.js';
export {
  collectRequestParameters,
  isFormContentType,
  type ParameterSource,
  type RequestParameters,
} from './protocol-parameters.js';
export { signRequest, type SignRequestInput } from './request-signing.js';
export { createOAuth1Provider } from './oauth1-provider.js';
export type {
  OAuth1ProviderOptions,
  OAuth1Provider,
  OAuth1AuthorizationRequest,
  OAuth1AuthorizeResult,
  OAuth1CompletionResult,
  OAuth1Grant,
} from './oauth1-types.js';
