import { createDefaultScopes, type ScopeRegistry } from '@portcullis/scopes';
import { SecretBox, systemEntropy } from '../crypto.js';
import { checkEventListener, createEventEmitter, type EmitEvent } from '../events.js';
import { isResourceIndicator } from './resource-indicators.js';
import type { AccessTokenFormat, AuthorizationServer, AuthorizationServerOptions, ClientIdMetadataDocumentOptions, EndpointPaths, IntrospectionPolicy, RegistrationOptions } from '../server-types.js';
import { profileRefusal, resolveProfile } from './profile.js';
import type { RedirectMatching } from './redirect-uri.js';
import type { ClientRecord } from '../storage/records.js';
import { ClientMetadataResolver } from './client-metadata-document.js';
import { checkClientMetadataOptions } from './client-metadata-options.js';
import { resolveSigningKeysOptions, StoredSigningKeyRing, type SigningKeyRing } from './signing-keys.js';
import { resolveOpenId, type OpenIdContext } from './openid.js';

/** The endpoints' default paths, used in the metadata document unless the options move them. */
export const DEFAULT_ENDPOINTS: EndpointPaths = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  revocation: '/oauth/revoke',
  introspection: '/oauth/introspect',
  registration: '/oauth/register',
  jwks: '/oauth/jwks.json',
  userinfo: '/oauth/userinfo',
  endSession: '/oauth/logout',
  deviceAuthorization: '/oauth/device_authorization',
  deviceVerification: '/oauth/device',
};

export const DEFAULT_UNUSED_CLIENT_TTL = 24 * 3600;
export const DEFAULT_MAX_UNUSED_CLIENTS = 1000;

export const DEFAULT_ACCESS_TOKEN_TTL = 3600;
export const DEFAULT_REFRESH_TOKEN_TTL = 30 * 24 * 3600;
export const DEFAULT_AUTHORIZATION_CODE_TTL = 60;
export const DEFAULT_DEVICE_CODE_TTL = 600;
export const DEFAULT_DEVICE_CODE_INTERVAL = 5;
export const DEFAULT_JWT_CLOCK_TOLERANCE = 5;

export type ResolvedOptions = AuthorizationServer['options'];

/**
 * Everything an endpoint needs, resolved once at construction so the request paths do no option
 * lookups or defaulting.
 */
export interface ServerContext {
  readonly options: ResolvedOptions;
  readonly scopes: ScopeRegistry;
  readonly verifyUser: AuthorizationServerOptions['verifyUser'];
  readonly findUsername: AuthorizationServerOptions['findUsername'];
  /** Asked whether another client may introspect a token; the default admits none. */
  readonly introspectionPolicy: IntrospectionPolicy;
  readonly secretBox: SecretBox | null;
  /** How requested redirect URIs match registered ones beyond exact equality. */
  readonly redirectMatching: RedirectMatching;
  /** The resource identifiers (RFC 8707) tokens may be issued for; grows with `registerResource`. */
  readonly resources: Set<string>;
  /** The access token format of each resource that has its own (`registerResource`). */
  readonly resourceFormats: Map<string, AccessTokenFormat>;
  /**
   * Throws a TypeError, naming `where`, when `format` cannot be used by this server: `jwt`
   * without signing keys, or with keys that stop being published before such a token expires.
   */
  checkAccessTokenFormat(where: string, format: unknown): AccessTokenFormat;
  /** The realm of `WWW-Authenticate` challenges. */
  readonly realm: string;
  readonly now: () => Date;
  /** Dynamic client registration with its defaults, or null when it is off. */
  readonly registration: Readonly<Required<Omit<RegistrationOptions, 'initialAccessToken' | 'policy' | 'onClientRegistration'>> & Pick<RegistrationOptions, 'initialAccessToken' | 'policy' | 'onClientRegistration'>> | null;
  /** Resolves `client_id` URLs through their metadata documents; null unless enabled. */
  readonly clientMetadata: ClientMetadataResolver | null;
  /** The signing keys, or null when `signingKeys` is not set. */
  readonly signingKeys: SigningKeyRing | null;
  /** OpenID Connect, or null when off. */
  readonly openid: OpenIdContext | null;
  /** Tells `onEvent` and the diagnostics channels what happened; never throws. */
  readonly emit: EmitEvent;
  /** Calls `storage.purgeExpired` when `deleteExpired` is on, at most once a minute of clock time. */
  purgeExpiredLazily(): Promise<void>;
}

