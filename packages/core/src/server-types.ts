import type { ScopeRegistry } from '@portcullis/scopes';
import type { Entropy, SecretBox } from './crypto.js';
import type { OAuthError } from './errors.js';
import type { EventListener, RevokedBy } from './events.js';
import type { OAuthRequest, OAuthResponse } from './http.js';
import type { OAuthStorage } from './storage/port.js';
import type { OAuthProfile } from './oauth2/profile.js';
import type { ClientRecord, ClientType, GrantType, PurgeResult, SigningAlgorithm } from './storage/records.js';
import type { SigningKeyInfo, SigningKeyRing, SigningKeysOptions } from './oauth2/signing-keys.js';

/** The user a password grant or a consent belongs to, as the application knows it. */
export interface AuthenticatedUser {
  id: string;
  username?: string;
  /**
   * When the user last authenticated (entered a password, say): the ID token's `auth_time`, and
   * what `max_age` and `prompt=login` are checked against (OpenID Connect Core 1.0 section
   * 3.1.2.1). Unknown when absent: a request with `max_age` then asks the user to log in again.
   */
  authTime?: Date;
}

export interface AuthorizationServerOptions {
  storage: OAuthStorage;
  /** The scopes the server knows. Defaults to `createDefaultScopes()` (read, write). */
  scopes?: ScopeRegistry;
  /** The issuer identifier of RFC 8414, e.g. `https://auth.example.com`. */
  issuer: string;
  /** Paths the endpoints are mounted at, for the metadata document. Defaults to the wire contract. */
  endpoints?: Partial<EndpointPaths>;
  /** Seconds. Default 3600. */
  accessTokenTtl?: number;
  /** Seconds. Default 30 days. */
  refreshTokenTtl?: number;
  /** Seconds. Default 60 (RFC 9700 asks for short-lived codes). */
  authorizationCodeTtl?: number;
  /**
   * Seconds after a refresh token's rotation during which the same client may present it again
   * and get a fresh pair instead of having the family revoked: a client whose response was lost
   * can retry. Default 0: a second presentation is a replay, always. A stolen token used within
   * the interval goes unnoticed (RFC 9700 section 4.14.2), so keep it to seconds.
   */
  refreshTokenReuseInterval?: number;
  /**
   * Seconds a refresh token family may live from its first refresh token, however often it is
   * rotated: no rotation issues a refresh token expiring later. Default null: no limit beyond
   * `refreshTokenTtl` from each rotation.
   */
  refreshTokenMaxLifetime?: number | null;
  /** Seconds a device authorization (RFC 8628) waits for the user. Default 600. */
  deviceCodeTtl?: number;
  /** Seconds a device client waits between polls at first (RFC 8628 section 3.2). Default 5. */
  deviceCodeInterval?: number;
  /** Remove expired rows as they are met. Default false. */
  deleteExpired?: boolean;
  /** At most one live access token per user, client and scope. Default false. */
  singleAccessToken?: boolean;
  /**
   * How access tokens are made, for resources without a format of their own (`registerResource`):
   * `opaque` (default), a random string kept as a digest, or `jwt`, a JWT access token (RFC 9068)
   * that a resource server checks with the published keys alone. `jwt` needs `signingKeys`.
   */
  accessTokenFormat?: AccessTokenFormat;
  /** How `verifyAccessToken` checks JWT access tokens. */
  jwtAccessTokens?: JwtAccessTokenOptions;
  /** Refuse requests that did not come over TLS. Default true. */
  enforceSecure?: boolean;
  /**
   * `oauth2.1` (default): PKCE with S256 on every code grant, confidential clients included; no
   * implicit grant, password grant, PKCE `plain` or query-string token. `oauth2.0` allows each of
   * these where its option or the client enables it.
   */
  profile?: OAuthProfile;
  /** Accept PKCE `plain` (profile `oauth2.0` only). Default false: S256 only. */
  allowPlainPkce?: boolean;
  /**
   * Let a registered `http://localhost` redirect URI match any port, as RFC 8252 section 7.3 lets
   * `127.0.0.1` and `[::1]` do; native and command-line clients register it. Default false.
   */
  allowLocalhostAnyPort?: boolean;
  /**
   * Accept clients that describe themselves with a Client ID Metadata Document: a `client_id`
   * that is an https URL is fetched and read instead of looked up in storage. Off by default.
   */
  clientIdMetadataDocuments?: ClientIdMetadataDocumentOptions;
  /** Scopes granted when a request names none. Default: none (the request must name its scopes, or gets the client's). */
  defaultScopes?: string[];
  /**
   * The resource identifiers (RFC 8707) the server issues tokens for: absolute URIs without a
   * fragment, such as `https://api.example.com` or `https://example.com/mcp`. A `resource`
   * parameter naming anything else is refused with invalid_target. `registerResource` adds more.
   */
  resources?: string[];
  /**
   * The audience of a token requested without a `resource` parameter, less the resources the
   * client is limited away from. Each is a resource the server knows (listed here counts).
   * Default: none, so such a token is accepted only by guards that name no resource.
   */
  defaultAudience?: string[];
  /** Checks a username and password for the password grant (profile `oauth2.0` only); resolves to null when they are wrong. */
  verifyUser?: (username: string, password: string) => Promise<AuthenticatedUser | null>;
  /** Turns a user id into what introspection reports as `username`. */
  findUsername?: (userId: string) => Promise<string | null>;
  /**
   * Whether a confidential client may introspect a token issued to another client (RFC 7662
   * section 4). Asked only for an active token of another client: a token's own client is always
   * answered, and a refused client gets `{ "active": false }`, as for an unknown token. The
   * default admits the token's own client only.
   */
  introspectionPolicy?: IntrospectionPolicy;
  clock?: () => Date;
  entropy?: Entropy;
  /**
   * The AES-256-GCM key (32 bytes, or 64 hex / 43 base64url characters) that encrypts OAuth 1.0a
   * secrets at rest. Required to register a client with `oauth1Enabled`.
   */
  secretKey?: Uint8Array | string;
  /** Dynamic client registration (RFC 7591, RFC 7592). Off unless `enabled`. */
  registration?: RegistrationOptions;
  /**
   * JWS signing keys for the JWTs the server signs, published at the `jwks` endpoint. Off unless
   * given; needs `secretKey`, which seals the private keys at rest.
   */
  signingKeys?: SigningKeysOptions;
  /** OpenID Connect Core 1.0 on the authorization code flow, with Discovery and RP-Initiated Logout. Off unless given. */
  openid?: OpenIdOptions;
  /**
   * Receives every event of this server (`PortcullisEvent`): tokens issued, refreshed and revoked,
   * replays, failed client authentications, client changes, consents. Events carry ids, never
   * a token, code or secret. A throw or a rejection is ignored. The same events are published
   * on the `node:diagnostics_channel` channels `portcullis:<type>`.
   */
  onEvent?: EventListener;
}

