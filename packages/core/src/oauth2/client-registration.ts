import { constantTimeEqual, digestSecret, generateToken } from '../crypto.js';
import { invalidClientMetadata, invalidRedirectUri, invalidRequest, OAuthError } from '../errors.js';
import { headerOf, type OAuthRequest, type OAuthResponse } from '../http.js';
import type { ClientRegistrationEvent, ClientRegistrationMetadata } from '../server-types.js';
import type { ClientMetadataRecord, ClientRecord, ClientUpdate, GrantType, SigningAlgorithm } from '../storage/records.js';
import type { ServerContext } from './options.js';
import { profileRefusal } from './profile.js';
import { assertValidRedirectUri, parseLocationUri } from './redirect-uri.js';
import { emitClientChange } from './client-events.js';
import { deriveResponseTypes, prepareClient } from './register-client.js';
import { createBearerError } from './resource.js';
import { createErrorResponse, createJsonResponse } from './responses.js';

/** The grant types a client may register for itself (the password grant never: it hands over users' passwords). */
const DYNAMIC_GRANT_TYPES: readonly GrantType[] = ['authorization_code', 'refresh_token', 'client_credentials', 'implicit'];
const AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;
/** RFC 7592 section 2.2: values only the server sets; a client sending them back is refused. */
const SERVER_ASSIGNED = ['registration_access_token', 'registration_client_uri', 'client_secret_expires_at', 'client_id_issued_at'];
const MAX_TEXT = 255;
const MAX_URI = 2000;
const MAX_LIST = 20;
// RFC 8252 section 7.1: a private-use scheme is a reverse domain name, so it names its owner.
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/;

