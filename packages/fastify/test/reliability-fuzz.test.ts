// Property-based fuzzing of every endpoint through inject on SQLite: malformed, huge, repeated,
// unicode and double-encoded parameters, bad Authorization headers and wrong content types.
// Properties: never a 5xx, every JSON error body RFC-shaped, and not one row written. Redirect
// URIs and OAuth 1.0a callbacks full of characters no Location header can carry are registered,
// requested, stored and decided on: every answer is an RFC-shaped error or a valid redirect.
import fc from 'fast-check';
import t from 'tap';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { isUriText, OAuthError, type ClientRecord, type RegisteredClient } from '@portcullis/core';
import { createDatabase, createKyselyStorage, migrate } from '@portcullis/kysely';
import { CookieJar, FORM, form, readCsrfToken } from './helpers.js';
import { parseForm } from './oauth1-helpers.js';
import { basicAuthHeader, buildReliabilityApp, checkErrorBody, countRows, createPkce, REDIRECT_URI, requestTemporaryCredentials } from './reliability-helpers.js';

// A rejection nobody handles would take a production server down; here it fails the file.
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
process.on('unhandledRejection', onUnhandled);

// Deterministic by default so a failure repeats; FUZZ_SEED=<n> explores other inputs.
const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const HUGE = 100 * 1024;

const db = await createDatabase('sqlite::memory:');
await migrate(db);
const storage = createKyselyStorage(db);
const app: FastifyInstance = await buildReliabilityApp(storage, { oauth1: true, secretKey: '7c'.repeat(32) });
t.teardown(async () => {
  process.off('unhandledRejection', onUnhandled);
  await app.close();
  await db.destroy();
});
app.log.level = 'silent';

const confidential = await app.oauth.registerClient({
  name: 'Fuzz target',
  redirectUris: [REDIRECT_URI],
  scopes: ['read', 'write'],
  grantTypes: ['authorization_code', 'refresh_token'],
});
const validAuth = basicAuthHeader(confidential.client.id, confidential.clientSecret!);
// A real token of another client, so the guard and introspection also see a live one.
const worker = await app.oauth.registerClient({ name: 'Worker', grantTypes: ['client_credentials'], scopes: ['read'] });
const live = await app.oauth.issueTokens({ clientId: worker.client.id, userId: 'alice', scope: ['read'] });
const liveToken = live.access_token;

const PARAMETER_NAMES = [
  'grant_type', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'scope', 'client_id', 'client_secret',
  'username', 'password', 'token', 'token_type_hint', 'access_token', 'response_type', 'state', 'code_challenge',
  'code_challenge_method', 'decision', 'csrf_token', 'granted_scope', 'narrow_scope', 'nonce', '__proto__', 'constructor',
];

/** A hostile string: unicode, control characters, percent sequences, double encoding, huge ones. */
const hostileValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 40, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 30, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 20, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 20, arbitrary: fc.string({ maxLength: 20 }).map((text) => encodeURIComponent(encodeURIComponent(text))) },
  {
    weight: 40,
    arbitrary: fc.constantFrom(
      'authorization_code', 'refresh_token', 'password', 'client_credentials', 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      'code', 'token', 'S256', 'plain', 'approve', 'read', 'read write', 'read%20write', '%', '%zz', '%00', '%C0%AE',
      '\u0000', '\uD800', '\uFEFF', 'ｒｅａｄ', '../../etc/passwd', 'javascript:alert(1)', REDIRECT_URI,
      `${REDIRECT_URI}?code=x`, REDIRECT_URI.toUpperCase(), 'https://client.example%2f@evil.example/callback',
      confidential.client.id, 'pcc_' + 'A'.repeat(43), 'pcr_' + 'A'.repeat(43), liveToken.slice(0, -1), '[]', '{}', 'null',
    ),
  },
  // Rare, since each costs a 100 KB parse; fast-check still draws a few hundred per run.
  { weight: 1, arbitrary: fc.constantFrom('a'.repeat(HUGE), '%41'.repeat(HUGE / 3), 'é'.repeat(HUGE / 2)) },
);