/**
 * The standard claims of an account (OpenID Connect Core 1.0 section 5.1) that the application
 * knows: `name`, `email`, `email_verified`, `address`, `phone_number`... Only those the granted
 * scopes allow (section 5.4) reach a client; `sub` is the server's to set.
 */
export type AccountClaims = Record<string, unknown>;

export interface OpenIdOptions {
  /** The claims of a user, by the id `getUser` or `completeAuthorization` named; null when the account is gone. */
  findAccount(userId: string): AccountClaims | null | Promise<AccountClaims | null>;
  /**
   * `public` (default): `sub` is the user id. `pairwise`: a different `sub` per sector (the host of
   * the client's redirect URIs), an HMAC of sector and user under a key derived from `secretKey`,
   * so clients cannot correlate users (section 8.1).
   */
  subjectType?: 'public' | 'pairwise';
  /** Seconds an ID token is valid, at most `signingKeys.maxTokenLifetime`. Default 3600. */
  idTokenTtl?: number;
}

/**
 * Who may register clients, and the bounds on registrations nobody uses. Clients a stranger
 * registers are public or confidential clients like any other, limited to the authorization code,
 * refresh token and client credentials grants (implicit where the profile allows it).
 */
export interface RegistrationOptions {
  enabled: boolean;
  /**
   * RFC 7591 section 3: registration needs this bearer token (a string, compared in constant time,
   * or a function deciding). Default: none, open registration.
   */
  initialAccessToken?: string | ((token: string, request: OAuthRequest) => boolean | Promise<boolean>);
  /**
   * Sees the checked metadata of each registration; returns it adjusted (checked again), or
   * nothing to keep it, or throws an `OAuthError` such as `invalidClientMetadata(...)` to refuse.
   */
  policy?: (
    metadata: ClientRegistrationMetadata,
    request: OAuthRequest,
  ) => ClientRegistrationMetadata | void | Promise<ClientRegistrationMetadata | void>;
  /** Seconds a dynamic client may go without obtaining a token before `purgeExpired` deletes it. Default 1 day. */
  unusedClientTtl?: number;
  /** Registrations that have obtained no token yet, at most; more are refused with 429. Default 1000. */
  maxUnusedClients?: number;
  /**
   * Called after a client is registered, updated or deleted; gets no secret.
   * @deprecated Use `onEvent`: the `client.registered`, `client.updated` and `client.deleted` events.
   */
  onClientRegistration?: (event: ClientRegistrationEvent) => void;
  /**
   * RFC 7592 section 2.2: an update (PUT) issues a new registration access token, returned in its
   * response once; the old one stops working at once. Default true.
   */
  rotateRegistrationAccessToken?: boolean;
  /**
   * An update of a confidential client issues a new client secret, returned in its response
   * once; the old one stops working at once. Default false.
   */
  rotateClientSecret?: boolean;
}

