import type { FastifyReply, FastifyRequest } from 'fastify';
import type {
  AuthenticatedUser,
  AuthorizationRequest,
  AuthorizationServerOptions,
  EventListener,
  DeviceAuthorizationRequest,
  OAuth1AuthorizationRequest,
  OAuthStorage,
  OpenIdOptions,
} from '@portcullis/core';
import {
  isResourceIndicator,
  isUriText,
  profileRefusal,
  resolveProfile,
  SIGNING_ALGORITHMS,
  type OAuthProfile,
  type SigningAlgorithm,
} from '@portcullis/core';
import type { ScopeRegistry } from '@portcullis/scopes';
import {
  InvalidOptionError,
  NoGetUserError,
  NoIssuerError,
  NoLoginUrlError,
  NoStorageError,
  OAuth1SecretKeyError,
} from './errors.js';
import type { ResourceMetadataOptions } from './protected-resources.js';

/** A requested scope as the consent page shows it. */
export interface ConsentScope {
  name: string;
  description: string | null;
  /** For an OpenID Connect scope, the claims it shares, in words ("your email address"); else empty. */
  claims: string[];
  /** The user approved this scope for this client before; the others are new to them. */
  granted: boolean;
}

/** What every consent context holds, whichever protocol asks. */
interface ConsentContextBase {
  user: AuthenticatedUser;
  /** The requested scopes with the registry's descriptions, in request order. */
  scopes: ConsentScope[];
  /**
   * Where the decision sends the browser: the host (and port) of the redirect URI or callback, the
   * scheme of a private-use one (`com.example.app:`), null for `oob`. A page shows it beside the
   * client's name, since the name is whatever the client registered (MCP asks for it).
   */
  returnHost: string | null;
  /** Where the form posts: the authorize endpoint of the protocol. */
  action: string;
  /** The value to post as `csrf_token`. */
  csrfToken: string;
  /** The form field names the consent POST reads. */
  fields: typeof CONSENT_FIELDS;
}

/** An OAuth 2 authorization request waiting for the user. */
export interface OAuth2ConsentContext extends ConsentContextBase {
  protocol: 'oauth2';
  authorizationRequest: AuthorizationRequest;
}

/** An OAuth 1.0a request token waiting for the user (RFC 5849 section 2.2). */
export interface OAuth1ConsentContext extends ConsentContextBase {
  protocol: 'oauth1';
  oauth1Request: OAuth1AuthorizationRequest;
}

/** A device authorization (RFC 8628) waiting for the user, who entered its user code. */
export interface DeviceConsentContext extends ConsentContextBase {
  protocol: 'device';
  deviceRequest: DeviceAuthorizationRequest;
}

/**
 * What `renderConsent` gets to draw its own page; `protocol` tells which request is waiting.
 * The form must post these fields back to `action`.
 */
export type ConsentContext = OAuth2ConsentContext | OAuth1ConsentContext | DeviceConsentContext;

export const DEVICE_FIELDS = {
  /** The user code as typed: case and dashes do not matter. */
  userCode: 'user_code',
  csrfToken: 'csrf_token',
} as const;

/**
 * What `renderDevicePage` gets: the form where a signed-in user enters a device's user code
 * (`entry`), or the end of a decision (`done`). The entry form posts `fields` to `action`.
 */
export type DevicePageContext =
  | {
      kind: 'entry';
      user: AuthenticatedUser;
      action: string;
      csrfToken: string;
      /** The code to show in the field: from `verification_uri_complete`, or what was typed. */
      userCode: string;
      /** Why the last code was refused, or null. */
      error: string | null;
      fields: typeof DEVICE_FIELDS;
    }
  | { kind: 'done'; user: AuthenticatedUser; approved: boolean; clientName: string };

export type RenderDevicePage = (request: FastifyRequest, reply: FastifyReply, context: DevicePageContext) => unknown;

/**
 * How many wrong user codes the verification page takes before refusing for `lockout` seconds:
 * per session, and per client address (which a new session does not reset).
 */