const parameterName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...PARAMETER_NAMES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom('grant_type[]', 'a[b]', 'a.b', '', '=', '&') },
);

/** Pairs, names repeated on purpose: `grant_type=a&grant_type=b`. */
const parameterPairs = fc.array(fc.tuple(parameterName, hostileValue), { maxLength: 8 });

/** encodeURIComponent, except that a lone surrogate (which it refuses) goes in raw. */
function encodeLoosely(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return text;
  }
}

function encodePairs(pairs: [string, string][]): string {
  const params = new URLSearchParams();
  for (const [name, value] of pairs) params.append(name, value);
  return params.toString();
}

/** A token request shaped like a real one (a known grant type and its parameters), values hostile. */
const tokenShaped = fc
  .record({
    grant: fc.constantFrom('authorization_code', 'refresh_token', 'password', 'client_credentials', 'implicit', ''),
    code: hostileValue,
    refresh: hostileValue,
    extra: parameterPairs,
  })
  .map(({ grant, code, refresh, extra }) => {
    const pairs: [string, string][] = [['grant_type', grant]];
    if (grant === 'authorization_code') pairs.push(['code', code], ['redirect_uri', REDIRECT_URI], ['code_verifier', refresh]);
    else if (grant === 'refresh_token') pairs.push(['refresh_token', refresh]);
    else if (grant === 'password') pairs.push(['username', code], ['password', refresh]);
    // client_credentials stays malformed: this client may not use it, and a scope garbles it.
    else pairs.push(['scope', `read ${code}`]);
    return encodePairs([...pairs, ...extra.filter(([name]) => name !== 'grant_type')]);
  });

