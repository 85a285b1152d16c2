import type { ScopeRegistry } from '@portcullis/scopes';
import type { ClientIdMetadataDocumentOptions, ClientMetadataFetchEvent } from '../server-types.js';
import type { ClientRecord, GrantType } from '../storage/records.js';
import { DocumentFetchError, fetchClientMetadataDocument, type DocumentFetchLimits } from './client-metadata-fetch.js';
import { assertValidRedirectUri } from './redirect-uri.js';

export const DEFAULT_DOCUMENT_MAX_BYTES = 5 * 1024;
export const DEFAULT_DOCUMENT_TIMEOUT = 3000;
export const DEFAULT_DOCUMENT_CACHE_TTL = { min: 60, max: 24 * 3600 };
export const DEFAULT_DOCUMENT_CACHE_SIZE = 1000;

/** The storage's client id columns hold 128 characters; a longer URL could never be a grant's client. */
const MAX_CLIENT_ID_LENGTH = 128;

/** The grant types a client described by a document may use: it is public, so it has a browser flow. */
const DOCUMENT_GRANT_TYPES: readonly GrantType[] = ['authorization_code', 'refresh_token'];

/** Why a document-described client cannot be used; the message is safe to show to the user. */
export class ClientMetadataRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientMetadataRefusal';
  }
}

/** What the consent page says about where a client's description came from. */
export interface ClientMetadataSource {
  host: string;
  /** Whether `isTrustedHost` vouches for the host; the consent page warns when it does not. */
  trusted: boolean;
}

interface CachedClient {
  client: ClientRecord;
  expiresAt: number;
}

/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a `client_id` that
 * is an https URL names the JSON document describing the client. It is fetched (guarded, see
 * `fetchClientMetadataDocument`), checked, and kept in a bounded cache for as long as its
 * `Cache-Control` says within the configured bounds. Nothing is stored: the client exists only
 * while its document is cached, and once an entry is past its bound a failing fetch refuses the
 * client rather than serve the old document.
 */
export class ClientMetadataResolver {
  readonly #options: Required<Pick<ClientIdMetadataDocumentOptions, 'allowHost' | 'isTrustedHost'>> &
    Pick<ClientIdMetadataDocumentOptions, 'onFetch'>;
  readonly #limits: DocumentFetchLimits;
  readonly #ttl: { min: number; max: number };
  readonly #cacheSize: number;
  readonly #scopes: ScopeRegistry;
  readonly #now: () => Date;
  readonly #enforceSecure: boolean;
  readonly #cache = new Map<string, CachedClient>();
  readonly #inFlight = new Map<string, Promise<ClientRecord>>();