export interface UserCodeAttempts {
  /** Default 5. */
  perSession?: number;
  /** Default 20. */
  perAddress?: number;
  /** Seconds. Default 900. */
  lockout?: number;
}

export const CONSENT_FIELDS = {
  /** `approve` or `deny`. */
  decision: 'decision',
  csrfToken: 'csrf_token',
  /** Repeated: the scopes the user kept, read only when `narrowScope` is posted too. */
  grantedScope: 'granted_scope',
  /** Present (any value) when the form offers scope checkboxes, so "none kept" differs from "not offered". */
  narrowScope: 'narrow_scope',
} as const;

/**
 * What the login page is told besides where to return: `prompt: 'login'` when the user must log
 * in again although signed in (OpenID Connect `prompt=login`, `max_age`, or an `id_token_hint`
 * naming someone else), and the client's `login_hint` (an email or username to prefill).
 */
export interface LoginHints {
  prompt?: 'login';
  loginHint?: string;
}

/**
 * A string gets `?next=<returnTo>` appended, and `&prompt=login` and `&login_hint=` when the
 * hints have them; a function builds the URL itself.
 */
export type LoginUrl = string | ((request: FastifyRequest, returnTo: string, hints: LoginHints) => string);

/** Ends the user's session at the application (RP-initiated logout): sign the user out. */
export type EndSession = (request: FastifyRequest, reply: FastifyReply) => void | Promise<void>;

/**
 * OpenID Connect: the core's options (`findAccount`, `keys`, `subjectType`, `idTokenTtl`), and
 * `endSession`, which the logout endpoint calls to sign the user out. Required with the browser
 * endpoints.
 */
export type PluginOpenIdOptions = OpenIdOptions & { endSession?: EndSession };

export type GetUser = (request: FastifyRequest) => AuthenticatedUser | null | Promise<AuthenticatedUser | null>;

export type RenderConsent = (request: FastifyRequest, reply: FastifyReply, context: ConsentContext) => unknown;

/** The OAuth 1.0a settings (RFC 5849); `oauth1: true` takes every default. */
export interface OAuth1Options {
  /** Seconds an `oauth_timestamp` may be off the server's clock, either way. Default 300. */
  timestampWindow?: number;
  /** Seconds temporary credentials (request tokens) live. Default 600. */
  requestTokenTtl?: number;
  /** Seconds token credentials live; null for no expiry. Default null. */
  accessTokenTtl?: number | null;
  /** The realm of `WWW-Authenticate: OAuth realm="..."` on 401 answers. Default: the issuer. */
  realm?: string;
}

/** The names of the pass-through options: `PassThroughOptions` is derived from this list. */
const PASS_THROUGH = [
  'accessTokenTtl',
  'refreshTokenTtl',
  'authorizationCodeTtl',
  'refreshTokenReuseInterval',
  'refreshTokenMaxLifetime',
  'deviceCodeTtl',
  'deviceCodeInterval',
  'deleteExpired',
  'singleAccessToken',
  'profile',
  'allowPlainPkce',
  'allowLocalhostAnyPort',
  'clientIdMetadataDocuments',
  'defaultScopes',
  'resources',
  'verifyUser',
  'findUsername',
  'introspectionPolicy',
  'clock',
  'entropy',
  'registration',
  'signingKeys',
  'openid',
  'accessTokenFormat',
  'jwtAccessTokens',
] as const satisfies readonly (keyof AuthorizationServerOptions)[];

type PassThroughName = (typeof PASS_THROUGH)[number];

/** The core's options the plugin hands to `createAuthorizationServer` unchanged. */
export type PassThroughOptions = Pick<AuthorizationServerOptions, PassThroughName>;

/** The pass-through options the application set: `undefined` must not override the core's defaults. */
export function passThroughOptions(options: PassThroughOptions): Partial<PassThroughOptions> {
  const set: Partial<PassThroughOptions> = {};
  for (const name of PASS_THROUGH) copyDefined(set, options, name);
  return set;
}