/** `POST <routePrefix>/register` (RFC 7591 section 3): registers the client `body` describes. */
export async function handleClientRegistration(context: ServerContext, request: OAuthRequest, body: unknown): Promise<OAuthResponse> {
  try {
    const registration = enabledRegistration(context);
    await checkInitialAccessToken(context, request);
    let metadata = readMetadata(context, body, null);
    if (registration.policy !== undefined) metadata = readMetadata(context, (await registration.policy(metadata, request)) ?? metadata, null);
    const now = context.now();
    // A soft bound: two registrations racing past the count can each be stored.
    if ((await context.options.storage.countUnusedClients(now)) >= registration.maxUnusedClients) {
      throw new OAuthError('temporarily_unavailable', {
        status: 429,
        description: 'Too many registered clients have not obtained a token yet; try again later.',
      });
    }
    const { client, clientSecret } = await prepareRecord(context, metadata);
    const registrationToken = generateToken('registrationAccessToken', context.options.entropy);
    const record: ClientRecord = {
      ...client,
      origin: 'dynamic',
      // Skipping the consent page is the administrator's decision; no registrant can claim it.
      skipConsent: false,
      registrationTokenDigest: digestSecret(registrationToken),
      metadata: toMetadataRecord(metadata),
      unusedExpiresAt: new Date(now.getTime() + registration.unusedClientTtl * 1000),
      lastUsedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    await context.options.storage.createClient(record);
    notify(context, 'registered', record);
    return createJsonResponse(201, describeClient(context, record, clientSecret, registrationToken));
  } catch (thrown) {
    return createErrorResponse(thrown);
  }
}

/**
 * RFC 7592 section 2: `GET` reads, `PUT` replaces (`body` is the whole metadata document) and
 * `DELETE` removes the client at its registration client URI, with its registration access token
 * as a bearer token. A missing client, another client's token or a wrong one is 401
 * `invalid_token` alike (section 2.1), so a caller learns nothing about which clients exist.
 */
export async function handleClientConfiguration(
  context: ServerContext,
  request: OAuthRequest,
  clientId: string,
  body?: unknown,
): Promise<OAuthResponse> {
  try {
    const registration = enabledRegistration(context);
    const client = await authenticateRegistration(context, request, clientId);
    const { storage } = context.options;
    const now = context.now();
    switch (request.method) {
      case 'GET':
        return createJsonResponse(200, describeClient(context, client, null, null));
      case 'PUT': {
        const metadata = readMetadata(context, body, client);
        const prepared = await prepareRecord(context, metadata, client);
        const update: ClientUpdate = {
          name: prepared.client.name,
          redirectUris: prepared.client.redirectUris,
          postLogoutRedirectUris: prepared.client.postLogoutRedirectUris ?? [],
          idTokenSignedResponseAlg: prepared.client.idTokenSignedResponseAlg ?? null,
          scopes: prepared.client.scopes,
          grantTypes: prepared.client.grantTypes,
          responseTypes: prepared.client.responseTypes,
          metadata: toMetadataRecord(metadata),
          updatedAt: now,
        };
        // RFC 7592 section 2.2: the server may issue a new registration access token and a new
        // client secret with the update. The old ones stop working with this write; the new ones
        // are in this response only, their digests at rest.
        const { entropy } = context.options;
        const registrationToken = registration.rotateRegistrationAccessToken ? generateToken('registrationAccessToken', entropy) : null;
        if (registrationToken !== null) update.registrationTokenDigest = digestSecret(registrationToken);
        const clientSecret = registration.rotateClientSecret && client.type === 'confidential' ? generateToken('clientSecret', entropy) : null;
        if (clientSecret !== null) {
          update.secretDigest = digestSecret(clientSecret);
          update.oauth1SecretEncrypted = client.oauth1Enabled && context.secretBox !== null ? context.secretBox.encrypt(clientSecret) : null;
        }
        // Written only while the presented token is still the stored one: of two updates made
        // with one token, or one racing a rotation elsewhere, the second is refused as invalid.
        const updated = await storage.updateClient(client.id, update, { registrationTokenDigest: client.registrationTokenDigest! });
        if (updated === null) throw registrationTokenError(context);
        notify(context, 'updated', updated);
        return createJsonResponse(200, describeClient(context, updated, clientSecret, registrationToken));
      }
      case 'DELETE':
        await deleteClient(context, client.id);
        notify(context, 'deleted', client);
        return { status: 204, headers: { 'cache-control': 'no-store', pragma: 'no-cache' }, body: undefined };
      default:
        throw invalidRequest(`The method ${request.method} is not allowed here.`, { status: 405, headers: { allow: 'GET, PUT, DELETE' } });
    }
  } catch (thrown) {
    return createErrorResponse(thrown);
  }
}

/**
 * Deletes a client after revoking its tokens (RFC 7592 section 2.3: they stop working with it),
 * OAuth 2 and OAuth 1.0a alike. The registration endpoint's DELETE and an administrator's delete
 * both come here. Returns whether the client existed.
 */
export async function deleteClient(context: ServerContext, clientId: string): Promise<boolean> {
  const { storage } = context.options;
  const now = context.now();
  await storage.revokeTokens({ clientId }, now);
  await storage.revokeOAuth1AccessTokens({ clientId }, now);
  await storage.deleteConsents({ clientId });
  return storage.deleteClient(clientId);
}

/**
 * Disables or enables a client of any origin (an administrator's decision). A disabled client is
 * refused at every endpoint, and its live OAuth 2 and OAuth 1.0a tokens are revoked at once, so
 * nothing it obtained keeps working. Returns the number of credentials revoked, or null when the
 * client does not exist. Emits `client.disabled` (and `token.revoked` by `client_disabled`) or,
 * when enabled again, `client.updated`.
 */
export async function setClientDisabled(context: ServerContext, clientId: string, disabled: boolean): Promise<number | null> {
  const { storage } = context.options;
  const now = context.now();
  const client = await storage.updateClient(clientId, { disabled, updatedAt: now });
  if (client === null) return null;
  if (!disabled) {
    emitClientChange(context, 'updated', 'admin', client);
    return 0;
  }
  const count = (await storage.revokeTokens({ clientId }, now)) + (await storage.revokeOAuth1AccessTokens({ clientId }, now));
  emitClientChange(context, 'disabled', 'admin', client);
  context.emit({ type: 'token.revoked', revokedBy: 'client_disabled', clientId, userId: null, tokenKind: null, tokenId: null, familyId: null, count });
  return count;
}

/** `deleteClient` for an administrator (the server's API): the deletion is reported as theirs. */
export async function deleteClientAsAdministrator(context: ServerContext, clientId: string): Promise<boolean> {
  const client = await context.options.storage.findClient(clientId);
  if (client === null) return false;
  const deleted = await deleteClient(context, clientId);
  if (deleted) emitClientChange(context, 'deleted', 'admin', client);
  return deleted;
}

/**
 * Whether a client cannot be used: disabled, or a dynamic registration that obtained no token
 * before its `unusedExpiresAt` (the purge deletes it; until then it is refused as if gone).
 */
export function isClientUnusable(client: Readonly<ClientRecord>, now: Date): boolean {
  return client.disabled || (client.unusedExpiresAt != null && client.unusedExpiresAt <= now);
}

function enabledRegistration(context: ServerContext): NonNullable<ServerContext['registration']> {
  if (context.registration === null) throw invalidRequest('Dynamic client registration is not enabled.', { status: 404 });
  return context.registration;
}

/** The bearer token of `Authorization`, or null when the header carries none. */
function bearerTokenOf(request: OAuthRequest): string | null {
  const header = headerOf(request, 'authorization');
  if (header === undefined) return null;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  return match === null ? '' : match[1]!;
}

/** RFC 7591 section 3: with an initial access token configured, only its bearer may register. */
async function checkInitialAccessToken(context: ServerContext, request: OAuthRequest): Promise<void> {
  const expected = context.registration?.initialAccessToken;
  if (expected === undefined) return;
  const token = bearerTokenOf(request);
  if (token === null) {
    // RFC 6750 section 3.1: a request without credentials gets a challenge with no error code.
    throw new OAuthError('invalid_token', {
      description: 'An initial access token is required to register a client.',
      headers: { 'www-authenticate': `Bearer realm="${context.realm.replace(/["\\]/g, '')}"` },
    });
  }
  const valid =
    typeof expected === 'string'
      ? constantTimeEqual(digestSecret(token), digestSecret(expected))
      : token !== '' && (await expected(token, request));
  if (!valid) throw createBearerError(context, 'invalid_token', 'The initial access token is not valid.');
}

function registrationTokenError(context: ServerContext): OAuthError {
  return createBearerError(context, 'invalid_token', 'The registration access token is not valid for this client.');
}

async function authenticateRegistration(context: ServerContext, request: OAuthRequest, clientId: string): Promise<ClientRecord> {
  const token = bearerTokenOf(request);
  if (token === null) {
    throw new OAuthError('invalid_token', {
      description: 'The registration access token is required.',
      headers: { 'www-authenticate': `Bearer realm="${context.realm.replace(/["\\]/g, '')}"` },
    });
  }
  const client = await context.options.storage.findClient(clientId);
  const digest = digestSecret(token);
  // Compared whether or not the client exists, so the time does not tell.
  const expected = client?.registrationTokenDigest ?? digestSecret('');
  if (!constantTimeEqual(digest, expected) || client === null || client.registrationTokenDigest == null) {
    throw registrationTokenError(context);
  }
  return client;
}

/**
 * Reads and checks an RFC 7591 section 2 metadata document, filling in the defaults of that
 * section. `current` is the client being updated (RFC 7592 section 2.2), or null at registration.
 * Unknown fields are ignored (section 2); a bad value is `invalid_client_metadata` or
 * `invalid_redirect_uri` (section 3.2.2).
 */
function readMetadata(context: ServerContext, body: unknown, current: ClientRecord | null): ClientRegistrationMetadata {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidClientMetadata('The body must be a JSON object of client metadata.');
  const input = body as Record<string, unknown>;
  if (current !== null) {
    for (const name of SERVER_ASSIGNED) if (name in input) throw invalidRequest(`The field ${name} is set by the server and must not be sent.`);
    if (input.client_id !== current.id) throw invalidRequest('The client_id must be the one being updated.');
    if (input.client_secret !== undefined) {
      if (typeof input.client_secret !== 'string' || current.secretDigest === null || !constantTimeEqual(digestSecret(input.client_secret), current.secretDigest)) {
        throw invalidRequest('The client_secret must be the one issued; a client cannot choose its secret.');
      }
    }
  }

  const applicationType = optionalText(input, 'application_type') ?? 'web';
  if (applicationType !== 'web' && applicationType !== 'native') throw invalidClientMetadata('The application_type must be web or native.');
  const method = optionalText(input, 'token_endpoint_auth_method') ?? 'client_secret_basic';
  if (!(AUTH_METHODS as readonly string[]).includes(method)) {
    throw invalidClientMetadata(`The token_endpoint_auth_method must be one of ${AUTH_METHODS.join(', ')}.`);
  }
  const tokenEndpointAuthMethod = method as ClientMetadataRecord['tokenEndpointAuthMethod'];
  if (current !== null && (tokenEndpointAuthMethod === 'none') !== (current.type === 'public')) {
    throw invalidClientMetadata('A client cannot change between public (none) and confidential authentication.');
  }

  const grantTypes = textList(input, 'grant_types') ?? ['authorization_code'];
  const responseTypes = textList(input, 'response_types') ?? ['code'];
  for (const grantType of grantTypes) {
    if (!(DYNAMIC_GRANT_TYPES as readonly string[]).includes(grantType)) throw invalidClientMetadata(`The grant type ${JSON.stringify(grantType)} cannot be registered.`);
  }
  if (grantTypes.includes('implicit')) {
    const refusal = profileRefusal(context.options.profile, 'implicit');
    if (refusal !== null) throw invalidClientMetadata(`The implicit grant cannot be registered: ${refusal}.`);
  }
  // RFC 7591 section 2.1: code goes with authorization_code and token with implicit, both ways.
  const expected = deriveResponseTypes(grantTypes as GrantType[]);
  const given = [...new Set(responseTypes)];
  if (given.length !== expected.length || !given.every((type) => (expected as string[]).includes(type))) {
    throw invalidClientMetadata(
      `The response_types ${JSON.stringify(given)} do not match the grant_types: ${JSON.stringify(expected)} go with them.`,
    );
  }
  if (tokenEndpointAuthMethod === 'none' && grantTypes.includes('client_credentials')) {
    throw invalidClientMetadata('A client without a secret (token_endpoint_auth_method none) cannot use client_credentials.');
  }

  const redirectUris = textList(input, 'redirect_uris') ?? [];
  for (const uri of redirectUris) checkRedirectUri(context, uri, applicationType);
  if (redirectUris.length === 0 && (grantTypes.includes('authorization_code') || grantTypes.includes('implicit'))) {
    throw invalidRedirectUri('A client using the authorization endpoint must register at least one redirect URI.');
  }

  // RP-Initiated Logout 1.0 section 3.1: where logout may send the browser, held to the same rules
  // as redirect URIs, since it is one.
  const postLogoutRedirectUris = textList(input, 'post_logout_redirect_uris') ?? [];
  for (const uri of postLogoutRedirectUris) checkRedirectUri(context, uri, applicationType);

  const scope = optionalText(input, 'scope');
  const contacts = textList(input, 'contacts') ?? [];
  return {
    redirect_uris: [...new Set(redirectUris)],
    post_logout_redirect_uris: [...new Set(postLogoutRedirectUris)],
    id_token_signed_response_alg: optionalText(input, 'id_token_signed_response_alg'),
    grant_types: [...new Set(grantTypes)] as GrantType[],
    response_types: given as ClientRegistrationMetadata['response_types'],
    token_endpoint_auth_method: tokenEndpointAuthMethod,
    application_type: applicationType,
    client_name: optionalText(input, 'client_name'),
    client_uri: optionalUri(context, input, 'client_uri'),
    logo_uri: optionalUri(context, input, 'logo_uri'),
    scope: scope === null ? null : scope.split(' ').filter((name) => name !== '').join(' '),
    contacts,
    software_id: optionalText(input, 'software_id'),
    software_version: optionalText(input, 'software_version'),
  };
}

/**
 * RFC 7591 section 5 and RFC 8252: a web client's redirect URIs are https (http on loopback for
 * local clients); a native client may also use a private-use scheme that is a reverse domain name.
 */
function checkRedirectUri(context: ServerContext, uri: string, applicationType: 'web' | 'native'): void {
  try {
    assertValidRedirectUri(uri, context.options.enforceSecure);
  } catch (error) {
    if (error instanceof OAuthError) throw invalidRedirectUri(error.description);
    throw error;
  }
  const scheme = new URL(uri).protocol.toLowerCase();
  if (scheme === 'https:' || scheme === 'http:') return;
  if (applicationType === 'web') throw invalidRedirectUri(`A web client's redirect URI must use https, not ${scheme}.`);
  if (!PRIVATE_USE_SCHEME.test(scheme)) {
    throw invalidRedirectUri(`A native client's private-use scheme must be a reverse domain name (RFC 8252 section 7.1), not ${scheme}.`);
  }
}

function optionalText(input: Record<string, unknown>, name: string): string | null {
  const value = input[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > MAX_TEXT || value.trim() === '') {
    throw invalidClientMetadata(`The ${name} must be a non-empty string of at most ${MAX_TEXT} characters.`);
  }
  return value;
}

function optionalUri(context: ServerContext, input: Record<string, unknown>, name: string): string | null {
  const value = input[name];
  if (value === undefined || value === null) return null;
  const url = typeof value === 'string' && value.length <= MAX_URI ? parseLocationUri(value) : null;
  const secure = url !== null && (url.protocol === 'https:' || (!context.options.enforceSecure && url.protocol === 'http:'));
  if (!secure || url.username !== '' || url.password !== '') throw invalidClientMetadata(`The ${name} must be an https URL.`);
  return value as string;
}

function textList(input: Record<string, unknown>, name: string): string[] | null {
  const value = input[name];
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.length > MAX_LIST || !value.every((item) => typeof item === 'string' && item.length <= MAX_URI)) {
    throw invalidClientMetadata(`The ${name} must be an array of at most ${MAX_LIST} strings.`);
  }
  return value as string[];
}

