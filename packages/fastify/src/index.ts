import { fastifyPortcullis } from './plugin.js';

export default fastifyPortcullis;
export { fastifyPortcullis } from './plugin.js';
export type {
  ConsentContext,
  ConsentScope,
  EndSession,
  DeviceConsentContext,
  DevicePageContext,
  GetUser,
  LoginHints,
  IntrospectionOptions,
  LoginUrl,
  OAuth1ConsentContext,
  OAuth1Options,
  OAuth2ConsentContext,
  PassThroughOptions,
  PluginOpenIdOptions,
  PortcullisOptions,
  PortcullisOptionsBase,
  RenderConsent,
  RemoteJwtOptions,
  RenderDevicePage,
  ResourceServerOptions,
  UserCodeAttempts,
} from './options.js';
export { CONSENT_FIELDS, DEVICE_FIELDS } from './options.js';
export type {
  DeclaredScope,
  GuardOptions,
  MountedPaths,
  OAuth1Paths,
  OpenIdPaths,
  PortcullisDecorator,
  RequestAuth,
  RequireScope,
  RequireScopeOptions,
  ScopedRoute,
  ScopeGuard,
} from './types.js';
export type { ResourceMetadataOptions } from './protected-resources.js';
export {
  InvalidOptionError,
  InvalidResourceError,
  InvalidScopeError,
  UnknownScopeError,
  NoGetUserError,
  NoIssuerError,
  NoLocalServerError,
  NoLoginUrlError,
  NoSessionError,
  NoStorageError,
  OAuth1SecretKeyError,
  ScopeAutoError,
} from './errors.js';
export { deriveAutoScope } from './scope-auto.js';
export { endpointConfig, type PortcullisEndpoint } from './route-config.js';
export { formatBearerChallenge } from './require-scope.js';
export { sendOAuthError, sendOAuthResponse, toOAuthRequest } from './request-adapter.js';
export {
  escapeHtml,
  renderConsentPage,
  renderDeniedPage,
  renderDevicePage,
  renderErrorPage,
  renderLogoutConfirmPage,
  renderSignedOutPage,
  renderVerifierPage,
} from './html-pages.js';