function copyDefined<K extends PassThroughName>(target: Partial<PassThroughOptions>, source: PassThroughOptions, name: K): void {
  const value = source[name];
  if (value !== undefined) target[name] = value;
}

/**
 * How a resource server that is not the authorization server checks bearer tokens: RFC 7662
 * introspection at the authorization server, as a client authenticated with its secret.
 */
export interface IntrospectionOptions {
  /** The authorization server's introspection endpoint, e.g. `https://auth.example.com/oauth/introspect`. */
  url: string;
  /** This resource server's client at the authorization server (a confidential client). */
  clientId: string;
  clientSecret: string;
  /**
   * Seconds an active answer is reused, never past the token's `exp`: a revoked token is refused
   * at the latest this long after its revocation. Inactive answers are not kept. Default 30; 0 asks every time.
   */
  cacheTtl?: number;
  /** Most answers kept at once; the oldest leaves first. Default 10000. */
  cacheSize?: number;
  /** Milliseconds to wait for the authorization server before answering 503. Default 5000. */
  timeout?: number;
}

/**
 * How a resource server that is not the authorization server checks JWT access tokens (RFC 9068)
 * by itself: with the keys of the authorization server's JWK Set, found through its RFC 8414
 * metadata (`jwks_uri`). No request to the authorization server per token, so a revoked token
 * is accepted until its `exp`.
 */
export interface RemoteJwtOptions {
  /** The issuer the tokens must name in `iss`, whose metadata names the JWK Set. Default: the plugin's `issuer`. */
  issuer?: string;
  /** The JWK Set URL, when it is not to be read from the issuer's metadata. */
  jwksUri?: string;
  /** The signature algorithms accepted. Default: ES256, RS256, EdDSA. */
  algorithms?: SigningAlgorithm[];
  /** Seconds of clock difference allowed when checking `exp`, `iat` and `nbf`. Default 5. */
  clockTolerance?: number;
  /** Seconds the JWK Set is kept before it is fetched again. Default 600. */
  cacheMaxAge?: number;
  /**
   * Seconds at least between two fetches of the JWK Set when a token names a key not in it (a
   * rotation): limits the fetches a stream of forged key ids can cause. Default 30.
   */
  cooldown?: number;
  /** Milliseconds to wait for the metadata or the JWK Set before answering 503. Default 5000. */
  timeout?: number;
}

/**
 * What `resourceServer` takes besides `true`: RFC 7662 introspection at the authorization
 * server, JWT access tokens checked with its published keys, or both (a JWT is then checked by
 * its keys, any other token by introspection).
 */
export type ResourceServerOptions =
  | { introspection: IntrospectionOptions; jwt?: RemoteJwtOptions }
  | { introspection?: IntrospectionOptions; jwt: RemoteJwtOptions };

/** The resolved `jwt` of `resourceServer`. */
export interface ResolvedRemoteJwt {
  issuer: string;
  /** The issuer's RFC 8414 metadata document, read for `jwks_uri` when `jwksUri` is null. */
  metadataUrl: string;
  jwksUri: string | null;
  algorithms: SigningAlgorithm[];
  clockTolerance: number;
  cacheMaxAge: number;
  cooldown: number;
  timeout: number;
  /** Whether the metadata and JWK Set must be served over https. */
  requireHttps: boolean;
}