/** Checks the options and fills in the defaults; throws a TypeError naming the bad option. */
export function resolveOptions(input: AuthorizationServerOptions): ServerContext {
  if (typeof input !== 'object' || input === null) throw new TypeError('createAuthorizationServer needs an options object');
  if (typeof input.storage !== 'object' || input.storage === null) {
    throw new TypeError('options.storage is required: an OAuthStorage such as MemoryStorage');
  }
  if (typeof input.issuer !== 'string' || !URL.canParse(input.issuer)) {
    throw new TypeError('options.issuer must be an absolute URL, e.g. https://auth.example.com');
  }
  const issuerUrl = new URL(input.issuer);
  if (issuerUrl.search !== '' || issuerUrl.hash !== '' || input.issuer.includes('#') || input.issuer.includes('?')) {
    throw new TypeError('options.issuer must not have a query or a fragment (RFC 8414 section 2)');
  }
  const accessTokenTtl = checkTtl('accessTokenTtl', input.accessTokenTtl, DEFAULT_ACCESS_TOKEN_TTL);
  const refreshTokenTtl = checkTtl('refreshTokenTtl', input.refreshTokenTtl, DEFAULT_REFRESH_TOKEN_TTL);
  const authorizationCodeTtl = checkTtl('authorizationCodeTtl', input.authorizationCodeTtl, DEFAULT_AUTHORIZATION_CODE_TTL);
  const refreshTokenReuseInterval =
    input.refreshTokenReuseInterval === 0 ? 0 : checkTtl('refreshTokenReuseInterval', input.refreshTokenReuseInterval, 0);
  const refreshTokenMaxLifetime =
    input.refreshTokenMaxLifetime == null ? null : checkTtl('refreshTokenMaxLifetime', input.refreshTokenMaxLifetime, 0);
  const deviceCodeTtl = checkTtl('deviceCodeTtl', input.deviceCodeTtl, DEFAULT_DEVICE_CODE_TTL);
  const deviceCodeInterval = checkTtl('deviceCodeInterval', input.deviceCodeInterval, DEFAULT_DEVICE_CODE_INTERVAL);
  const scopes = input.scopes ?? createDefaultScopes();
  const defaultScopes = [...(input.defaultScopes ?? [])];
  for (const name of defaultScopes) {
    if (!scopes.has(name)) throw new TypeError(`options.defaultScopes names ${JSON.stringify(name)}, which the scope registry does not define`);
  }
  const endpoints: EndpointPaths = { ...DEFAULT_ENDPOINTS, ...input.endpoints };
  for (const [name, path] of Object.entries(endpoints)) {
    if (name === 'authorization' && path === null) continue;
    if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError(`options.endpoints.${name} must be a path starting with /`);
  }
  if (input.verifyUser !== undefined && typeof input.verifyUser !== 'function') throw new TypeError('options.verifyUser must be a function');
  const profile = resolveProfile(input.profile);
  const enabled = { verifyUser: input.verifyUser !== undefined, allowPlainPkce: input.allowPlainPkce === true };
  for (const [name, feature] of [['verifyUser', 'password'], ['allowPlainPkce', 'plainPkce']] as const) {
    const refusal = enabled[name] ? profileRefusal(profile, feature) : null;
    if (refusal !== null) throw new TypeError(`options.${name} cannot be set: ${refusal}`);
  }
  for (const name of ['allowPlainPkce', 'allowLocalhostAnyPort'] as const) {
    if (input[name] !== undefined && typeof input[name] !== 'boolean') throw new TypeError(`options.${name} must be a boolean`);
  }
  if (input.findUsername !== undefined && typeof input.findUsername !== 'function') throw new TypeError('options.findUsername must be a function');
  if (input.introspectionPolicy !== undefined && typeof input.introspectionPolicy !== 'function') {
    throw new TypeError('options.introspectionPolicy must be a function (client, token) => boolean');
  }
  const resources = new Set<string>();
  for (const [name, list] of [['resources', input.resources], ['defaultAudience', input.defaultAudience]] as const) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new TypeError(`options.${name} must be an array of resource identifiers`);
    for (const resource of list) resources.add(checkResource(`options.${name}`, resource));
  }
  const defaultAudience = [...new Set(input.defaultAudience ?? [])];
  const entropy = input.entropy ?? systemEntropy;
  let secretBox: SecretBox | null = null;
  if (input.secretKey !== undefined) {
    try {
      secretBox = new SecretBox(input.secretKey, entropy);
    } catch {
      throw new TypeError('options.secretKey must be 32 bytes: a Uint8Array, 64 hex characters or 43 base64url characters');
    }
  }
  const clock = input.clock ?? (() => new Date());
  let signingKeys: SigningKeyRing | null = null;
  // Why this server cannot make JWT access tokens, or null when it can.
  let jwtRefusal: string | null = 'JWT access tokens need options.signingKeys';
  if (input.signingKeys !== undefined) {
    const resolved = resolveSigningKeysOptions(input.signingKeys, accessTokenTtl);
    if (secretBox === null) throw new TypeError('options.signingKeys needs options.secretKey: it seals the private keys at rest');
    signingKeys = new StoredSigningKeyRing(input.storage, secretBox, clock, resolved);
    // A key leaves the JWK Set maxTokenLifetime after it stops signing: a token living longer
    // would outlive the key that checks it.
    jwtRefusal =
      resolved.maxTokenLifetime < accessTokenTtl
        ? `JWT access tokens live accessTokenTtl (${accessTokenTtl}s), longer than options.signingKeys.maxTokenLifetime (${resolved.maxTokenLifetime}s) keeps their keys published`
        : null;
  }
  const emit = createEventEmitter(input.issuer, clock, checkEventListener('options.onEvent', input.onEvent));
  const checkAccessTokenFormat = (where: string, format: unknown): AccessTokenFormat => {
    if (format !== 'opaque' && format !== 'jwt') throw new TypeError(`${where} must be 'opaque' or 'jwt'`);
    if (format === 'jwt' && jwtRefusal !== null) throw new TypeError(`${where} cannot be 'jwt': ${jwtRefusal}`);
    return format;
  };
  const accessTokenFormat = checkAccessTokenFormat('options.accessTokenFormat', input.accessTokenFormat ?? 'opaque');
  const jwtAccessTokens = resolveJwtAccessTokens(input.jwtAccessTokens);
  const documents = checkClientMetadataOptions(input.clientIdMetadataDocuments);
  const options: ResolvedOptions = Object.freeze({
    storage: input.storage,
    scopes,
    issuer: input.issuer,
    endpoints: Object.freeze(endpoints),
    accessTokenTtl,
    refreshTokenTtl,
    authorizationCodeTtl,
    refreshTokenReuseInterval,
    refreshTokenMaxLifetime,
    deviceCodeTtl,
    deviceCodeInterval,
    deleteExpired: input.deleteExpired ?? false,
    singleAccessToken: input.singleAccessToken ?? false,
    accessTokenFormat,
    jwtAccessTokens,
    enforceSecure: input.enforceSecure ?? true,
    profile,
    allowPlainPkce: input.allowPlainPkce ?? false,
    allowLocalhostAnyPort: input.allowLocalhostAnyPort ?? false,
    defaultScopes: Object.freeze(defaultScopes) as string[],
    defaultAudience: Object.freeze(defaultAudience) as string[],
    clock,
    entropy,
  });

  let lastPurge = Number.NEGATIVE_INFINITY;
  return {
    options,
    scopes,
    verifyUser: input.verifyUser,
    findUsername: input.findUsername,
    introspectionPolicy: input.introspectionPolicy ?? admitNoOtherClient,
    secretBox,
    redirectMatching: Object.freeze({ localhostAnyPort: options.allowLocalhostAnyPort }),
    resources,
    resourceFormats: new Map(),
    checkAccessTokenFormat,
    realm: input.issuer,
    now: clock,
    registration: resolveRegistration(input.registration),
    signingKeys,
    openid: resolveOpenId(input.openid, scopes, secretBox, signingKeys),
    clientMetadata: documents === null ? null : new ClientMetadataResolver(withFetchEvents(documents, emit), scopes, clock, options.enforceSecure),
    emit,
    async purgeExpiredLazily() {
      if (!options.deleteExpired) return;
      const now = clock();
      // One purge a minute is enough to keep tables small; a purge per expired row met would let
      // a client replaying an expired token drive a table scan per request.
      if (now.getTime() - lastPurge < 60_000) return;
      lastPurge = now.getTime();
      try {
        await options.storage.purgeExpired(now, { batchSize: 500 });
      } catch {
        // The answer to the request does not depend on the purge; the next one will try again.
      }
    },
  };
}

