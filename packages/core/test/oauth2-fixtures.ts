// Shared set-up of the oauth2-*.test.ts files: a server over a real MemoryStorage, a settable
// clock, a counting entropy source and request builders.
import { createHash } from 'node:crypto';
import {
  MemoryStorage,
  createAuthorizationServer,
  type AuthorizationServer,
  type AuthorizationServerOptions,
  type Entropy,
  type OAuthRequest,
  type OAuthResponse,
  type RegisterClientInput,
  type RegisteredClient,
} from '../src/index.js';

export const ISSUER = 'https://auth.example.com';
export const REDIRECT_URI = 'https://client.example.com/cb';
export const START = new Date('2026-01-01T00:00:00Z');

/** Deterministic but distinct bytes: SHA-256 of a counter. */
export function createCountingEntropy(): Entropy {
  let counter = 0;
  return {
    randomBytes(size: number): Uint8Array {
      const out = Buffer.alloc(size);
      for (let offset = 0; offset < size; offset += 32) {
        createHash('sha256').update(String(counter++)).digest().copy(out, offset);
      }
      return out;
    },
  };
}

export interface Fixture {
  server: AuthorizationServer;
  storage: MemoryStorage;
  clock: { now: Date; advance(seconds: number): void };
}

export function createFixture(options: Partial<AuthorizationServerOptions> = {}): Fixture {
  const storage = new MemoryStorage();
  const clock = {
    now: new Date(START),
    advance(seconds: number) {
      this.now = new Date(this.now.getTime() + seconds * 1000);
    },
  };
  const server = createAuthorizationServer({
    storage,
    issuer: ISSUER,
    clock: () => clock.now,
    entropy: createCountingEntropy(),
    ...options,
  });
  return { server, storage, clock };
}

export async function registerTestClient(fixture: Fixture, input: Partial<RegisterClientInput> = {}): Promise<RegisteredClient> {
  return fixture.server.registerClient({ name: 'Test client', redirectUris: [REDIRECT_URI], ...input });
}

export function basicAuthorization(clientId: string, secret: string): string {
  const encode = (text: string) => encodeURIComponent(text).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

export function createFormRequest(
  path: string,
  body: Record<string, string | string[]> | undefined,
  headers: OAuthRequest['headers'] = {},
  options: { secure?: boolean; method?: string } = {},
): OAuthRequest {
  return {
    method: options.method ?? 'POST',
    url: new URL(path, ISSUER),
    headers,
    body,
    secure: options.secure ?? true,
  };
}

export function createAuthorizeRequest(query: Record<string, string | string[]>, options: { secure?: boolean } = {}): OAuthRequest {
  const url = new URL('/oauth/authorize', ISSUER);
  for (const [name, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, item);
  }
  return { method: 'GET', url, headers: {}, secure: options.secure ?? true };
}

export const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
export const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

/** Runs the authorization endpoint to a code for the user, asserting each step went through. */
export async function obtainCode(
  fixture: Fixture,
  client: RegisteredClient,
  query: Record<string, string | string[]> = {},
  userId = 'user-1',
): Promise<string> {
  const result = await fixture.server.validateAuthorizationRequest(
    createAuthorizeRequest({
      response_type: 'code',
      client_id: client.client.id,
      redirect_uri: REDIRECT_URI,
      code_challenge: CHALLENGE,
      code_challenge_method: 'S256',
      ...query,
    }),
  );
  if (result.kind !== 'consent') throw new Error(`expected consent, got ${JSON.stringify(result)}`);
  const done = await fixture.server.completeAuthorization(result.request, { userId, approved: true });
  if (done.kind !== 'redirect') throw new Error(`expected a redirect, got ${JSON.stringify(done)}`);
  const code = new URL(done.location).searchParams.get('code');
  if (code === null) throw new Error(`no code in ${done.location}`);
  return code;
}

export function tokenRequest(client: RegisteredClient, body: Record<string, string | string[]>): OAuthRequest {
  return createFormRequest('/oauth/token', body, { authorization: basicAuthorization(client.client.id, client.clientSecret ?? '') });
}

export function bodyOf(response: OAuthResponse): Record<string, unknown> {
  return response.body as Record<string, unknown>;
}

/** Counts of every table, to assert that an error changed nothing. */
export function countRows(storage: MemoryStorage): Record<string, number> {
  const snapshot = storage.snapshot();
  return Object.fromEntries(Object.entries(snapshot).map(([name, rows]) => [name, (rows as unknown[]).length]));
}

/**
 * A pattern for `t.rejects` matching an error's fields (`{ error: 'invalid_grant' }`): tap matches
 * plain objects field by field, but its types only name message, name, code and cause.
 */
export function errorLike(shape: Record<string, unknown>): Error {
  return shape as unknown as Error;
}
