import { digestSecret, generateToken } from '../crypto.js';
import { invalidRequest } from '../errors.js';
import type { RegisterClientInput, RegisteredClient } from '../server-types.js';
import type { ClientRecord, ClientType, GrantType, ResponseType } from '../storage/records.js';
import type { ServerContext } from './options.js';
import { profileRefusal } from './profile.js';
import { assertValidRedirectUri } from './redirect-uri.js';
import { isResourceIndicator } from './resource-indicators.js';
import { emitClientChange } from './client-events.js';

export const GRANT_TYPES: readonly GrantType[] = [
  'authorization_code',
  'implicit',
  'password',
  'client_credentials',
  'refresh_token',
  'urn:ietf:params:oauth:grant-type:device_code',
];

/** The Django providers issued refresh tokens with codes, so a client gets both unless it says otherwise. */
export const DEFAULT_GRANT_TYPES: readonly GrantType[] = ['authorization_code', 'refresh_token'];

// RFC 6749 appendix A.1: client_id = *VSCHAR (printable ASCII). An id also travels in URLs and
// OAuth 1.0a signatures, so it is kept short.
const CLIENT_ID = /^[\x20-\x7e]{1,128}$/;

/** The response types that go with the grant types: code with authorization_code, token with implicit. */
export function deriveResponseTypes(grantTypes: readonly GrantType[]): ResponseType[] {
  const types: ResponseType[] = [];
  if (grantTypes.includes('authorization_code')) types.push('code');
  if (grantTypes.includes('implicit')) types.push('token');
  return types;
}

/**
 * Registers a client, as oauthost's `register_client(name, client_id, redirect_uri, user,
 * scopes_list)` does: checks the input, generates what is missing, and stores the client with
 * only the digest of its secret. The secret is returned in clear this once. Bad input throws an
 * `invalid_request` OAuthError whose description names the problem, and stores nothing.
 */
export async function registerClient(context: ServerContext, input: RegisterClientInput): Promise<RegisteredClient> {
  const registered = await prepareClient(context, input);
  await context.options.storage.createClient(registered.client);
  emitClientChange(context, 'registered', 'admin', registered.client);
  return registered;
}

/**
 * The checks and record of `registerClient`, without storing it: dynamic registration (RFC 7591)
 * adds its own fields to the record before storing it.
 */