function resolveJwtAccessTokens(input: AuthorizationServerOptions['jwtAccessTokens']): ResolvedOptions['jwtAccessTokens'] {
  if (input !== undefined && (typeof input !== 'object' || input === null)) throw new TypeError('options.jwtAccessTokens must be an object');
  const revocationCheck = input?.revocationCheck ?? 'always';
  if (revocationCheck !== 'always' && revocationCheck !== 'never') {
    throw new TypeError("options.jwtAccessTokens.revocationCheck must be 'always' or 'never'");
  }
  const clockTolerance = input?.clockTolerance ?? DEFAULT_JWT_CLOCK_TOLERANCE;
  if (!Number.isSafeInteger(clockTolerance) || clockTolerance < 0) {
    throw new TypeError('options.jwtAccessTokens.clockTolerance must be a whole number of seconds, 0 or more');
  }
  return Object.freeze({ revocationCheck, clockTolerance });
}

function resolveRegistration(input: RegistrationOptions | undefined): ServerContext['registration'] {
  if (input === undefined) return null;
  if (typeof input !== 'object' || input === null || typeof input.enabled !== 'boolean') {
    throw new TypeError('options.registration must be an object with enabled: true or false');
  }
  if (!input.enabled) return null;
  const token = input.initialAccessToken;
  if (token !== undefined && typeof token !== 'function' && (typeof token !== 'string' || token.length < 32)) {
    throw new TypeError('options.registration.initialAccessToken must be a function or a string of at least 32 characters');
  }
  for (const name of ['policy', 'onClientRegistration'] as const) {
    if (input[name] !== undefined && typeof input[name] !== 'function') throw new TypeError(`options.registration.${name} must be a function`);
  }
  for (const name of ['rotateRegistrationAccessToken', 'rotateClientSecret'] as const) {
    if (input[name] !== undefined && typeof input[name] !== 'boolean') throw new TypeError(`options.registration.${name} must be true or false`);
  }
  const maxUnusedClients = input.maxUnusedClients ?? DEFAULT_MAX_UNUSED_CLIENTS;
  if (!Number.isSafeInteger(maxUnusedClients) || maxUnusedClients < 1) {
    throw new TypeError('options.registration.maxUnusedClients must be a whole number, 1 or more');
  }
  return Object.freeze({
    enabled: true,
    unusedClientTtl: checkTtl('registration.unusedClientTtl', input.unusedClientTtl, DEFAULT_UNUSED_CLIENT_TTL),
    maxUnusedClients,
    rotateRegistrationAccessToken: input.rotateRegistrationAccessToken ?? true,
    rotateClientSecret: input.rotateClientSecret ?? false,
    initialAccessToken: token,
    policy: input.policy,
    onClientRegistration: input.onClientRegistration,
  });
}

