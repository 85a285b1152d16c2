// The OAuth 1.0a provider's test harness: a memory store with two consumers, a clock, and
// requests signed as a consumer would sign them.
import type { Test } from 'tap';
import { SecretBox, type Entropy } from '../src/crypto.js';
import type { OAuthRequest, OAuthResponse } from '../src/http.js';
import {
  createOAuth1Provider,
  formatAuthorizationHeader,
  signRequest,
  type OAuth1ProviderOptions,
  type SignatureMethod,
} from '../src/oauth1/index.js';
import { withClientCache } from '../src/storage/client-cache.js';
import { MemoryStorage } from '../src/storage/memory-store.js';
import type { ClientRecord } from '../src/storage/records.js';
import { countingFacade } from './storage-facade.js';

export const SECRET_KEY = Buffer.alloc(32, 7);
export const START = 1_700_000_000; // seconds

export function clientRecord(overrides: Partial<ClientRecord> & { id: string }): ClientRecord {
  const at = new Date(0);
  return {
    name: `Client ${overrides.id}`,
    type: 'confidential',
    secretDigest: null,
    redirectUris: [],
    scopes: ['read', 'write'],
    resources: null,
    grantTypes: ['authorization_code'],
    responseTypes: ['code'],
    ownerId: null,
    oauth1Enabled: true,
    oauth1SecretEncrypted: null,
    rsaPublicKey: null,
    disabled: false,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

export interface SignOptions {
  method?: string;
  url: string;
  consumerKey?: string;
  consumerSecret?: string;
  token?: string;
  tokenSecret?: string;
  signatureMethod?: SignatureMethod;
  privateKey?: string;
  timestamp?: number;
  nonce?: string;
  extra?: Record<string, string>;
  where?: 'header' | 'query' | 'body';
  body?: Record<string, string>;
  secure?: boolean;
  /** Changes the signed protocol parameters before they are sent (tampering, bad values). */
  mutate?: (parameters: Record<string, string>) => void;
}

/**
 * Client cache: the provider's storage is the counted store behind `withClientCache`, as
 * `createKyselyStorage` gives it.
 */
export async function setup(options: Partial<OAuth1ProviderOptions> = {}, harness: { clientCache?: boolean } = {}) {
  const storage = new MemoryStorage();
  const counted = countingFacade(storage);
  const box = new SecretBox(SECRET_KEY);
  const clock = { now: START };
  let counter = 0;
  // Deterministic but distinct bytes, so tokens differ and tests repeat exactly.
  const entropy: Entropy = {
    randomBytes: (size) => {
      counter += 1;
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i++) bytes[i] = (counter * 31 + i * 7) & 0xff;
      bytes[0] = counter & 0xff;
      bytes[1] = (counter >> 8) & 0xff;
      return bytes;
    },
  };
  await storage.createClient(
    clientRecord({ id: 'consumer-1', oauth1SecretEncrypted: box.encrypt('consumer-secret'), scopes: ['read', 'write'] }),
  );
  await storage.createClient(clientRecord({ id: 'consumer-2', oauth1SecretEncrypted: box.encrypt('second-secret') }));
  const providerStorage = harness.clientCache ? withClientCache(counted.storage) : counted.storage;
  const provider = createOAuth1Provider({
    storage: providerStorage,
    issuer: 'https://auth.example',
    secretKey: SECRET_KEY,
    realm: 'Polls',
    clock: () => new Date(clock.now * 1000),
    entropy,
    ...options,
  });
  let nonces = 0;

  function signed(o: SignOptions): OAuthRequest {
    const method = o.method ?? 'POST';
    const url = new URL(o.url);
    const parameters = signRequest({
      method,
      url,
      consumerKey: o.consumerKey ?? 'consumer-1',
      signatureMethod: o.signatureMethod ?? 'HMAC-SHA1',
      credentials: {
        consumerSecret: o.consumerSecret ?? 'consumer-secret',
        ...(o.tokenSecret === undefined ? {} : { tokenSecret: o.tokenSecret }),
        ...(o.privateKey === undefined ? {} : { privateKey: o.privateKey }),
      },
      ...(o.token === undefined ? {} : { token: o.token }),
      timestamp: o.timestamp ?? clock.now,
      nonce: o.nonce ?? `nonce-${++nonces}`,
      ...(o.extra === undefined ? {} : { extra: o.extra }),
      ...(o.body === undefined ? {} : { body: o.body }),
    });
    o.mutate?.(parameters);
    const headers: Record<string, string> = {};
    let body: Record<string, string> | undefined = o.body;
    switch (o.where ?? 'header') {
      case 'header':
        headers['authorization'] = formatAuthorizationHeader(parameters, 'Polls');
        break;
      case 'query':
        for (const [name, value] of Object.entries(parameters)) url.searchParams.append(name, value);
        break;
      case 'body':
        body = { ...body, ...parameters };
        break;
    }
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    return { method, url, headers, body, secure: o.secure ?? url.protocol === 'https:' };
  }

  return { storage, counted, providerStorage, box, clock, provider, signed };
}

export type Harness = Awaited<ReturnType<typeof setup>>;

export function form(response: OAuthResponse): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(response.body as string));
}