/** Every option; `PortcullisOptions` says which ones each setup requires. */
export interface PortcullisOptionsBase extends PassThroughOptions {
  /**
   * Where clients, codes and tokens live. Required, except for a resource server that asks a
   * remote authorization server (`resourceServer: { introspection }`).
   */
  storage?: OAuthStorage;
  /** The scopes the server knows. Default: `createDefaultScopes()` (read, write). */
  scopes?: ScopeRegistry;
  /** The RFC 8414 issuer, an absolute URL such as `https://auth.example.com`. Required. */
  issuer: string;
  /** Where the OAuth 2 endpoints are mounted, below the register prefix. Default `/oauth`. */
  routePrefix?: string;
  /** Who is logged in, or null. Required with the authorization endpoint. */
  getUser?: GetUser;
  /** Where an anonymous user is sent; a string gets `?next=<returnTo>` appended. Required with the authorization endpoint. */
  loginUrl?: LoginUrl;
  /**
   * Mount the browser endpoints: the OAuth 2 authorization endpoint and the OAuth 1.0a authorize
   * step, which keep the pending request in `@fastify/session`. `false` serves machine clients
   * only (token, revocation, introspection, metadata) and needs no session. Default true.
   */
  authorizationEndpoint?: boolean;
  /**
   * Mount no endpoint at all: only `requireScope`, checking tokens in `storage` (`true`), at a
   * remote authorization server by RFC 7662 introspection (`{ introspection }`), or JWT access
   * tokens with the remote server's published keys (`{ jwt }`). Default false.
   */
  resourceServer?: boolean | ResourceServerOptions;
  /** Draws the consent page instead of the built-in one; must send the reply (or return the payload). */
  renderConsent?: RenderConsent;
  /** The session key holding the pending authorization request. Default `portcullis`. */
  sessionKey?: string;
  /** Draws the device verification page (RFC 8628 section 3.3) instead of the built-in one. */
  renderDevicePage?: RenderDevicePage;
  /** The brute-force bounds of the device verification page. */
  userCodeAttempts?: UserCodeAttempts;
  /** Accept `?access_token=` on protected routes (RFC 6750 section 2.3; profile `oauth2.0` only). Default false. */
  allowQueryToken?: boolean;
  /** Development mode: plain HTTP is accepted. Default false. */
  development?: boolean;
  /** Refuse requests that did not come over TLS. Default `!development`. */
  enforceSecure?: boolean;
  /** The key that encrypts OAuth 1.0a secrets (32 bytes, or 64 hex or 43 base64url characters). */
  secretKey?: string | Uint8Array;
  /** Serve OAuth 1.0a (RFC 5849) too; needs `secretKey`. Default false. */
  oauth1?: boolean | OAuth1Options;
  /** Where the OAuth 1.0a endpoints are mounted, below the register prefix. Default `/oauth1`. */
  oauth1RoutePrefix?: string;
  /**
   * The resource identifier (RFC 8707) of the routes whose `requireScope` names none: only bearer
   * tokens issued for it pass them, and its metadata (RFC 9728) is served. Default: the issuer.
   */
  resource?: string;
  /**
   * The audience of tokens requested without a `resource` parameter. Default: `[resource]`, so
   * clients that never send `resource` get tokens for the application's own routes.
   */
  defaultAudience?: string[];
  /** Optional fields of the protected resource metadata, by resource identifier (RFC 9728 section 2). */
  resourceMetadata?: Record<string, ResourceMetadataOptions>;
  /**
   * OpenID Connect Core 1.0 on the code flow: ID tokens, `<routePrefix>/userinfo`,
   * `/.well-known/openid-configuration` and RP-initiated logout at `<routePrefix>/logout`. Off unless given.
   */
  openid?: PluginOpenIdOptions;
  /**
   * Receives every event of the OAuth 2 server and the OAuth 1.0a provider (`PortcullisEvent`:
   * tokens issued, refreshed, revoked, replays, failed client authentications, client changes,
   * consents, refused signatures). Events carry ids, never a token, code or secret. A throw or a
   * rejection is logged at `warn` through the Fastify logger and changes no response.
   */
  onEvent?: EventListener;
}

/**
 * The plugin's options, in one of four setups: an authorization server with browser login
 * (`storage`, `getUser`, `loginUrl`), one for machine clients only (`authorizationEndpoint: false`),
 * or a resource server checking tokens in `storage` (`resourceServer: true`) or at a remote
 * authorization server (`resourceServer: { introspection }`).
 */