/** The checked client metadata of RFC 7591 section 2, defaults filled in. */
export interface ClientRegistrationMetadata {
  redirect_uris: string[];
  /** Where RP-initiated logout may return the browser (OpenID Connect RP-Initiated Logout 1.0). */
  post_logout_redirect_uris: string[];
  /** OpenID Connect Dynamic Client Registration 1.0 section 2; null for RS256. */
  id_token_signed_response_alg: string | null;
  grant_types: GrantType[];
  response_types: ('code' | 'token')[];
  token_endpoint_auth_method: 'none' | 'client_secret_basic' | 'client_secret_post';
  application_type: 'web' | 'native';
  client_name: string | null;
  client_uri: string | null;
  logo_uri: string | null;
  /** Space-separated; null for the server's default scopes. */
  scope: string | null;
  contacts: string[];
  software_id: string | null;
  software_version: string | null;
}

/** What the application learns of a registration: public facts only. */
export interface ClientRegistrationEvent {
  action: 'registered' | 'updated' | 'deleted';
  clientId: string;
  clientName: string;
  type: ClientType;
  redirectUris: string[];
  grantTypes: GrantType[];
  scopes: string[];
  softwareId: string | null;
}

/**
 * `opaque`: a random string, stored as a digest; every check reads storage. `jwt`: a JWT access
 * token (RFC 9068) signed with the signing keys, recorded as well (introspection, revocation and
 * refresh families work the same), and checkable without storage.
 */
export type AccessTokenFormat = 'opaque' | 'jwt';

/** `jwtAccessTokens` of `createAuthorizationServer`. */
export interface JwtAccessTokenOptions {
  /**
   * `always` (default): a valid JWT access token is also looked up in storage, so a revoked one
   * (`/oauth/revoke`, `revokeGrant`, a replayed refresh token) is refused at once; this costs the
   * storage read an opaque token costs. `never`: the signature and claims alone decide, with no
   * storage read; a revoked token is then accepted until its `exp`, so keep `accessTokenTtl` short.
   */
  revocationCheck?: 'always' | 'never';
  /** Seconds of clock difference allowed when checking `exp`, `iat` and `nbf`. Default 5. */
  clockTolerance?: number;
}

/** The second argument of `registerResource`. */
export interface ResourceOptions {
  /** The format of access tokens for this resource; default the server's `accessTokenFormat`. */
  accessTokenFormat?: AccessTokenFormat;
}

/** What an introspection policy learns of a token: its public facts, never its digest. */
export interface IntrospectedToken {
  kind: 'access_token' | 'refresh_token';
  /** The client the token was issued to. */
  clientId: string;
  /** Null for a client_credentials token. */
  userId: string | null;
  scope: string[];
  /** The resources the token is for (RFC 8707). */
  audience: string[];
  issuedAt: Date;
  expiresAt: Date;
}

/**
 * Decides whether `client` (authenticated with its secret) may learn about `token`, issued to
 * another client, as node-oidc-provider's introspection `allowedPolicy` does.
 */
export type IntrospectionPolicy = (client: Readonly<ClientRecord>, token: IntrospectedToken) => boolean | Promise<boolean>;