/** The checks every client passes (scopes known, grant types allowed), with their errors as RFC 7591's. */
async function prepareRecord(context: ServerContext, metadata: ClientRegistrationMetadata, current?: ClientRecord) {
  const scopes = metadata.scope === null ? undefined : metadata.scope.split(' ');
  try {
    return await prepareClient(context, {
      name: metadata.client_name ?? current?.name ?? 'Unnamed client',
      type: metadata.token_endpoint_auth_method === 'none' ? 'public' : 'confidential',
      redirectUris: metadata.redirect_uris,
      postLogoutRedirectUris: metadata.post_logout_redirect_uris,
      idTokenSignedResponseAlg: metadata.id_token_signed_response_alg as SigningAlgorithm | null,
      grantTypes: metadata.grant_types,
      ...(scopes === undefined ? {} : { scopes }),
    });
  } catch (error) {
    if (error instanceof OAuthError && error.error === 'invalid_request') throw invalidClientMetadata(error.description);
    throw error;
  }
}

function toMetadataRecord(metadata: ClientRegistrationMetadata): ClientMetadataRecord {
  return {
    applicationType: metadata.application_type,
    tokenEndpointAuthMethod: metadata.token_endpoint_auth_method,
    clientUri: metadata.client_uri,
    logoUri: metadata.logo_uri,
    contacts: metadata.contacts,
    softwareId: metadata.software_id,
    softwareVersion: metadata.software_version,
  };
}