export type PortcullisOptions =
  | (PortcullisOptionsBase & {
      storage: OAuthStorage;
      getUser: GetUser;
      loginUrl: LoginUrl;
      authorizationEndpoint?: true;
      resourceServer?: false;
    })
  | (PortcullisOptionsBase & { storage: OAuthStorage; authorizationEndpoint: false; resourceServer?: false })
  | (PortcullisOptionsBase & { storage: OAuthStorage; resourceServer: true })
  | (PortcullisOptionsBase & { resourceServer: ResourceServerOptions });

/** The options with every default filled in, as the plugin's parts use them. */
export interface ResolvedOptions {
  routePrefix: string;
  sessionKey: string;
  allowQueryToken: boolean;
  enforceSecure: boolean;
  realm: string;
  /** Null when no browser endpoint is mounted. */
  browser: { getUser: GetUser; loginUrl: LoginUrl } | null;
  /** Whether the token, revocation, introspection and metadata endpoints are mounted. */
  endpoints: boolean;
  /** The remote introspection a resource server asks, or null. */
  introspection: Required<IntrospectionOptions> | null;
  /** The remote issuer whose JWT access tokens a resource server checks, or null. */
  remoteJwt: ResolvedRemoteJwt | null;
  renderConsent: RenderConsent | undefined;
  renderDevicePage: RenderDevicePage | undefined;
  userCodeAttempts: Required<UserCodeAttempts>;
  /** Null when OAuth 1.0a is off. */
  oauth1: OAuth1Options | null;
  oauth1RoutePrefix: string;
  /** The resource of guards that name none. */
  resource: string;
  defaultAudience: string[];
  resourceMetadata: Readonly<Record<string, ResourceMetadataOptions>>;
  /** Null when OpenID Connect is off; `endSession` null without the browser endpoints. */
  openid: { endSession: EndSession | null } | null;
}

const ROUTE_PREFIX = /^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$/;
const SESSION_KEY = /^[A-Za-z_$][A-Za-z0-9_$.-]*$/;

