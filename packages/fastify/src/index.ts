import { portcullis } from './plugin.js';

export default portcullis;
export { portcullis, oauthProvider } from './plugin.js';
export type {
  ConsentContext,
  ConsentScope,
  GetUser,
  LoginUrl,
  PassThroughOptions,
  PortcullisOptions,
  RenderConsent,
} from './options.js';
export { CONSENT_FIELDS } from './options.js';
export type {
  DeclaredScope,
  MountedPaths,
  PortcullisDecorator,
  RequestAuth,
  RequestVerifier,
  RequireScope,
  RequireScopeOptions,
  ScopedRoute,
  ScopeGuard,
} from './types.js';
export {
  InvalidOptionError,
  InvalidScopeError,
  NoGetUserError,
  NoIssuerError,
  NoLoginUrlError,
  NoStorageError,
  ScopeAutoError,
} from './errors.js';
export { deriveAutoScope } from './scope-auto.js';
export { formatBearerChallenge } from './require-scope.js';
export { escapeHtml, renderConsentPage, renderErrorPage } from './html-pages.js';