  constructor(options: ClientIdMetadataDocumentOptions, scopes: ScopeRegistry, now: () => Date, enforceSecure: boolean) {
    this.#options = {
      allowHost: options.allowHost ?? (() => true),
      isTrustedHost: options.isTrustedHost ?? (() => false),
      onFetch: options.onFetch,
    };
    this.#limits = {
      maxBytes: options.maxBytes ?? DEFAULT_DOCUMENT_MAX_BYTES,
      timeout: options.timeout ?? DEFAULT_DOCUMENT_TIMEOUT,
      allowLoopback: options.allowLoopbackForDevelopment ?? false,
      ca: options.ca,
    };
    this.#ttl = { ...DEFAULT_DOCUMENT_CACHE_TTL, ...options.cacheTtl };
    this.#cacheSize = options.cacheSize ?? DEFAULT_DOCUMENT_CACHE_SIZE;
    this.#scopes = scopes;
    this.#now = now;
    this.#enforceSecure = enforceSecure;
  }

  /** Whether the id has the shape of a document URL, so it is resolved here and never in storage. */
  static isDocumentUrl(clientId: string): boolean {
    return clientId.startsWith('https://') || clientId.startsWith('http://');
  }

  /** Where the consent page says the client's description came from. */
  describeSource(clientId: string): ClientMetadataSource | null {
    if (!ClientMetadataResolver.isDocumentUrl(clientId) || !URL.canParse(clientId)) return null;
    const host = new URL(clientId).host;
    return { host, trusted: this.#options.isTrustedHost(host) };
  }

  /** The client the document describes; throws ClientMetadataRefusal naming why it cannot be used. */
  async resolve(clientId: string): Promise<ClientRecord> {
    const url = checkClientIdUrl(clientId);
    if (!this.#options.allowHost(url.hostname)) throw new ClientMetadataRefusal(`the host ${url.host} is not allowed to describe clients`);
    const now = this.#now().getTime();
    const cached = this.#cache.get(clientId);
    if (cached !== undefined) {
      if (cached.expiresAt > now) return cached.client;
      this.#cache.delete(clientId);
    }
    // Concurrent requests for one client share one fetch.
    let pending = this.#inFlight.get(clientId);
    if (pending === undefined) {
      pending = this.#fetch(clientId, url).finally(() => this.#inFlight.delete(clientId));
      this.#inFlight.set(clientId, pending);
    }
    return pending;
  }

  async #fetch(clientId: string, url: URL): Promise<ClientRecord> {
    const event: ClientMetadataFetchEvent = { clientId, host: url.host, address: null, status: null, outcome: 'accepted', reason: null };
    try {
      const fetched = await fetchClientMetadataDocument(url, this.#limits);
      event.address = fetched.address;
      event.status = fetched.status;
      const now = this.#now();
      const client = readDocument(clientId, fetched.body, this.#scopes, now, this.#enforceSecure);
      const ttl = Math.min(this.#ttl.max, Math.max(this.#ttl.min, readMaxAge(fetched.cacheControl) ?? this.#ttl.min));
      // The oldest entry leaves first: Map keeps insertion order.
      while (this.#cache.size >= this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value as string);
      this.#cache.set(clientId, { client, expiresAt: now.getTime() + ttl * 1000 });
      return client;
    } catch (thrown) {
      if (thrown instanceof DocumentFetchError) {
        event.address = thrown.address;
        event.status = thrown.status;
      }
      event.outcome = 'refused';
      event.reason = thrown instanceof Error ? thrown.message : 'the document could not be used';
      throw thrown instanceof ClientMetadataRefusal || thrown instanceof DocumentFetchError
        ? new ClientMetadataRefusal(thrown.message)
        : new ClientMetadataRefusal('the document could not be used');
    } finally {
      try {
        this.#options.onFetch?.({ ...event });
      } catch {
        // A failing listener does not decide whether the client is accepted.
      }
    }
  }
}

/**
 * The draft's section 3: an https URL with a path, no fragment, no credentials, written in its
 * normal form (so no dot segments, no default port, a lower-case host: the comparison with the
 * document's `client_id` is then a plain string comparison).
 */
function checkClientIdUrl(clientId: string): URL {
  if (!URL.canParse(clientId)) throw new ClientMetadataRefusal('the client_id is not a valid URL');
  const url = new URL(clientId);
  if (url.protocol !== 'https:') throw new ClientMetadataRefusal('a client_id URL must use https');
  if (clientId.length > MAX_CLIENT_ID_LENGTH) throw new ClientMetadataRefusal(`a client_id URL may have at most ${MAX_CLIENT_ID_LENGTH} characters`);
  if (url.username !== '' || url.password !== '') throw new ClientMetadataRefusal('a client_id URL must not carry credentials');
  if (url.hash !== '' || clientId.includes('#')) throw new ClientMetadataRefusal('a client_id URL must not have a fragment');
  if (url.pathname === '/') throw new ClientMetadataRefusal('a client_id URL must have a path');
  if (url.href !== clientId) throw new ClientMetadataRefusal('a client_id URL must be in normal form (no dot segments, default port or upper-case host)');
  return url;
}

function readMaxAge(cacheControl: string | undefined): number | null {
  if (cacheControl === undefined) return null;
  const directives = cacheControl.toLowerCase().split(',').map((part) => part.trim());
  if (directives.includes('no-store') || directives.includes('no-cache')) return 0;
  for (const directive of directives) {
    const match = /^max-age=(\d+)$/.exec(directive);
    if (match?.[1] !== undefined) return Number(match[1]);
  }
  return null;
}

function stringList(document: Record<string, unknown>, name: string, fallback: readonly string[]): string[] {
  const value = document[name];
  if (value === undefined) return [...fallback];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new ClientMetadataRefusal(`the document's ${name} must be an array of strings`);
  }
  return [...new Set(value as string[])];
}

/**
 * Checks the document as the draft's section 4 asks and reads the client it describes: the
 * `client_id` equal to the URL, redirect URIs that registration would accept, a public client
 * (no shared secret: the document is public), and only the code grant with refresh tokens.
 */
function readDocument(clientId: string, body: unknown, scopes: ScopeRegistry, now: Date, enforceSecure: boolean): ClientRecord {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ClientMetadataRefusal('the document is not a JSON object');
  const document = body as Record<string, unknown>;
  if (document.client_id !== clientId) throw new ClientMetadataRefusal('the document\'s client_id is not the URL it was fetched from');
  if ('client_secret' in document || 'client_secret_expires_at' in document) {
    throw new ClientMetadataRefusal('the document must not carry a client secret');
  }
  const method = document.token_endpoint_auth_method ?? 'none';
  if (method !== 'none') throw new ClientMetadataRefusal('only public clients (token_endpoint_auth_method "none") may be described by a document');
  const redirectUris = stringList(document, 'redirect_uris', []);
  if (redirectUris.length === 0) throw new ClientMetadataRefusal('the document names no redirect_uris');
  for (const uri of redirectUris) {
    try {
      assertValidRedirectUri(uri, enforceSecure);
    } catch (thrown) {
      throw new ClientMetadataRefusal(`the redirect URI ${JSON.stringify(uri)} is not acceptable: ${(thrown as Error).message}`);
    }
  }
  const grantTypes = stringList(document, 'grant_types', ['authorization_code']);
  for (const grantType of grantTypes) {
    if (!DOCUMENT_GRANT_TYPES.includes(grantType as GrantType)) {
      throw new ClientMetadataRefusal(`the grant type ${JSON.stringify(grantType)} is not offered to clients described by a document`);
    }
  }
  if (!grantTypes.includes('authorization_code')) throw new ClientMetadataRefusal('the document\'s grant_types must include authorization_code');
  const responseTypes = stringList(document, 'response_types', ['code']);
  if (responseTypes.length !== 1 || responseTypes[0] !== 'code') throw new ClientMetadataRefusal('the document\'s response_types may only be ["code"]');
  const known = scopes.list().map((scope) => scope.name);
  const scope = typeof document.scope === 'string' ? document.scope.split(' ').filter((name) => known.includes(name)) : known;
  const name = typeof document.client_name === 'string' && document.client_name.trim() !== '' ? document.client_name.trim().slice(0, 200) : new URL(clientId).host;
  return Object.freeze({
    id: clientId,
    name,
    type: 'public',
    secretDigest: null,
    redirectUris,
    scopes: scope,
    resources: null,
    grantTypes: grantTypes as GrantType[],
    responseTypes: ['code'],
    ownerId: null,
    oauth1Enabled: false,
    oauth1SecretEncrypted: null,
    rsaPublicKey: null,
    disabled: false,
    createdAt: now,
    updatedAt: now,
  }) as ClientRecord;
}