/** Checks the options at registration, throwing an `@fastify/error` with a stable code. */
export function resolveOptions(options: PortcullisOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw new NoStorageError();
  for (const name of ['allowQueryToken', 'development', 'enforceSecure', 'authorizationEndpoint'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') {
      throw new InvalidOptionError(name, 'must be a boolean');
    }
  }
  const profile = resolvePluginProfile(options.profile);
  const queryRefusal = options.allowQueryToken === true ? profileRefusal(profile, 'queryToken') : null;
  if (queryRefusal !== null) throw new InvalidOptionError('allowQueryToken', `cannot be set: ${queryRefusal}`);
  const enforceSecure = options.enforceSecure ?? !(options.development ?? false);
  const { introspection, remoteJwt } = resolveResourceServer(options.resourceServer, options.issuer, enforceSecure);
  const endpoints = options.resourceServer === undefined || options.resourceServer === false;
  const { storage } = options;
  if (introspection === null && remoteJwt === null && (storage === null || typeof storage !== 'object' || typeof storage.findAccessToken !== 'function')) {
    throw new NoStorageError();
  }
  checkIssuer(options.issuer);
  const browser = endpoints && options.authorizationEndpoint !== false ? resolveBrowser(options) : null;
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') {
    throw new InvalidOptionError('onEvent', 'must be a function (event) => void');
  }
  if (options.renderConsent !== undefined && typeof options.renderConsent !== 'function') {
    throw new InvalidOptionError('renderConsent', 'must be a function (request, reply, context)');
  }
  if (options.renderDevicePage !== undefined && typeof options.renderDevicePage !== 'function') {
    throw new InvalidOptionError('renderDevicePage', 'must be a function (request, reply, context)');
  }
  const userCodeAttempts = resolveUserCodeAttempts(options.userCodeAttempts);
  const routePrefix = options.routePrefix ?? '/oauth';
  if (typeof routePrefix !== 'string' || !ROUTE_PREFIX.test(routePrefix) || routePrefix.endsWith('/')) {
    throw new InvalidOptionError('routePrefix', 'must be empty or a path like "/oauth" (no trailing slash)');
  }
  const sessionKey = options.sessionKey ?? 'portcullis';
  if (typeof sessionKey !== 'string' || !SESSION_KEY.test(sessionKey)) {
    throw new InvalidOptionError('sessionKey', 'must be a plain identifier such as "portcullis"');
  }
  const oauth1 = resolveOAuth1(options);
  const oauth1RoutePrefix = options.oauth1RoutePrefix ?? '/oauth1';
  if (typeof oauth1RoutePrefix !== 'string' || !ROUTE_PREFIX.test(oauth1RoutePrefix) || oauth1RoutePrefix.endsWith('/')) {
    throw new InvalidOptionError('oauth1RoutePrefix', 'must be empty or a path like "/oauth1" (no trailing slash)');
  }
  if (oauth1 !== null && oauth1RoutePrefix === routePrefix) {
    // Both protocols have an `/authorize`: one prefix would mount two routes on one path.
    throw new InvalidOptionError('oauth1RoutePrefix', 'must differ from routePrefix');
  }
  // The realm of the challenges is the issuer, as the core's own challenges say.
  const realm = options.issuer.replace(/["\\]/g, '');
  const resource = options.resource ?? options.issuer;
  if (!isResourceIndicator(resource)) throw new InvalidOptionError('resource', 'must be an absolute URI without a fragment (RFC 8707)');
  const defaultAudience = options.defaultAudience ?? [resource];
  if (!Array.isArray(defaultAudience) || !defaultAudience.every((item) => isResourceIndicator(item))) {
    throw new InvalidOptionError('defaultAudience', 'must be an array of absolute URIs without a fragment (RFC 8707)');
  }
  const resourceMetadata = options.resourceMetadata ?? {};
  if (resourceMetadata === null || typeof resourceMetadata !== 'object' || Array.isArray(resourceMetadata)) {
    throw new InvalidOptionError('resourceMetadata', 'must be an object keyed by resource identifier');
  }
  for (const [key, fields] of Object.entries(resourceMetadata)) {
    if (fields === null || typeof fields !== 'object' || !Object.values(fields).every((value) => typeof value === 'string')) {
      throw new InvalidOptionError('resourceMetadata', `for ${JSON.stringify(key)} must be { name?, documentation?, policyUri?, tosUri? } of strings`);
    }
  }
  const openid = resolveOpenIdOptions(options.openid, browser !== null);
  return {
    routePrefix,
    sessionKey,
    openid,
    allowQueryToken: options.allowQueryToken ?? false,
    enforceSecure,
    realm,
    browser,
    endpoints,
    introspection,
    remoteJwt,
    renderConsent: options.renderConsent,
    renderDevicePage: options.renderDevicePage,
    userCodeAttempts,
    oauth1,
    oauth1RoutePrefix,
    resource,
    defaultAudience: [...defaultAudience],
    resourceMetadata,
  };
}

/** The plugin's part of the `openid` option; the core checks the rest. */
function resolveOpenIdOptions(value: PluginOpenIdOptions | undefined, browser: boolean): ResolvedOptions['openid'] {
  if (value === undefined) return null;
  if (value === null || typeof value !== 'object') throw new InvalidOptionError('openid', 'must be an object { findAccount, keys, endSession, subjectType? }');
  if (value.endSession !== undefined && typeof value.endSession !== 'function') {
    throw new InvalidOptionError('openid', 'endSession must be a function (request, reply) that signs the user out');
  }
  if (browser && value.endSession === undefined) {
    throw new InvalidOptionError('openid', 'endSession is required with the authorization endpoint: RP-initiated logout signs the user out through it');
  }
  return { endSession: value.endSession ?? null };
}

function resolveUserCodeAttempts(input: UserCodeAttempts | undefined): Required<UserCodeAttempts> {
  if (input !== undefined && (input === null || typeof input !== 'object')) {
    throw new InvalidOptionError('userCodeAttempts', 'must be an object { perSession?, perAddress?, lockout? }');
  }
  const resolved = { perSession: 5, perAddress: 20, lockout: 900, ...input };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new InvalidOptionError('userCodeAttempts', `.${name} must be a whole number, 1 or more`);
  }
  return resolved;
}