export interface EndpointPaths {
  /**
   * Null when no authorization endpoint is mounted (a server for machine clients only): the
   * metadata then offers no response type and no grant that needs a browser.
   */
  authorization: string | null;
  token: string;
  revocation: string;
  introspection: string;
  /** Dynamic client registration (RFC 7591); its clients' URIs are below it. Used when `registration` is enabled. */
  registration: string;
  /** The JWK Set of the signing keys (RFC 7517 section 5), the metadata's `jwks_uri`. Used when `signingKeys` is set. */
  jwks: string;
  /** OpenID Connect UserInfo (Core 1.0 section 5.3). Used when `openid` is set. */
  userinfo: string;
  /** OpenID Connect RP-Initiated Logout 1.0 `end_session_endpoint`. Used when `openid` is set. */
  endSession: string;
  /** The device authorization endpoint (RFC 8628 section 3.1); offered with the authorization endpoint. */
  deviceAuthorization: string;
  /** The page where the user enters a device's user code (RFC 8628 section 3.3): the `verification_uri`. */
  deviceVerification: string;
}

/** A validated authorization request, kept (for example in a session) across login and consent. */
export interface AuthorizationRequest {
  clientId: string;
  clientName: string;
  responseType: 'code' | 'token';
  /** The redirect URI the result goes to (the registered one when the request omitted it). */
  redirectUri: string;
  /** Whether the request carried redirect_uri (then the token request must repeat it). */
  redirectUriProvided: boolean;
  scope: string[];
  state: string | null;
  codeChallenge: string | null;
  codeChallengeMethod: 'S256' | 'plain' | null;
  /** The `resource` parameters (RFC 8707), each known and open to the client; empty when none was sent. */
  resource: string[];
  /** The `prompt` values, when the request had one: `consent` asks the user even when consent is remembered. */
  prompt?: string[];
  /**
   * Set when the client described itself with a metadata document: the host it came from, which
   * the consent page shows, and whether `isTrustedHost` vouches for it (the page warns if not).
   */
  clientMetadataDocument?: { host: string; trusted: boolean };
  /** Set when the request is an OpenID Connect authentication request (its scope holds `openid`). */
  openid?: OpenIdAuthenticationRequest;
}

/** The OpenID Connect parameters of an authentication request (Core 1.0 section 3.1.2.1), checked. */
export interface OpenIdAuthenticationRequest {
  /** Repeated in the ID token. */
  nonce: string | null;
  /** `prompt` values: `none` alone, or some of `login` and `consent`. */
  prompt: ('none' | 'login' | 'consent')[];
  /** Seconds: an authentication older than this must be done again. */
  maxAge: number | null;
  /** Passed to the application's login page. */
  loginHint: string | null;
  /** The `sub` of the `id_token_hint`, checked against our keys; the signed-in user must have it. */
  hintSubject: string | null;
  /** When the request was made, in milliseconds since the epoch: the login `prompt=login` asks for must come after it. */
  requestedAt: number;
}

/**
 * What the application does next with a validated request and the signed-in user, if any:
 * log in (`force`: again, although signed in), ask for consent, or send the browser back.
 */
export type InteractionResult =
  | { kind: 'login'; force: boolean; loginHint: string | null }
  | { kind: 'consent' }
  | { kind: 'redirect'; location: string }
  | { kind: 'error'; status: number; error: OAuthError };

/** RP-Initiated Logout 1.0: what to do with a checked logout request. */
export type EndSessionResult =
  | {
      kind: 'logout';
      /** The client that asked, from `client_id` or the hint's audience; null when unnamed. */
      clientId: string | null;
      clientName: string | null;
      /** Ask the user first: the request did not prove it comes from the signed-in user's client. */
      confirm: boolean;
      /** Where to send the browser afterwards (with `state`), or null to show a signed-out page. */
      location: string | null;
    }
  | { kind: 'error'; status: number; error: OAuthError };

/** draft-ietf-oauth-client-id-metadata-document, as `clientIdMetadataDocuments` configures it. */
export interface ClientIdMetadataDocumentOptions {
  enabled: boolean;
  /** Refuses a host before anything is fetched from it (an allowlist). Default: every public host. */
  allowHost?: (hostname: string) => boolean;
  /** The hosts the operator vouches for; the consent page warns about any other. Default: none. */
  isTrustedHost?: (host: string) => boolean;
  /** The largest document accepted, in bytes. Default 5120. */
  maxBytes?: number;
  /** Milliseconds allowed for a fetch, name resolution included. Default 3000. */
  timeout?: number;
  /** Seconds a document is kept, whatever its `Cache-Control` says. Default 60 to 86400. */
  cacheTtl?: { min?: number; max?: number };
  /** The most documents kept at once. Default 1000. */
  cacheSize?: number;
  /** Allow documents on loopback addresses, for development and tests only. Default false. */
  allowLoopbackForDevelopment?: boolean;
  /** Certificate authorities to trust for document hosts instead of Node's bundle (development). */
  ca?: string | Buffer | Array<string | Buffer>;
  /**
   * Called after every fetch, accepted or refused.
   * @deprecated Use `onEvent`: the `client_metadata.fetched` event.
   */
  onFetch?: (event: ClientMetadataFetchEvent) => void;
}