export async function prepareClient(context: ServerContext, input: RegisterClientInput): Promise<RegisteredClient> {
  const { options, scopes, secretBox } = context;
  if (typeof input !== 'object' || input === null) throw invalidRequest('registerClient needs an input object.');
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name === '') throw invalidRequest('A client needs a name.');
  const type: ClientType = input.type ?? 'confidential';
  if (type !== 'confidential' && type !== 'public') throw invalidRequest(`The client type ${JSON.stringify(type)} is neither confidential nor public.`);

  const grantTypes = [...new Set(input.grantTypes ?? DEFAULT_GRANT_TYPES)];
  for (const grantType of grantTypes) {
    if (!GRANT_TYPES.includes(grantType)) throw invalidRequest(`The grant type ${JSON.stringify(grantType)} is not supported.`);
  }
  if (grantTypes.length === 0) throw invalidRequest('A client needs at least one grant type.');
  for (const feature of ['implicit', 'password'] as const) {
    const refusal = grantTypes.includes(feature) ? profileRefusal(options.profile, feature) : null;
    if (refusal !== null) throw invalidRequest(`The client cannot have the ${feature} grant type: ${refusal}.`);
  }
  if (type === 'public' && grantTypes.includes('client_credentials')) {
    throw invalidRequest('A public client cannot use client_credentials: it has no secret to prove itself with.');
  }
  // RFC 9700 section 2.4: the password grant hands the client the user's password; only a
  // client that proves itself with a secret may ask for it.
  if (type === 'public' && grantTypes.includes('password')) {
    throw invalidRequest('A public client cannot use the password grant: it has no secret to prove itself with.');
  }

  const redirectUris = [...new Set(input.redirectUris ?? [])];
  for (const uri of redirectUris) assertValidRedirectUri(uri, options.enforceSecure);
  if (redirectUris.length === 0 && (grantTypes.includes('authorization_code') || grantTypes.includes('implicit'))) {
    throw invalidRequest('A client using the authorization endpoint needs at least one redirect URI.');
  }

  const postLogoutRedirectUris = [...new Set(input.postLogoutRedirectUris ?? [])];
  if (!Array.isArray(input.postLogoutRedirectUris ?? [])) throw invalidRequest('The post-logout redirect URIs must be a list.');
  for (const uri of postLogoutRedirectUris) assertValidRedirectUri(uri, options.enforceSecure);

  const idTokenAlg = input.idTokenSignedResponseAlg ?? null;
  if (idTokenAlg !== null) {
    if (context.openid === null) throw invalidRequest('An ID token algorithm needs OpenID Connect (the openid option).');
    if (!context.openid.keys.supportedAlgorithms.includes(idTokenAlg)) {
      throw invalidRequest(`The ID token algorithm must be one the server signs with: ${context.openid.keys.supportedAlgorithms.join(', ')}.`);
    }
  }

  const clientScopes = [...new Set(input.scopes ?? (options.defaultScopes.length > 0 ? options.defaultScopes : scopes.list().map((scope) => scope.name)))];
  const unknownScopes = clientScopes.filter((scope) => !scopes.has(scope));
  if (unknownScopes.length > 0) {
    const known = scopes.list().map((scope) => scope.name).join(', ');
    throw invalidRequest(`The scope registry does not define ${unknownScopes.map((scope) => JSON.stringify(scope)).join(', ')}; known scopes: ${known}.`);
  }

  // Not checked against the server's resources: guards may register theirs after the client.
  const resources = input.resources === undefined || input.resources === null ? null : input.resources;
  if (resources !== null) {
    if (!Array.isArray(resources)) throw invalidRequest('The resources must be a list of resource identifiers, or null for any.');
    for (const resource of resources) {
      if (!isResourceIndicator(resource)) throw invalidRequest(`The resource ${JSON.stringify(resource)} is not an absolute URI without a fragment.`);
    }
  }

  const oauth1Enabled = input.oauth1Enabled ?? false;
  if (oauth1Enabled) {
    if (secretBox === null) {
      throw new TypeError('registering an OAuth 1.0a client (oauth1Enabled) needs the secretKey option of createAuthorizationServer to encrypt its secret');
    }
    if (type !== 'confidential') throw invalidRequest('An OAuth 1.0a consumer must be a confidential client: it signs with its secret.');
  }

  if (input.skipConsent !== undefined && typeof input.skipConsent !== 'boolean') throw invalidRequest('skipConsent must be true or false.');
  const lifetimes = {
    accessTokenTtl: checkClientLifetime('accessTokenTtl', input.accessTokenTtl),
    refreshTokenTtl: checkClientLifetime('refreshTokenTtl', input.refreshTokenTtl),
    authorizationCodeTtl: checkClientLifetime('authorizationCodeTtl', input.authorizationCodeTtl),
  };

  let id: string;
  if (input.clientId !== undefined) {
    if (typeof input.clientId !== 'string' || !CLIENT_ID.test(input.clientId)) {
      throw invalidRequest('A client id is 1 to 128 printable ASCII characters.');
    }
    if ((await options.storage.findClient(input.clientId)) !== null) throw invalidRequest(`The client id ${JSON.stringify(input.clientId)} is taken.`);
    id = input.clientId;
  } else {
    // 128 bits: an identifier, public, so it need not be as long as a secret.
    id = generateToken('clientId', options.entropy, 16);
  }

  const clientSecret = type === 'confidential' ? generateToken('clientSecret', options.entropy) : null;
  const now = context.now();
  const client: ClientRecord = {
    id,
    name,
    type,
    secretDigest: clientSecret === null ? null : digestSecret(clientSecret),
    redirectUris,
    scopes: clientScopes,
    resources: resources === null ? null : [...new Set(resources)],
    grantTypes,
    responseTypes: deriveResponseTypes(grantTypes),
    ownerId: input.ownerId ?? null,
    oauth1Enabled,
    oauth1SecretEncrypted: oauth1Enabled && clientSecret !== null && secretBox !== null ? secretBox.encrypt(clientSecret) : null,
    rsaPublicKey: input.rsaPublicKey ?? null,
    disabled: false,
    createdAt: now,
    updatedAt: now,
    origin: 'admin',
    registrationTokenDigest: null,
    metadata: null,
    unusedExpiresAt: null,
    lastUsedAt: null,
    postLogoutRedirectUris,
    idTokenSignedResponseAlg: idTokenAlg,
    skipConsent: input.skipConsent ?? false,
    ...lifetimes,
  };
  return { client, clientSecret };
}

/**
 * A client's own lifetime of its codes or tokens, in seconds: a whole number from 1 to ten years,
 * or null (absent) for the server's option. Also for applications checking an update.
 */
export function checkClientLifetime(name: 'accessTokenTtl' | 'refreshTokenTtl' | 'authorizationCodeTtl', value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > MAX_CLIENT_LIFETIME) {
    throw invalidRequest(`${name} must be a whole number of seconds from 1 to ${MAX_CLIENT_LIFETIME}, or null for the server's.`);
  }
  return value;
}

/** Ten years: beyond it a lifetime is a mistake, and milliseconds past it leave a safe integer. */
const MAX_CLIENT_LIFETIME = 10 * 366 * 24 * 3600;