/** The core's profile check, as a registration error; a resource server without storage needs it too. */
function resolvePluginProfile(value: unknown): OAuthProfile {
  try {
    return resolveProfile(value);
  } catch {
    throw new InvalidOptionError('profile', "must be 'oauth2.1' or 'oauth2.0'");
  }
}

/** Who is signed in and where to sign in: what the browser endpoints need. */
function resolveBrowser(options: PortcullisOptions): { getUser: GetUser; loginUrl: LoginUrl } {
  const { getUser, loginUrl } = options;
  if (typeof getUser !== 'function') throw new NoGetUserError();
  if (typeof loginUrl !== 'function' && (typeof loginUrl !== 'string' || loginUrl === '')) {
    throw new NoLoginUrlError();
  }
  // It becomes a Location header: RFC 3986 characters only, as every redirect of the plugin.
  if (typeof loginUrl === 'string' && !isUriText(loginUrl)) {
    throw new InvalidOptionError('loginUrl', 'must be written in RFC 3986 characters (percent-encode anything else)');
  }
  return { getUser, loginUrl };
}

const RESOURCE_SERVER_SHAPE =
  'must be a boolean or { introspection?: { url, clientId, clientSecret, cacheTtl?, cacheSize?, timeout? }, jwt?: { issuer?, jwksUri?, ... } } with at least one of them';

/** The remote checks of a resource server; both null when tokens are looked up in `storage`. */
function resolveResourceServer(
  value: PortcullisOptions['resourceServer'],
  issuer: unknown,
  enforceSecure: boolean,
): { introspection: Required<IntrospectionOptions> | null; remoteJwt: ResolvedRemoteJwt | null } {
  if (value === undefined || typeof value === 'boolean') return { introspection: null, remoteJwt: null };
  if (value === null || typeof value !== 'object') throw new InvalidOptionError('resourceServer', RESOURCE_SERVER_SHAPE);
  const { introspection, jwt } = value as { introspection?: unknown; jwt?: unknown };
  if (introspection === undefined && jwt === undefined) throw new InvalidOptionError('resourceServer', RESOURCE_SERVER_SHAPE);
  return {
    introspection: introspection === undefined ? null : resolveIntrospection(introspection, enforceSecure),
    remoteJwt: jwt === undefined ? null : resolveRemoteJwt(jwt, issuer, enforceSecure),
  };
}

/** An absolute http(s) URL, https unless `enforceSecure` is off; else an error naming `name`. */
function checkRemoteUrl(value: unknown, name: string, enforceSecure: boolean): URL {
  let url: URL | null = null;
  try {
    url = typeof value === 'string' ? new URL(value) : null;
  } catch {
    url = null;
  }
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new InvalidOptionError('resourceServer', `${name} must be an absolute http(s) URL`);
  }
  if (url.protocol === 'http:' && enforceSecure) {
    throw new InvalidOptionError('resourceServer', `${name} must be https (http only in development)`);
  }
  return url;
}

function resolveIntrospection(value: unknown, enforceSecure: boolean): Required<IntrospectionOptions> {
  const remote = value as Partial<IntrospectionOptions> | null;
  if (remote === null || typeof remote !== 'object') throw new InvalidOptionError('resourceServer', RESOURCE_SERVER_SHAPE);
  // RFC 7662 section 4: the token and the client's secret travel over TLS.
  const url = checkRemoteUrl(remote.url, 'introspection.url', enforceSecure);
  for (const name of ['clientId', 'clientSecret'] as const) {
    if (typeof remote[name] !== 'string' || remote[name] === '') {
      throw new InvalidOptionError('resourceServer', `introspection.${name} must be a non-empty string`);
    }
  }
  const numbers = readIntegers(remote, { cacheTtl: 30, cacheSize: 10_000, timeout: 5000 }, 'introspection', ['cacheSize', 'timeout']);
  return { url: url.href, clientId: remote.clientId!, clientSecret: remote.clientSecret!, ...numbers };
}