/** One fetch of a client metadata document. Documents hold no secret, and neither does this. */
export interface ClientMetadataFetchEvent {
  clientId: string;
  host: string;
  /** The address connected to (or refused), when resolution got that far. */
  address: string | null;
  /** The HTTP status, when an answer came. */
  status: number | null;
  outcome: 'accepted' | 'refused';
  /** Why the document was refused. */
  reason: string | null;
}

export type AuthorizeResult =
  /** Ask the user (log in first if needed), then call `completeAuthorization`. */
  | { kind: 'consent'; request: AuthorizationRequest }
  /** Send the browser back to the client: with a code, a token (in the fragment), or an error. */
  | { kind: 'redirect'; location: string }
  /** Show an error page; never redirect (unknown client, redirect URI not registered). */
  | { kind: 'error'; status: number; error: OAuthError };

/** Whether the user must be asked, once they are known (`reviewConsent`). */
export interface ConsentReview {
  /**
   * False when the request may be approved without a page: the client is first-party
   * (`skipConsent`), or the user approved all it asks for before (scopes and resources), and the
   * request does not say `prompt=consent`.
   */
  required: boolean;
  /** The requested scopes the user approved before; the consent page marks the others as new. */
  grantedScope: string[];
}

/** A device authorization (RFC 8628) found by its user code, waiting for the user's decision. */
export interface DeviceAuthorizationRequest {
  /** Identifies the device authorization for `completeDeviceAuthorization`; not a secret. */
  deviceCodeId: string;
  /** The digest of the normalised user code, which finds it again. */
  userCodeDigest: string;
  clientId: string;
  clientName: string;
  scope: string[];
  /** The resources (RFC 8707) the device asked for, or the default audience. */
  resource: string[];
}

export type DeviceLookupResult =
  | { kind: 'consent'; request: DeviceAuthorizationRequest }
  /**
   * No device authorization is waiting for this code: `unknown` when none has it (a wrong guess,
   * which an application counts against brute force), else `expired` or `decided`.
   */
  | { kind: 'error'; reason: 'unknown' | 'expired' | 'decided'; error: OAuthError };

export type DeviceDecisionResult =
  | { kind: 'decided'; approved: boolean; clientName: string }
  | { kind: 'error'; error: OAuthError };

export interface ConsentDecision {
  userId: string;
  /** When the user authenticated: the ID token's `auth_time`. */
  authTime?: Date;
  approved: boolean;
  /** The scopes the user approved, a subset of the request's; defaults to all of them. */
  scope?: string[];
}

/** What a resource server learns from a valid access token. */
export interface TokenGrant {
  clientId: string;
  userId: string | null;
  scope: string[];
  /** The resources the token is for (RFC 8707); empty when it names none. */
  audience: string[];
  expiresAt: Date;
  tokenId: string;
}

export interface RegisterClientInput {
  name: string;
  redirectUris?: string[];
  /** Where RP-initiated logout may send the browser back (OpenID Connect RP-Initiated Logout 1.0); default none. */
  postLogoutRedirectUris?: string[];
  /** The algorithm of the client's ID tokens, one the signing keys keep; default null, RS256. Needs `openid`. */
  idTokenSignedResponseAlg?: SigningAlgorithm | null;
  scopes?: string[];
  /** The resources (RFC 8707) the client may get tokens for; default null, any the server knows. */
  resources?: string[] | null;
  grantTypes?: GrantType[];
  type?: ClientType;
  ownerId?: string | null;
  oauth1Enabled?: boolean;
  rsaPublicKey?: string | null;
  /** Use this client id instead of generating one (as oauthost's `register_client(name, '1234', ...)` allows). */
  clientId?: string;
  /** A first-party client: no consent page unless the request has `prompt=consent`. Default false. */
  skipConsent?: boolean;
  /**
   * Seconds the client's access tokens live; default null, the server's `accessTokenTtl`. A JWT
   * access token lives at most `signingKeys.maxTokenLifetime`.
   */
  accessTokenTtl?: number | null;
  /** Seconds the client's refresh tokens live; default null, the server's `refreshTokenTtl`. */
  refreshTokenTtl?: number | null;
  /** Seconds the client's authorization codes live; default null, the server's `authorizationCodeTtl`. */
  authorizationCodeTtl?: number | null;
}

