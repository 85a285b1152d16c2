import type { FastifyReply, FastifyRequest } from 'fastify';
import type {
  AuthorizationServer,
  IssuedTokens,
  IssueTokensInput,
  OAuth1Provider,
  PurgeResult,
  RegisterClientInput,
  RegisteredClient,
  SigningKeyInfo,
} from '@portcullis/core';
import type { ScopeRegistry } from '@portcullis/scopes';

/** Who a protected request acts for: set on `request.oauth` by `requireScope`. */
export interface RequestAuth {
  /** How the request was authenticated: a bearer token, or an OAuth 1.0a signature. */
  protocol: 'oauth2' | 'oauth1';
  clientId: string;
  /** Null for tokens a client got for itself (client_credentials). */
  userId: string | null;
  /** The scopes the token grants. */
  scope: string[];
  /** The resources a bearer token was issued for (RFC 8707); empty for OAuth 1.0a. */
  audience: string[];
  /** The id of the token record (not the token). */
  tokenId: string;
}

/**
 * A way to authenticate a resource request other than a bearer token; the OAuth 1.0a signed
 * request verifier is one. `requireScope` asks each verifier in order when the request carries
 * no bearer token.
 */
export interface RequestVerifier {
  readonly name: string;
  /**
   * Returns null at once when the request does not carry this kind of credential (cheap checks
   * only: this runs on every protected request). Otherwise a promise of who the request acts
   * for, rejecting with an `OAuthError`, which is sent as it is (status, headers, JSON body).
   * `requiredScope` is what the guard needs, so the verifier may refuse before spending anything.
   */
  verify(request: FastifyRequest, requiredScope?: readonly string[]): Promise<RequestAuth> | null;
  /**
   * Whether the request carries this kind of credential. When a bearer token is there too,
   * `requireScope` refuses the request (400 invalid_request) rather than pick one.
   */
  carries?(request: FastifyRequest): boolean;
}

/** A route that a `requireScope` guards. */
export interface ScopedRoute {
  method: string;
  url: string;
}

/** A scope some `requireScope` asks for, with the routes it guards (the seed's `syncscopes`). */
export interface DeclaredScope {
  scope: string;
  /** The registry's description, if the scope is defined there. */
  description: string | null;
  /** Whether the scope is defined in the registry (a token can only hold defined scopes). */
  defined: boolean;
  routes: ScopedRoute[];
}

/** What may follow the scope names of `requireScope`. */
export interface GuardOptions {
  /**
   * The resource identifier (RFC 8707) the route belongs to, e.g. `https://example.com/mcp`: only
   * bearer tokens issued for it pass, and its metadata (RFC 9728) is served. Default: the
   * plugin's `resource` option.
   */
  resource?: string;
}

export interface RequireScopeOptions extends GuardOptions {
  /** Derive the scope from the route URL: `/api/polls/:id/results` needs `polls:results`. */
  auto: true;
  /** The application part of the derived scope, instead of the first static URL segment. */
  app?: string;
  /** The view part of the derived scope, instead of the last static URL segment. */
  view?: string;
}

/** A preHandler checking the request's token. */
export type ScopeGuard = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

export interface RequireScope {
  /** Every named scope is required; with none, any valid token passes. */
  (...scopes: string[]): ScopeGuard;
  /** The same, for the routes of one resource (RFC 8707): `requireScope('read', { resource })`. */
  (...args: [...scopes: string[], options: GuardOptions]): ScopeGuard;
  (options: RequireScopeOptions): ScopeGuard;
}

/** The mounted paths of the endpoints, prefixes included. */
export interface MountedPaths {
  readonly authorization: string;
  readonly token: string;
  readonly revocation: string;
  readonly introspection: string;
  /** Dynamic client registration (RFC 7591), mounted when the `registration` option enables it. */
  readonly registration: string;
  /** The device authorization endpoint (RFC 8628 section 3.1), mounted with the browser endpoints. */
  readonly deviceAuthorization: string;
  /** The page where users enter a device's user code (RFC 8628 section 3.3). */
  readonly deviceVerification: string;
  /** The metadata document at the mount root. */
  readonly metadata: string;
  /** The JWK Set of the signing keys (RFC 7517 section 5), mounted when `signingKeys` is set. */
  readonly jwks: string;
  /**
   * The RFC 8414 section 3.1 location of the metadata for an issuer with a path
   * (`/.well-known/oauth-authorization-server/auth`), served too; null when the issuer has no path
   * or the plugin is registered in a prefixed context (serve `server.getMetadata()` there yourself).
   */
  readonly issuerMetadata: string | null;
  /** The OAuth 1.0a endpoints, or null when OAuth 1.0a is off. */
  readonly oauth1: OAuth1Paths | null;
  /** The OpenID Connect endpoints, or null when the `openid` option is off. */
  readonly openid: OpenIdPaths | null;
}