/**
 * `defaults` with each whole number `given` names in its place, at least 1 for the names in
 * `positive` and at least 0 for the others; any other value is refused, named `where.name`.
 */
function readIntegers<T extends Record<string, number>>(
  given: Partial<Record<keyof T, unknown>>,
  defaults: T,
  where: string,
  positive: readonly (keyof T)[],
): T {
  const numbers: Record<string, number> = { ...defaults };
  for (const name of Object.keys(defaults)) {
    const value = given[name];
    if (value === undefined) continue;
    const least = positive.includes(name) ? 1 : 0;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < least) {
      throw new InvalidOptionError('resourceServer', `${where}.${name} must be a ${least === 1 ? 'positive' : 'non-negative'} integer`);
    }
    numbers[name] = value;
  }
  return numbers as T;
}

/** RFC 8414 section 3.1: the well-known suffix goes between the issuer's host and its path. */
export function authorizationServerMetadataUrl(issuer: string): string {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return new URL(`/.well-known/oauth-authorization-server${path}`, url.origin).href;
}

function resolveRemoteJwt(value: unknown, pluginIssuer: unknown, enforceSecure: boolean): ResolvedRemoteJwt {
  const remote = value as RemoteJwtOptions | null;
  if (remote === null || typeof remote !== 'object') throw new InvalidOptionError('resourceServer', RESOURCE_SERVER_SHAPE);
  const issuer = remote.issuer ?? pluginIssuer;
  // The issuer's metadata and keys decide which tokens open the routes: they come over TLS.
  checkRemoteUrl(issuer, 'jwt.issuer', enforceSecure);
  const jwksUri = remote.jwksUri === undefined ? null : checkRemoteUrl(remote.jwksUri, 'jwt.jwksUri', enforceSecure).href;
  const algorithms = remote.algorithms ?? [...SIGNING_ALGORITHMS];
  if (!Array.isArray(algorithms) || algorithms.length === 0 || algorithms.some((alg) => !SIGNING_ALGORITHMS.includes(alg))) {
    throw new InvalidOptionError('resourceServer', `jwt.algorithms must be a non-empty list of ${SIGNING_ALGORITHMS.join(', ')}`);
  }
  const numbers = readIntegers(remote, { clockTolerance: 5, cacheMaxAge: 600, cooldown: 30, timeout: 5000 }, 'jwt', ['timeout']);
  return {
    issuer: issuer as string,
    metadataUrl: authorizationServerMetadataUrl(issuer as string),
    jwksUri,
    algorithms: [...algorithms],
    ...numbers,
    requireHttps: enforceSecure,
  };
}

/** The OAuth 1.0a settings, or null when off. The numbers are checked by the core's provider. */
function resolveOAuth1(options: PortcullisOptions): OAuth1Options | null {
  const { oauth1 } = options;
  if (oauth1 === undefined || oauth1 === false) return null;
  if (oauth1 !== true && (oauth1 === null || typeof oauth1 !== 'object' || Array.isArray(oauth1))) {
    throw new InvalidOptionError('oauth1', 'must be a boolean or an object { timestampWindow?, requestTokenTtl?, accessTokenTtl?, realm? }');
  }
  if (options.secretKey === undefined || options.secretKey === null) throw new OAuth1SecretKeyError();
  const settings: OAuth1Options = oauth1 === true ? {} : { ...oauth1 };
  if (settings.realm !== undefined && typeof settings.realm !== 'string') {
    throw new InvalidOptionError('oauth1', 'realm must be a string');
  }
  return settings;
}

function checkIssuer(issuer: unknown): void {
  if (typeof issuer !== 'string') throw new NoIssuerError(String(issuer));
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new NoIssuerError(JSON.stringify(issuer));
  }
  // RFC 8414 section 2: https, no query, no fragment (http is tolerated for development).
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search !== '' || url.hash !== '' || issuer.includes('#')) {
    throw new NoIssuerError(JSON.stringify(issuer));
  }
}