/** Each document fetch becomes a `client_metadata.fetched` event, and still reaches `onFetch`. */
function withFetchEvents<T extends Pick<ClientIdMetadataDocumentOptions, 'onFetch'>>(documents: T, emit: EmitEvent): T {
  const { onFetch } = documents;
  return {
    ...documents,
    onFetch: (event) => {
      emit({ type: 'client_metadata.fetched', ...event });
      onFetch?.(event);
    },
  };
}

/** The lifetimes of a client's codes and tokens: its own where set, the server's otherwise. */
export interface TokenLifetimes {
  accessTokenTtl: number;
  refreshTokenTtl: number;
  authorizationCodeTtl: number;
}

export function lifetimesOf(context: ServerContext, client: Pick<ClientRecord, 'accessTokenTtl' | 'refreshTokenTtl' | 'authorizationCodeTtl'>): TokenLifetimes {
  const { options } = context;
  return {
    accessTokenTtl: client.accessTokenTtl ?? options.accessTokenTtl,
    refreshTokenTtl: client.refreshTokenTtl ?? options.refreshTokenTtl,
    authorizationCodeTtl: client.authorizationCodeTtl ?? options.authorizationCodeTtl,
  };
}

/** No client but the token's own learns about it unless the application says otherwise. */
const admitNoOtherClient: IntrospectionPolicy = () => false;

/** A resource identifier as RFC 8707 section 2 defines it, or a TypeError naming where it came from. */
export function checkResource(where: string, resource: unknown): string {
  if (!isResourceIndicator(resource)) {
    throw new TypeError(`${where}: ${JSON.stringify(resource)} is not a resource identifier (an absolute URI without a fragment)`);
  }
  return resource;
}

function checkTtl(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new TypeError(`options.${name} must be a positive whole number of seconds`);
  return value;
}