/** The client secret is in clear here, once; only its digest is stored. */
export interface RegisteredClient {
  client: ClientRecord;
  clientSecret: string | null;
}

export interface IssuedTokens {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  scope: string;
  /** OpenID Connect: when the grant's scope holds `openid`. */
  id_token?: string;
}

/** What `issueTokens` takes; `resource` as the RFC 8707 parameter, `defaultAudience` without it. */
export interface IssueTokensInput {
  clientId: string;
  userId: string | null;
  scope?: string[];
  resource?: string[];
  withRefreshToken?: boolean;
}

/** The OAuth 2 authorization server, free of any framework. */
export interface AuthorizationServer {
  readonly options: Readonly<Required<Omit<AuthorizationServerOptions, 'verifyUser' | 'findUsername' | 'introspectionPolicy' | 'endpoints' | 'secretKey' | 'resources' | 'registration' | 'clientIdMetadataDocuments' | 'signingKeys' | 'onEvent' | 'jwtAccessTokens' | 'openid'>>> & {
    endpoints: EndpointPaths;
    jwtAccessTokens: Readonly<Required<JwtAccessTokenOptions>>;
  };
  readonly scopes: ScopeRegistry;
  /** The box made from `options.secretKey` (OAuth 1.0a secrets), or null when no key was given. */
  readonly secretBox: SecretBox | null;
  /** Step 1 of the authorization endpoint: validate the request (GET query or POST body). */
  validateAuthorizationRequest(request: OAuthRequest): Promise<AuthorizeResult>;
  /**
   * Between steps 1 and 2: given the signed-in user (null if none), whether to log in, ask for
   * consent, or answer at once (OpenID Connect `prompt`, `max_age`, `id_token_hint`). `loginAsked`:
   * the user was sent to log in for this request already, so a login still missing is refused
   * rather than asked again. For a plain OAuth request: login when signed out, else consent.
   */
  resolveInteraction(request: AuthorizationRequest, user: AuthenticatedUser | null, options?: { loginAsked?: boolean }): Promise<InteractionResult>;
  /**
   * Step 1b, once the user is known: whether to show the consent page. When `required` is false,
   * call `completeAuthorization` with `approved: true` straight away.
   */
  reviewConsent(request: AuthorizationRequest, userId: string): Promise<ConsentReview>;
  /** Step 2: the user decided; returns where to send the browser. Remembers what was approved. */
  completeAuthorization(request: AuthorizationRequest, decision: ConsentDecision): Promise<AuthorizeResult>;
  /** `POST /oauth/token`. */
  handleTokenRequest(request: OAuthRequest): Promise<OAuthResponse>;
  /** `POST /oauth/device_authorization` (RFC 8628 section 3.1). */
  handleDeviceAuthorizationRequest(request: OAuthRequest): Promise<OAuthResponse>;
  /** Finds the device authorization a user code (as the user typed it) names (RFC 8628 section 3.3). */
  findDeviceAuthorization(userCode: string): Promise<DeviceLookupResult>;
  /** Records the user's decision on a device authorization, once. */
  completeDeviceAuthorization(request: DeviceAuthorizationRequest, decision: ConsentDecision): Promise<DeviceDecisionResult>;
  /** `POST /oauth/revoke` (RFC 7009). */
  handleRevocationRequest(request: OAuthRequest): Promise<OAuthResponse>;
  /** `POST /oauth/introspect` (RFC 7662). */
  handleIntrospectionRequest(request: OAuthRequest): Promise<OAuthResponse>;
  /** `GET /.well-known/oauth-authorization-server` (RFC 8414). */
  getMetadata(): OAuthResponse;
  /**
   * Checks a bearer token presented to a resource: throws an `OAuthError` (`invalid_token` 401,
   * `insufficient_scope` 403) carrying the RFC 6750 `WWW-Authenticate` header. With `resource`,
   * a token whose audience does not name it is `invalid_token` (RFC 8707).
   */
  verifyAccessToken(token: string, requiredScope?: readonly string[], resource?: string): Promise<TokenGrant>;
  /** The resource identifiers the server issues tokens for, sorted. */
  resources(): string[];
  /**
   * Adds a resource identifier (an absolute URI without a fragment) the server issues tokens
   * for, as a resource guard registers its own; throws a TypeError for anything else. With
   * `accessTokenFormat`, tokens whose audience names this resource take that format (`jwt` when
   * any resource of the audience asks for it); without, a format set earlier is kept.
   */
  registerResource(resource: string, options?: ResourceOptions): void;
  registerClient(input: RegisterClientInput): Promise<RegisteredClient>;
  /** Whether dynamic client registration is enabled. */
  readonly registrationEnabled: boolean;
  /** `POST /oauth/register` (RFC 7591 section 3) with the parsed JSON body. 404 when registration is off. */
  handleClientRegistration(request: OAuthRequest, metadata: unknown): Promise<OAuthResponse>;
  /** `GET|PUT|DELETE /oauth/register/<clientId>` (RFC 7592 section 2), `metadata` the PUT body. */
  handleClientConfiguration(request: OAuthRequest, clientId: string, metadata?: unknown): Promise<OAuthResponse>;
  /** Issues tokens by hand (an admin page), as oauthost's admin could. Shown once. */
  issueTokens(input: IssueTokensInput): Promise<IssuedTokens>;
  /**
   * Deletes a client of any origin as the registration endpoint's DELETE does (RFC 7592 section
   * 2.3): its OAuth 2 and OAuth 1.0a tokens are revoked first. Returns whether it existed.
   */
  deleteClient(clientId: string): Promise<boolean>;
  /**
   * Disables (or enables again) a client of any origin: a disabled client is refused everywhere
   * and its live OAuth 2 and OAuth 1.0a tokens are revoked at once. Returns how many credentials
   * were revoked, or null for an unknown client. Emits `client.disabled` and `token.revoked`
   * (`revokedBy: 'client_disabled'`), or `client.updated` when enabled.
   */
  setClientDisabled(clientId: string, disabled: boolean): Promise<number | null>;
  /**
   * Revokes every credential a user gave a client (`/account/apps`): OAuth 2 access and refresh
   * tokens, authorization codes not yet redeemed, OAuth 1.0a access tokens and authorized request
   * tokens not yet exchanged; and forgets the user's remembered consent, so the client must ask
   * again. Returns how many credentials changed. Emits `token.revoked` (and `consent.revoked`
   * when a consent was remembered), by the user unless `revokedBy` says `admin`.
   */
  revokeGrant(userId: string, clientId: string, options?: { revokedBy?: Extract<RevokedBy, 'user' | 'admin'> }): Promise<number>;
  /**
   * Forgets what a user approved for a client (the tokens stay): the next request asks again.
   * Returns whether there was a consent; emits `consent.revoked`, by the user unless `revokedBy`
   * says `admin`.
   */
  revokeConsent(userId: string, clientId: string, options?: { revokedBy?: 'user' | 'admin' }): Promise<boolean>;
  purgeExpired(options?: { batchSize?: number }): Promise<PurgeResult>;
  /** The signing keys, or null when `signingKeys` is not set. */
  readonly signingKeys: SigningKeyRing | null;
  /** `GET /oauth/jwks.json`: the public signing keys (RFC 7517 section 5). 404 when `signingKeys` is not set. */
  handleJwksRequest(): Promise<OAuthResponse>;
  /** `signingKeys.rotate()`; rejects with a TypeError when `signingKeys` is not set. */
  rotateSigningKeys(): Promise<SigningKeyInfo[]>;
  /** Whether OpenID Connect is on (the `openid` option). */
  readonly openidEnabled: boolean;
  /** `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 section 4); 404 when OpenID Connect is off. */
  getOpenIdConfiguration(): OAuthResponse;
  /** `GET|POST /oauth/userinfo` (OpenID Connect Core 1.0 section 5.3). */
  handleUserInfoRequest(request: OAuthRequest): Promise<OAuthResponse>;
  /**
   * `GET|POST /oauth/logout` (RP-Initiated Logout 1.0 section 2): checks the request; the signed-in
   * user's id (or null) decides whether the id_token_hint proves the request is theirs.
   */
  validateEndSessionRequest(request: OAuthRequest, userId: string | null): Promise<EndSessionResult>;
}