/** The mounted paths of the OpenID Connect endpoints. */
export interface OpenIdPaths {
  readonly userinfo: string;
  /** RP-Initiated Logout; mounted with the browser endpoints only. */
  readonly endSession: string;
  readonly configuration: string;
}

/** The mounted paths of the OAuth 1.0a endpoints (RFC 5849 section 2), prefixes included. */
export interface OAuth1Paths {
  readonly requestToken: string;
  readonly authorization: string;
  readonly accessToken: string;
}

/**
 * `fastify.oauth`: the core server and the operations an application's admin code needs. Frozen,
 * as is `paths`: the plugin's routes and guards were built from these values at registration.
 *
 * Decorated in every setup, as Fastify plugins decorate unconditionally: `scopes` and
 * `declaredScopes()` serve a resource server too. One that checks tokens at a remote authorization
 * server (`resourceServer: { introspection }`) has no store, so there reading `server` throws, the
 * five store operations reject, both with `FST_PORTCULLIS_NO_LOCAL_SERVER`, and `oauth1` is null;
 * typing them nullable instead would make every application with a store check for a setup that
 * has none.
 */
export interface PortcullisDecorator {
  /** The framework-free authorization server of @portcullis/core; throws without `storage`. */
  readonly server: AuthorizationServer;
  readonly scopes: ScopeRegistry;
  readonly paths: MountedPaths;
  /** The OAuth 1.0a provider of @portcullis/core (e.g. `revokeAccessTokens`), or null when off. */
  readonly oauth1: OAuth1Provider | null;
  readonly registerClient: (input: RegisterClientInput) => Promise<RegisteredClient>;
  /**
   * Revokes every OAuth 2 and OAuth 1.0a token the user gave the client; returns the count. The
   * `token.revoked` event names the user as the one who revoked, unless `revokedBy` says `admin`.
   */
  readonly revokeGrant: (userId: string, clientId: string, options?: { revokedBy?: 'user' | 'admin' }) => Promise<number>;
  /** Issues tokens by hand; `resource` as the RFC 8707 parameter, the default audience without it. */
  readonly issueTokens: (input: IssueTokensInput) => Promise<IssuedTokens>;
  /** Deletes a client after revoking its OAuth 2 and OAuth 1.0a tokens, as RFC 7592's DELETE does; whether it existed. */
  readonly deleteClient: (clientId: string) => Promise<boolean>;
  /** Disables or enables a client; disabling revokes its live tokens. The count revoked, or null for an unknown client. */
  readonly setClientDisabled: (clientId: string, disabled: boolean) => Promise<number | null>;
  readonly purgeExpired: (options?: { batchSize?: number }) => Promise<PurgeResult>;
  /**
   * Makes a new signing key per algorithm, published now and signing after `rotationLeadTime`;
   * the old one stays published until the tokens it signed have expired. Rejects without `signingKeys`.
   */
  readonly rotateSigningKeys: () => Promise<SigningKeyInfo[]>;
  /** Every scope any `requireScope` declared, sorted by name, with the routes it guards. */
  readonly declaredScopes: () => DeclaredScope[];
  /** The resource identifiers the guards protect (RFC 8707), the plugin's `resource` first. */
  readonly protectedResources: () => string[];
  /**
   * The URL of a protected resource's metadata (RFC 9728), as the guards' challenges name it in
   * `resource_metadata` (for a handler's own step-up challenge); null for a resource no guard protects.
   */
  readonly resourceMetadataUrl: (resource: string) => string | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    readonly oauth: PortcullisDecorator;
    requireScope: RequireScope;
  }
  interface FastifyRequest {
    /** Set by `requireScope` once the request is authenticated; null before and elsewhere. */
    oauth: RequestAuth | null;
  }
}