/** A body as a client might send it: well encoded, or raw bytes with broken percent sequences. */
const rawBody = fc.oneof(
  { weight: 5, arbitrary: parameterPairs.map(encodePairs) },
  { weight: 4, arbitrary: tokenShaped },
  { weight: 2, arbitrary: fc.array(fc.tuple(parameterName, hostileValue), { maxLength: 6 }).map((pairs) => pairs.map(([n, v]) => `${n}=${v}`).join('&')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 1, arbitrary: fc.json() },
  { weight: 1, arbitrary: fc.constant('') },
);

const contentType = fc.option(
  fc.constantFrom(
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded; charset=utf-8',
    'application/x-www-form-urlencoded; charset=utf-16',
    'APPLICATION/X-WWW-FORM-URLENCODED',
    'application/json',
    'multipart/form-data; boundary=xyz',
    'multipart/form-data',
    'text/plain',
    'text/html; charset=iso-8859-1',
    'application/octet-stream',
    'application/x-www-form-urlencoded, application/json',
    ';;;',
    '',
  ),
  { nil: undefined },
);

const base64 = (text: string): string => Buffer.from(text, 'latin1').toString('base64');
const authorization = fc.option(
  fc.oneof(
    fc.constant(validAuth),
    fc.constantFrom('Basic', 'Basic ', 'Basic !!!not-base64!!!', 'Basic ====', `Basic ${base64('no-colon-here')}`,
      `Basic ${base64(':')}`, `Basic ${base64(`${confidential.client.id}:`)}`, `Basic ${base64(`${confidential.client.id}:wrong`)}`,
      `Basic ${base64('%zz:%zz')}`, `Basic ${base64('é:ü')}`, 'Basic Ã©Ã¼', `basic ${base64('a:b')}`, `Basic  ${base64('a:b')}`,
      `${validAuth}, ${validAuth}`, 'Bearer', 'Bearer ', 'Bearer a b', `Bearer  ${liveToken}`, `Bearer ${liveToken} x`,
      `bearer ${liveToken}`, `Bearer ${liveToken}`, 'Digest x', 'OAuth oauth_consumer_key="x"', 'Bearer é', 'Bearer \t'),
    fc.string({ maxLength: 30 }).map((text) => `Basic ${base64(text)}`),
    fc.string({ maxLength: 30 }).map((text) => `Bearer ${text.replace(/[\r\n]/g, '')}`),
  ),
  { nil: undefined },
);

interface FuzzRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

function headersOf(type: string | undefined, auth: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (type !== undefined) headers['content-type'] = type;
  if (auth !== undefined) headers.authorization = auth;
  return headers;
}

const postEndpoint = (path: string): fc.Arbitrary<FuzzRequest> =>
  fc.record({ type: contentType, auth: authorization, body: rawBody, query: fc.option(parameterPairs, { nil: undefined }) }).map(
    ({ type, auth, body, query }) => ({
      method: 'POST',
      url: query === undefined ? path : `${path}?${encodePairs(query)}`,
      headers: headersOf(type, auth),
      payload: body,
    }),
  );

const getWithQuery = (path: string): fc.Arbitrary<FuzzRequest> =>
  fc.record({
    auth: authorization,
    query: fc.oneof(parameterPairs.map(encodePairs), fc.string({ maxLength: 60 }).map((text) => text.replace(/[#\s]/g, ''))),
    method: fc.constantFrom<FuzzRequest['method']>('GET', 'GET', 'GET', 'PUT', 'DELETE', 'PATCH'),
  }).map(({ auth, query, method }) => ({ method, url: `${path}?${query}`, headers: headersOf(undefined, auth) }));

/** What no answer may ever be, whatever came in. */
function checkResponse(request: FuzzRequest, response: LightMyRequestResponse): string | null {
  if (response.statusCode >= 500) return `status ${response.statusCode}: ${response.body.slice(0, 200)}`;
  const type = String(response.headers['content-type'] ?? '');
  if (response.statusCode >= 400 && type.startsWith('application/json')) {
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      return 'unparsable JSON';
    }
    const problem = checkErrorBody(body);
    if (problem !== null) return `${response.statusCode} ${problem}: ${response.body.slice(0, 200)}`;
  }
  if (response.statusCode >= 400 && request.url.startsWith('/oauth/') && !request.url.startsWith('/oauth/authorize')) {
    if (!type.startsWith('application/json')) return `${response.statusCode} with ${type}`;
    if (response.headers['cache-control'] !== 'no-store') return 'an error of the token endpoints without Cache-Control: no-store';
  }
  return null;
}

async function fuzz(name: string, arbitrary: fc.Arbitrary<FuzzRequest>, numRuns: number): Promise<void> {
  await t.test(name, async (t) => {
    const before = await countRows(db);
    let runs = 0;
    const statuses = new Map<number, number>();
    try {
      await fc.assert(
        fc.asyncProperty(arbitrary, async (request) => {
          runs += 1;
          const response = await app.inject(request);
          statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
          const problem = checkResponse(request, response);
          if (problem !== null) throw new Error(problem);
        }),
        { numRuns, seed: SEED, endOnFailure: true },
      );
      t.pass(`${numRuns} cases, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    } catch (error) {
      // fast-check's message ends with the property's own error; a huge counterexample is cut.
      const cause = (error as Error).cause;
      const message = `${cause instanceof Error ? `${cause.message} <- ` : ''}${(error as Error).message}`;
      t.fail(message.length > 3000 ? `${message.slice(0, 1200)} [...] ${message.slice(-1200)}` : message);
    }
    t.ok(runs >= numRuns, `ran ${runs} cases`);
    t.same(await countRows(db), before, 'no row added or removed');
    // Nothing the fuzzer sent revoked or spent the live token either.
    const still = await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${liveToken}` } });
    t.equal(still.statusCode, 200, 'the live token still works');
  });
}

await fuzz('token endpoint', postEndpoint('/oauth/token'), 2500);
await fuzz('revocation endpoint', postEndpoint('/oauth/revoke'), 1200);
await fuzz('introspection endpoint', postEndpoint('/oauth/introspect'), 1200);
await fuzz('authorize GET (anonymous)', getWithQuery('/oauth/authorize'), 1200);
await fuzz('authorize POST (anonymous)', postEndpoint('/oauth/authorize'), 800);
// Only GET exists there; other methods meet the application's own 404 handler, not the plugin.
await fuzz(
  'metadata',
  getWithQuery('/.well-known/oauth-authorization-server').map((request) => ({ ...request, method: 'GET' as const })),
  500,
);
// The guard runs after the application's body parsing, so the POSTs carry bodies the
// application parses (an unparsable one is the application's 415/400, not the guard's).
const guardedPost: fc.Arbitrary<FuzzRequest> = fc
  .record({
    auth: authorization,
    body: fc.oneof(
      rawBody.map((payload) => ({ type: 'text/plain', payload })),
      fc.json().map((payload) => ({ type: 'application/json', payload })),
      // Without __proto__ and constructor keys: Fastify's JSON parser refuses those itself.
      parameterPairs.map((pairs) => ({
        type: 'application/json',
        payload: JSON.stringify(Object.fromEntries(pairs.filter(([name]) => name !== '__proto__' && name !== 'constructor'))),
      })),
    ),
    query: fc.option(parameterPairs, { nil: undefined }),
  })
  .map(({ auth, body, query }) => ({
    method: 'POST',
    url: query === undefined ? '/api/me' : `/api/me?${encodePairs(query)}`,
    headers: headersOf(body.type, auth),
    payload: body.payload,
  }));
await fuzz(
  'requireScope route',
  fc.oneof(getWithQuery('/api/me').map((request) => ({ ...request, method: 'GET' as const })), guardedPost),
  1200,
);
await fuzz(
  'token endpoints with other methods',
  fc.record({ path: fc.constantFrom('/oauth/token', '/oauth/revoke', '/oauth/introspect'), request: getWithQuery('') }).map(
    ({ path, request }) => ({ ...request, url: `${path}${request.url}` }),
  ),
  500,
);

// OAuth 1.0a: hostile Authorization: OAuth headers (quoting, duplicates, encodings, a real
// consumer key with forged signatures) on the credential endpoints and the authorize page.
const oauthParameter = fc.tuple(
  fc.constantFrom('oauth_consumer_key', 'oauth_token', 'oauth_signature_method', 'oauth_signature', 'oauth_timestamp',
    'oauth_nonce', 'oauth_callback', 'oauth_verifier', 'oauth_version', 'realm', 'x'),
  fc.oneof(hostileValue, fc.constantFrom(confidential.client.id, 'HMAC-SHA1', 'PLAINTEXT', 'RSA-SHA1', '1.0', 'oob', String(Math.floor(Date.now() / 1000)))),
);
const oauthHeader = fc.oneof(
  fc.array(oauthParameter, { maxLength: 9 }).map((pairs) => `OAuth ${pairs.map(([name, value]) => `${name}="${encodeLoosely(value)}"`).join(', ')}`),
  fc.array(oauthParameter, { maxLength: 6 }).map((pairs) => `OAuth ${pairs.map(([name, value]) => `${name}=${value.replace(/[\r\n]/g, '')}`).join(',')}`),
  // Complete and well-formed but forged: it reaches the signature check, which must refuse it
  // before the nonce is recorded (the row counts prove it).
  fc.record({ signature: hostileValue, nonce: fc.string({ minLength: 1, maxLength: 16 }), method: fc.constantFrom('HMAC-SHA1', 'PLAINTEXT', 'RSA-SHA1') }).map(
    ({ signature, nonce, method }) =>
      `OAuth oauth_consumer_key="${confidential.client.id}", oauth_signature_method="${method}", oauth_timestamp="${Math.floor(Date.now() / 1000)}", ` +
      `oauth_nonce="${encodeLoosely(nonce)}", oauth_callback="oob", oauth_version="1.0", oauth_token="t", oauth_verifier="v", oauth_signature="${encodeLoosely(signature)}"`,
  ),
  fc.constantFrom('OAuth', 'OAuth ', 'OAuth realm=', 'OAuth oauth_nonce="a", oauth_nonce="b"', 'oauth oauth_consumer_key="x"', 'OAuth ="x"', 'OAuth a="'),
);
const oauth1Post = (path: string): fc.Arbitrary<FuzzRequest> =>
  fc.record({ auth: fc.option(oauthHeader, { nil: undefined }), request: postEndpoint(path) }).map(({ auth, request }) =>
    auth === undefined ? request : { ...request, headers: { ...request.headers, authorization: auth } },
  );
await fuzz('OAuth 1.0a request_token', oauth1Post('/oauth1/request_token'), 1000);
await fuzz('OAuth 1.0a access_token', oauth1Post('/oauth1/access_token'), 1000);
// GET only: other methods meet the application's 404 there (the OAuth 2 endpoints answer 405).
await fuzz(
  'OAuth 1.0a authorize GET',
  getWithQuery('/oauth1/authorize').map((request) => ({ ...request, method: 'GET' as const })),
  400,
);
await fuzz(
  'requireScope route with OAuth 1.0a signatures',
  fc.record({ auth: oauthHeader, query: parameterPairs }).map(({ auth, query }) => ({
    method: 'GET' as const,
    url: `/api/me?${encodePairs(query)}`,
    headers: { authorization: auth },
  })),
  600,
);

// A logged-in browser with a pending authorization request: fuzzed decisions (no CSRF token
// the fuzzer could know) and fuzzed authorize requests must never mint a code.
const login = await app.inject({ method: 'POST', url: '/login?user=alice' });
const sessionCookie = login.cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');
// OAuth 2.1, the default, asks every code request for a PKCE challenge.
const { challenge } = createPkce();
const consentUrl = `/oauth/authorize?${new URLSearchParams({
  response_type: 'code', client_id: confidential.client.id, redirect_uri: REDIRECT_URI, scope: 'read', state: 'x',
  code_challenge: challenge, code_challenge_method: 'S256',
})}`;
const withSession = (arbitrary: fc.Arbitrary<FuzzRequest>): fc.Arbitrary<FuzzRequest> =>
  arbitrary.map((request) => ({ ...request, headers: { ...request.headers, cookie: sessionCookie } }));
t.test('the logged-in session reaches the consent page', async (t) => {
  const page = await app.inject({ method: 'GET', url: consentUrl, headers: { cookie: sessionCookie } });
  t.equal(page.statusCode, 200);
  t.match(page.body, /name="csrf_token"/);
});
await fuzz('authorize GET (logged in)', withSession(getWithQuery('/oauth/authorize')), 800);
await fuzz(
  'authorize POST decisions (logged in, pending request)',
  withSession(postEndpoint('/oauth/authorize')),
  800,
);

// Redirect URIs and callbacks: the characters that broke Location headers, in every part of a URI.
const URI_BREAKERS = [
  '\r', '\n', '\r\n', '\u0000', '\t', ' ', '\u3002', '\u2028', '\u2029', '\u0085', '\u00a0', '\u00e9', '\u{1F600}', '\uD800',
  '"', "'", '\\', '<', '>', '`', '{', '}', '|', '^', '%', '%zz', '%0', '%0d%0a', '%E3%80%82', '%22', '#', '?', '@', ':', '//',
];
const uriInsert: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...URI_BREAKERS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom('?x=1', '/path', '.evil.example', 'Set-Cookie: stolen=1') },
);
const uriBase: fc.Arbitrary<string> = fc.constantFrom(
  'https://client.example/cb', 'http://127.0.0.1:8080/cb', 'https://client.example', 'com.example.app:/cb', 'https://',
);
/** A URI with breakers inserted anywhere after its scheme: host, path, query or fragment. */
const hostileUri: fc.Arbitrary<string> = fc
  .record({ base: uriBase, inserts: fc.array(fc.record({ at: fc.nat(), text: uriInsert }), { maxLength: 4 }) })
  .map(({ base, inserts }) =>
    inserts.reduce<string>((uri, { at, text }) => {
      const where = 8 + (at % Math.max(1, uri.length - 7));
      return `${uri.slice(0, where)}${text}${uri.slice(where)}`;
    }, base),
  );

/** Why a redirect answer is wrong, or null: a 302/303 whose Location is RFC 3986 characters only. */
function checkRedirect(response: LightMyRequestResponse): string | null {
  const location = response.headers.location;
  if (typeof location !== 'string') return `${response.statusCode} without a Location`;
  return isUriText(location) ? null : `a Location outside RFC 3986 characters: ${JSON.stringify(location)}`;
}

/** Why a browser answer is wrong, or null: an HTML error page (4xx, no Location), or a valid redirect. */
function checkBrowserAnswer(response: LightMyRequestResponse, allowed: readonly number[]): string | null {
  if (!allowed.includes(response.statusCode)) return `status ${response.statusCode}: ${response.body.slice(0, 200)}`;
  if (response.statusCode === 302 || response.statusCode === 303) return checkRedirect(response);
  if (response.headers.location !== undefined) return `${response.statusCode} with a Location`;
  if (!String(response.headers['content-type']).startsWith('text/html')) return `${response.statusCode} with ${String(response.headers['content-type'])}`;
  return null;
}

async function propertyTest<T>(name: string, arbitrary: fc.Arbitrary<T>, numRuns: number, check: (value: T) => Promise<void>): Promise<void> {
  await t.test(name, async (t) => {
    try {
      await fc.assert(fc.asyncProperty(arbitrary, check), { numRuns, seed: SEED, endOnFailure: true });
      t.pass(`${numRuns} cases`);
    } catch (error) {
      const cause = (error as Error).cause;
      t.fail(`${cause instanceof Error ? `${cause.message} <- ` : ''}${(error as Error).message}`.slice(0, 3000));
    }
  });
}

const template = await storage.findClient(confidential.client.id);
if (template === null) throw new Error('the fuzz target was stored');
let legacyCount = 0;
const codeRows = async (): Promise<number> =>
  Number((await db.selectFrom('portcullis_authorization_codes').select(db.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

await propertyTest('registration: such redirect URIs are refused, nothing stored', fc.array(hostileUri, { minLength: 1, maxLength: 3 }), 300, async (uris) => {
  const before = await countRows(db);
  const outcome = await app.oauth.registerClient({ name: 'Fuzzed', redirectUris: uris, scopes: ['read'] }).then(
    (registered) => registered,
    (error: unknown) => error,
  );
  if (outcome instanceof OAuthError) {
    if (outcome.error !== 'invalid_request') throw new Error(`refused with ${outcome.error}`);
    if (!/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/.test(outcome.description ?? '')) throw new Error(`description ${JSON.stringify(outcome.description)}`);
    const after = await countRows(db);
    if (JSON.stringify(after) !== JSON.stringify(before)) throw new Error('a refused registration stored something');
    return;
  }
  if (outcome instanceof Error) throw new Error(`registerClient threw ${String(outcome)}`);
  const bad = (outcome as RegisteredClient).client.redirectUris.find((uri) => !isUriText(uri) || !URL.canParse(uri));
  if (bad !== undefined) throw new Error(`registered ${JSON.stringify(bad)}`);
});

await propertyTest(
  'a stored redirect URI of any characters: requests, approvals and denials answer errors or valid redirects',
  fc.record({ uri: hostileUri, requested: fc.boolean(), decision: fc.constantFrom('approve', 'deny'), implicit: fc.boolean() }),
  250,
  async ({ uri, requested, decision, implicit }) => {
    // Straight into the store, past registerClient's checks.
    const record: ClientRecord = { ...template, id: `legacy-${++legacyCount}`, redirectUris: [uri], grantTypes: ['authorization_code', 'implicit'] };
    await storage.createClient(record);
    const codesBefore = await codeRows();
    const jar = new CookieJar();
    jar.store(await app.inject({ method: 'POST', url: '/login?user=alice' }));
    const query = new URLSearchParams({ response_type: implicit ? 'token' : 'code', client_id: record.id, scope: 'read', state: 's' });
    // OAuth 2.1 refuses the implicit grant; a code request carries the challenge it needs.
    if (!implicit) {
      query.set('code_challenge', challenge);
      query.set('code_challenge_method', 'S256');
    }
    if (requested) query.set('redirect_uri', uri);
    const asked = await app.inject({ method: 'GET', url: `/oauth/authorize?${query}`, headers: { cookie: jar.header() } });
    const problem = checkBrowserAnswer(asked, [200, 302, 400]);
    if (problem !== null) throw new Error(`request: ${problem}`);
    if (asked.statusCode !== 200) {
      if ((await codeRows()) !== codesBefore) throw new Error('a refused request stored a code');
      return;
    }
    jar.store(asked);
    const decided = await app.inject({
      method: 'POST',
      url: '/oauth/authorize',
      headers: { ...FORM, cookie: jar.header() },
      payload: form({ decision, csrf_token: readCsrfToken(asked.body) }),
    });
    const answer = checkBrowserAnswer(decided, [303, 400]);
    if (answer !== null) throw new Error(`${decision}: ${answer}`);
  },
);

// A consumer without registered redirect URIs: its oauth_callback is checked for itself.
const printer = await app.oauth.registerClient({ name: 'Fuzz printer', grantTypes: ['client_credentials'], scopes: ['read'], oauth1Enabled: true });
const requestToken = (callback: string) => requestTemporaryCredentials(app, { id: printer.client.id, secret: printer.clientSecret! }, callback);

await propertyTest('OAuth 1.0a: such an oauth_callback gets parameter_rejected and stores nothing', hostileUri, 300, async (callback) => {
  const before = await countRows(db);
  const response = await requestToken(callback);
  if (response.statusCode === 200) {
    const token = parseForm(response.body).oauth_token ?? '';
    const stored = await db.selectFrom('portcullis_oauth1_request_tokens').select('callback').where('token', '=', token).executeTakeFirstOrThrow();
    if (!isUriText(stored.callback)) throw new Error(`stored the callback ${JSON.stringify(stored.callback)}`);
    return;
  }
  if (response.statusCode !== 400) throw new Error(`status ${response.statusCode}: ${response.body.slice(0, 200)}`);
  const problem = checkErrorBody(response.json());
  if (problem !== null) throw new Error(problem);
  if (JSON.stringify(await countRows(db)) !== JSON.stringify(before)) throw new Error('a refused request token was stored');
});

await propertyTest(
  'OAuth 1.0a: a stored callback of any characters: the consent step and the decision answer errors or valid redirects',
  fc.record({ callback: hostileUri, decision: fc.constantFrom('approve', 'deny') }),
  200,
  async ({ callback, decision }) => {
    const issued = await requestToken('https://printer.example/ready');
    if (issued.statusCode !== 200) throw new Error(`request_token: ${issued.statusCode}`);
    const token = parseForm(issued.body).oauth_token ?? '';
    const jar = new CookieJar();
    jar.store(await app.inject({ method: 'POST', url: '/login?user=alice' }));
    const page = await app.inject({ method: 'GET', url: `/oauth1/authorize?oauth_token=${token}`, headers: { cookie: jar.header() } });
    if (page.statusCode !== 200) throw new Error(`consent: ${page.statusCode}`);
    jar.store(page);
    // Written straight into the table, past the request token step's checks.
    await db.updateTable('portcullis_oauth1_request_tokens').set({ callback }).where('token', '=', token).execute();
    const decided = await app.inject({
      method: 'POST',
      url: '/oauth1/authorize',
      headers: { ...FORM, cookie: jar.header() },
      payload: form({ decision, csrf_token: readCsrfToken(page.body) }),
    });
    const problem = checkBrowserAnswer(decided, [303, 400]);
    if (problem !== null) throw new Error(`${decision}: ${problem}`);
  },
);

t.test('no unhandled rejection', async (t) => {
  // A rejection surfaces on the next turns of the event loop.
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.same(unhandled, []);
});