/** RFC 7591 section 3.2.1 and RFC 7592 section 3: the client information response. */
function describeClient(
  context: ServerContext,
  client: ClientRecord,
  clientSecret: string | null,
  registrationToken: string | null,
): Record<string, unknown> {
  const metadata = client.metadata ?? null;
  const base = context.options.issuer.replace(/\/+$/, '');
  const optional = (name: string, value: string | null | undefined) => (value == null ? {} : { [name]: value });
  return {
    client_id: client.id,
    ...(clientSecret === null ? {} : { client_secret: clientSecret, client_secret_expires_at: 0 }),
    client_id_issued_at: Math.floor(client.createdAt.getTime() / 1000),
    ...(registrationToken === null ? {} : { registration_access_token: registrationToken }),
    registration_client_uri: `${base}${context.options.endpoints.registration}/${encodeURIComponent(client.id)}`,
    client_name: client.name,
    redirect_uris: [...client.redirectUris],
    ...((client.postLogoutRedirectUris ?? []).length > 0 && { post_logout_redirect_uris: [...(client.postLogoutRedirectUris ?? [])] }),
    grant_types: [...client.grantTypes],
    response_types: [...client.responseTypes],
    token_endpoint_auth_method: metadata?.tokenEndpointAuthMethod ?? (client.type === 'public' ? 'none' : 'client_secret_basic'),
    application_type: metadata?.applicationType ?? 'web',
    scope: client.scopes.join(' '),
    ...optional('client_uri', metadata?.clientUri),
    ...optional('logo_uri', metadata?.logoUri),
    ...(metadata !== null && metadata.contacts.length > 0 ? { contacts: [...metadata.contacts] } : {}),
    ...optional('software_id', metadata?.softwareId),
    ...optional('software_version', metadata?.softwareVersion),
    ...optional('id_token_signed_response_alg', client.idTokenSignedResponseAlg),
  };
}

/**
 * Tells the listeners (`client.<action>` events, and the older `onClientRegistration`), with no
 * secret and no digest in what they get.
 */
function notify(context: ServerContext, action: ClientRegistrationEvent['action'], client: ClientRecord): void {
  emitClientChange(context, action, 'registration_endpoint', client);
  const listener = context.registration?.onClientRegistration;
  if (listener === undefined) return;
  const event: ClientRegistrationEvent = {
    action,
    clientId: client.id,
    clientName: client.name,
    type: client.type,
    redirectUris: [...client.redirectUris],
    grantTypes: [...client.grantTypes],
    scopes: [...client.scopes],
    softwareId: client.metadata?.softwareId ?? null,
  };
  try {
    listener(event);
  } catch {
    // A listener's failure is the application's; the registration stands.
  }
}