export function assertError(t: Test, response: OAuthResponse, status: number, error: string, realm = 'Polls'): void {
  t.equal(response.status, status, `status ${status}`);
  t.equal((response.body as { error: string }).error, error, `error ${error}`);
  t.equal(typeof (response.body as { error_description?: string }).error_description, 'string', 'a description');
  t.equal(response.headers['content-type'], 'application/json; charset=utf-8');
  t.equal(response.headers['cache-control'], 'no-store');
  if (status === 401) t.equal(response.headers['www-authenticate'], `OAuth realm="${realm}"`);
  else t.equal(response.headers['www-authenticate'], undefined);
}

export async function refusedWithoutChange(
  t: Test,
  h: Harness,
  act: () => Promise<OAuthResponse>,
  status: number,
  error: string,
): Promise<OAuthResponse> {
  const before = h.storage.snapshot();
  const response = await act();
  assertError(t, response, status, error);
  t.same(h.storage.snapshot(), before, 'storage unchanged');
  return response;
}

export async function getRequestToken(h: Harness, callback = 'https://client.example/cb', extra: Record<string, string> = {}) {
  const response = await h.provider.handleRequestTokenRequest(
    h.signed({ url: 'https://auth.example/oauth1/request_token', extra: { oauth_callback: callback, ...extra } }),
  );
  if (response.status !== 200) throw new Error(`request token refused: ${JSON.stringify(response.body)}`);
  const body = form(response);
  return { token: body['oauth_token'] ?? '', secret: body['oauth_token_secret'] ?? '' };
}

export async function authorize(h: Harness, token: string, scope?: string[]) {
  const result = await h.provider.completeAuthorization(token, { userId: 'alice', approved: true, ...(scope ? { scope } : {}) });
  if (result.kind === 'redirect') return new URL(result.location).searchParams.get('oauth_verifier') ?? '';
  if (result.kind === 'verifier') return result.verifier;
  throw new Error(`authorization refused: ${result.kind}`);
}

export async function getAccessToken(h: Harness, scope?: string[]) {
  const temporary = await getRequestToken(h);
  const verifier = await authorize(h, temporary.token, scope);
  const response = await h.provider.handleAccessTokenRequest(
    h.signed({
      url: 'https://auth.example/oauth1/access_token',
      token: temporary.token,
      tokenSecret: temporary.secret,
      extra: { oauth_verifier: verifier },
    }),
  );
  if (response.status !== 200) throw new Error(`access token refused: ${JSON.stringify(response.body)}`);
  const body = form(response);
  return { token: body['oauth_token'] ?? '', secret: body['oauth_token_secret'] ?? '' };
}
