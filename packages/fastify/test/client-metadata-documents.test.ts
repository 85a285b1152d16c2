import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as oauth from 'oauth4webapi';
import t, { type Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import type { ClientIdMetadataDocumentOptions, ClientMetadataFetchEvent } from '@portcullis/core';
import { generate } from 'selfsigned';
import type { PortcullisOptionsBase } from '../src/index.js';
import { buildTestApp, CookieJar, FORM, form, ISSUER, readCsrfToken } from './helpers.js';

const REDIRECT_URI = 'https://app.example/callback';

/**
 * A real HTTPS server on 127.0.0.1 with a certificate made for the test, serving client metadata
 * documents: a good one, and one for each way a document can be refused.
 */
async function startDocumentServer(t: Test): Promise<{ origin: string; ca: string; hits: Map<string, number>; stop: () => Promise<void> }> {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keySize: 2048,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  const hits = new Map<string, number>();
  let origin = '';
  const server: Server = createServer({ key: pems.private, cert: pems.cert }, (request, response) => {
    const path = request.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const json = (body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(200, { 'content-type': 'application/json', ...headers });
      response.end(JSON.stringify(body));
    };
    const document = { client_id: `${origin}${path}`, client_name: 'Notes <CLI>', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' };
    switch (path) {
      case '/client.json':
        return json({ ...document, grant_types: ['authorization_code', 'refresh_token'], scope: 'read polls:vote' }, { 'cache-control': 'max-age=300' });
      case '/mismatch.json':
        return json({ ...document, client_id: `${origin}/client.json` });
      case '/secret.json':
        return json({ ...document, token_endpoint_auth_method: 'client_secret_basic' });
      case '/big.json':
        // No Content-Length: the cap must hold while the body streams.
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write(`{"client_id":"${origin}${path}","client_name":"`);
        response.write('x'.repeat(8 * 1024));
        return response.end('"}');
      case '/text.json':
        response.writeHead(200, { 'content-type': 'text/html' });
        return response.end(JSON.stringify(document));
      case '/redirect.json':
        response.writeHead(302, { location: `${origin}/client.json` });
        return response.end();
      case '/slow.json':
        return setTimeout(() => json(document), 2000).unref();
      default:
        response.writeHead(404);
        return response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stop = async () => {
    if (!server.listening) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  t.teardown(stop);
  return { origin, ca: pems.cert, hits, stop };
}

async function setup(t: Test, documents: Partial<ClientIdMetadataDocumentOptions> = {}, plugin: Partial<PortcullisOptionsBase> = {}) {
  const server = await startDocumentServer(t);
  const events: ClientMetadataFetchEvent[] = [];
  const built = await buildTestApp({
    plugin: {
      ...plugin,
      clientIdMetadataDocuments: {
        enabled: true,
        allowLoopbackForDevelopment: true,
        ca: server.ca,
        onFetch: (event) => events.push(event),
        ...documents,
      },
    },
  });
  t.teardown(built.close);
  return { ...built, ...server, events };
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeUrl(clientId: string, challenge: string): string {
  return `/oauth/authorize?${new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: 'read',
    state: 'xyz',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })}`;
}

/** The user approves on the consent page. */
function approve(app: FastifyInstance, jar: CookieJar, page: string) {
  return app.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'approve', csrf_token: readCsrfToken(page) }),
  });
}

async function login(app: FastifyInstance, jar: CookieJar): Promise<void> {
  jar.store(await app.inject({ method: 'POST', url: '/login?user=alice', headers: { cookie: jar.header() } }));
}

t.test('metadata advertises client_id_metadata_document_supported only when enabled', async (t) => {
  const { app } = await setup(t);
  const on = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
  t.equal(on.statusCode, 200);
  t.equal(on.json().client_id_metadata_document_supported, true);
  const plain = await buildTestApp();
  t.teardown(plain.close);
  const off = await plain.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
  t.equal(off.statusCode, 200);
  t.equal(off.json().client_id_metadata_document_supported, undefined);
});

t.test('a document client goes through consent and PKCE to tokens, and is recorded when it obtains them', async (t) => {
  const { app, storage, origin, hits, events } = await setup(t);
  const clientId = `${origin}/client.json`;
  const jar = new CookieJar();
  await login(app, jar);
  const { verifier, challenge } = pkce();
  const page = await app.inject({ method: 'GET', url: authorizeUrl(clientId, challenge), headers: { cookie: jar.header() } });
  jar.store(page);
  t.equal(page.statusCode, 200);
  t.match(page.body, /Authorize <strong>Notes &lt;CLI&gt;<\/strong>/);
  t.match(page.body, /You will be sent back to <strong>app\.example<\/strong>/);
  t.match(page.body, new RegExp(`describes itself at <strong>127\\.0\\.0\\.1:${new URL(origin).port}</strong>`));
  t.match(page.body, /role="alert"><strong>Warning:<\/strong> this server has not verified/, 'an unvetted host is warned about');
  t.same(events, [{ clientId, host: new URL(origin).host, address: '127.0.0.1', status: 200, outcome: 'accepted', reason: null }]);

  const decided = await approve(app, jar, page.body);
  t.equal(decided.statusCode, 303);
  const location = new URL(decided.headers.location as string);
  t.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
  const code = location.searchParams.get('code');
  t.ok(code);

  const token = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: FORM,
    payload: form({ grant_type: 'authorization_code', code: code!, redirect_uri: REDIRECT_URI, client_id: clientId, code_verifier: verifier }),
  });
  t.equal(token.statusCode, 200);
  t.equal(token.headers['cache-control'], 'no-store');
  const body = token.json();
  t.equal(body.token_type, 'Bearer');
  t.equal(body.scope, 'read');
  t.match(body.access_token, /^pca_/);
  t.ok(body.refresh_token);

  const refreshed = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: FORM,
    payload: form({ grant_type: 'refresh_token', refresh_token: body.refresh_token, client_id: clientId }),
  });
  t.equal(refreshed.statusCode, 200);
  t.match(refreshed.json().access_token, /^pca_/);

  t.equal(hits.get('/client.json'), 1, 'the document is fetched once and then served from the cache');
  const [recorded, ...others] = await storage.listClients();
  t.equal(others.length, 0, 'one record');
  t.match(recorded, {
    id: clientId,
    name: 'Notes <CLI>',
    type: 'public',
    secretDigest: null,
    redirectUris: [REDIRECT_URI],
    origin: 'document',
    disabled: false,
    resources: null,
    ownerId: null,
    oauth1Enabled: false,
    oauth1SecretEncrypted: null,
    rsaPublicKey: null,
    registrationTokenDigest: null,
    metadata: null,
    unusedExpiresAt: null,
    responseTypes: ['code'],
  });
  t.strictSame(recorded!.createdAt, recorded!.lastUsedAt, 'created when first used');
  t.ok(recorded!.lastUsedAt instanceof Date, 'its last use is recorded');
  const tokens = await storage.listAccessTokens({ clientId });
  t.equal(tokens.length, 2);
  t.equal(tokens[0]!.userId, 'alice');
});

/** oauth4webapi's requests, answered by the app in process. */
function injectFetch(app: FastifyInstance): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const response = await app.inject({
      method: (init?.method ?? 'GET') as 'GET' | 'POST',
      url: `${url.pathname}${url.search}`,
      headers: Object.fromEntries(new Headers(init?.headers)),
      ...(init?.body !== undefined && init.body !== null && { payload: String(init.body) }),
    });
    return new Response(response.body, { status: response.statusCode, headers: response.headers as Record<string, string> });
  };
}

t.test('oauth4webapi: a client whose client_id is its document URL, code + PKCE, validated callback', async (t) => {
  const { app, origin, storage } = await setup(t);
  const options = { [oauth.customFetch]: injectFetch(app) };
  const issuer = new URL(ISSUER);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...options }));
  t.equal(as.client_id_metadata_document_supported, true);
  const client: oauth.Client = { client_id: `${origin}/client.json` };
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const jar = new CookieJar();
  await login(app, jar);
  const url = new URL(authorizeUrl(client.client_id, await oauth.calculatePKCECodeChallenge(codeVerifier)), ISSUER);
  url.searchParams.set('state', state);
  const page = await app.inject({ method: 'GET', url: `${url.pathname}${url.search}`, headers: { cookie: jar.header() } });
  jar.store(page);
  t.equal(page.statusCode, 200);
  const decided = await approve(app, jar, page.body);
  t.equal(decided.statusCode, 303);
  const params = oauth.validateAuthResponse(as, client, new URL(decided.headers.location as string), state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, REDIRECT_URI, codeVerifier, options);
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
  t.match(tokens, { token_type: 'bearer', scope: 'read', access_token: /^pca_/, refresh_token: /^pcr_/ });
  t.same((await storage.listClients()).map((stored) => [stored.id, stored.origin]), [[client.client_id, 'document']]);
});

t.test('a vetted host is shown without the warning', async (t) => {
  const { app, origin } = await setup(t, { isTrustedHost: (host) => host.startsWith('127.0.0.1:') });
  const jar = new CookieJar();
  await login(app, jar);
  const page = await app.inject({ method: 'GET', url: authorizeUrl(`${origin}/client.json`, pkce().challenge), headers: { cookie: jar.header() } });
  t.equal(page.statusCode, 200);
  t.match(page.body, /describes itself at <strong>127\.0\.0\.1:/);
  t.notMatch(page.body, /Warning/);
});

/** Each refused document: an error page at the authorization endpoint, invalid_client at the token endpoint, nothing stored. */
const refusals: {
  name: string;
  path?: string;
  clientId?: (origin: string) => string;
  options?: Partial<ClientIdMetadataDocumentOptions>;
  reason: RegExp;
  /** Refused from the URL alone, before any fetch (so no fetch event). */
  early?: true;
}[] = [
  { name: 'client_id differs from the URL', path: '/mismatch.json', reason: /client_id is not the URL it was fetched from/ },
  { name: 'over the size cap', path: '/big.json', reason: /larger than 5120 bytes/ },
  { name: 'a document not served as JSON', path: '/text.json', reason: /not served as application\/json/ },
  { name: 'a redirect', path: '/redirect.json', reason: /redirect \(HTTP 302\), which is not followed/ },
  { name: 'a confidential client', path: '/secret.json', reason: /only public clients/ },
  { name: 'a slow document', path: '/slow.json', options: { timeout: 300 }, reason: /no answer within 300 ms/ },
  { name: 'a loopback address without the development option', path: '/client.json', options: { allowLoopbackForDevelopment: false }, reason: /resolves to a non-public address/ },
  { name: 'a host name resolving to loopback', clientId: () => 'https://localhost/client.json', options: { allowLoopbackForDevelopment: false }, reason: /resolves to a non-public address/ },
  { name: 'a private address', clientId: () => 'https://10.0.0.1/client.json', reason: /resolves to a non-public address/ },
  { name: 'the cloud metadata address', clientId: () => 'https://169.254.169.254/latest.json', reason: /resolves to a non-public address/ },
  { name: 'an IPv4-mapped IPv6 loopback address', clientId: () => 'https://[::ffff:7f00:1]/client.json', options: { allowLoopbackForDevelopment: false }, reason: /resolves to a non-public address/ },
  { name: 'a non-https URL', clientId: (origin) => `${origin.replace('https:', 'http:')}/client.json`, reason: /must use https/, early: true },
  { name: 'a host the allowlist refuses', path: '/client.json', options: { allowHost: (host) => host === 'clients.example' }, reason: /host 127\.0\.0\.1:\d+ is not allowed/, early: true },
];

for (const refusal of refusals) {
  t.test(`refused: ${refusal.name}`, async (t) => {
    const { app, storage, origin, events } = await setup(t, refusal.options);
    const clientId = refusal.clientId?.(origin) ?? `${origin}${refusal.path}`;
    const jar = new CookieJar();
    await login(app, jar);
    const page = await app.inject({ method: 'GET', url: authorizeUrl(clientId, pkce().challenge), headers: { cookie: jar.header() } });
    t.equal(page.statusCode, 400);
    t.equal(page.headers.location, undefined, 'never redirected to an unverified URI');
    t.match(page.headers['content-type'], /^text\/html/);
    t.match(page.body, /<code>invalid_client<\/code>/);
    t.match(page.body, /The client metadata document could not be used: /);
    t.match(page.body, refusal.reason);

    const token = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: FORM,
      payload: form({ grant_type: 'authorization_code', code: 'pcc_unknown', redirect_uri: REDIRECT_URI, client_id: clientId, code_verifier: pkce().verifier }),
    });
    t.equal(token.statusCode, 401);
    t.equal(token.json().error, 'invalid_client');
    t.match(token.json().error_description, refusal.reason);
    t.same(await storage.listClients(), []);
    t.same(await storage.listAuthorizationCodes({ clientId }), []);
    t.equal(events.length, refusal.early ? 0 : 2, 'one fetch event per request: a refused document is not cached');
    for (const event of events) {
      t.equal(event.outcome, 'refused');
      t.match(event.reason, refusal.reason);
    }
  });
}

t.test('a cached document is used within its bound, fetched again past it, and refused when that fetch fails', async (t) => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const { app, origin, hits, stop } = await setup(t, { cacheTtl: { min: 10, max: 60 } }, { clock: () => new Date(now) });
  const clientId = `${origin}/client.json`;
  const ask = () =>
    app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: FORM,
      payload: form({ grant_type: 'refresh_token', refresh_token: 'pcr_unknown', client_id: clientId }),
    });
  t.equal((await ask()).json().error, 'invalid_grant', 'the client is known; the token is not');
  // The document's max-age of 300 seconds is held to the 60-second bound.
  now += 59_000;
  t.equal((await ask()).json().error, 'invalid_grant');
  t.equal(hits.get('/client.json'), 1, 'served from the cache within the bound');
  now += 2_000;
  t.equal((await ask()).json().error, 'invalid_grant');
  t.equal(hits.get('/client.json'), 2, 'fetched again past the bound');
  await stop();
  now += 61_000;
  const refused = await ask();
  t.equal(refused.statusCode, 401);
  t.equal(refused.json().error, 'invalid_client', 'no stale document past its bound');
  t.match(refused.json().error_description, /could not be fetched/);
});

t.test('two first uses at once make one record; a disabled document client is refused at both endpoints while cached', async (t) => {
  const { app, storage, origin, hits } = await setup(t);
  const clientId = `${origin}/client.json`;
  const jar = new CookieJar();
  await login(app, jar);
  const grants: { code: string; verifier: string }[] = [];
  for (let i = 0; i < 2; i++) {
    const { verifier, challenge } = pkce();
    const page = await app.inject({ method: 'GET', url: authorizeUrl(clientId, challenge), headers: { cookie: jar.header() } });
    jar.store(page);
    // The second authorization finds the first one's consent remembered: no page, a code at once.
    const decided = i === 0 ? await approve(app, jar, page.body) : page;
    t.equal(decided.statusCode, i === 0 ? 303 : 302, i === 0 ? 'approved on the page' : 'consent remembered');
    grants.push({ code: new URL(decided.headers.location as string).searchParams.get('code')!, verifier });
  }
  t.same(await storage.listClients(), [], 'nothing is stored before the client obtains tokens');
  const exchanges = await Promise.all(
    grants.map(({ code, verifier }) =>
      app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: FORM,
        payload: form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, client_id: clientId, code_verifier: verifier }),
      }),
    ),
  );
  t.same(exchanges.map((response) => response.statusCode), [200, 200], 'both first uses get their tokens');
  const clients = await storage.listClients();
  t.same(clients.map((client) => [client.id, client.origin, client.disabled]), [[clientId, 'document', false]], 'one record');

  // The administrator disables it and revokes its tokens, as an admin page does.
  await storage.updateClient(clientId, { disabled: true });
  await storage.revokeTokens({ clientId }, new Date());
  const { challenge } = pkce();
  const page = await app.inject({ method: 'GET', url: authorizeUrl(clientId, challenge), headers: { cookie: jar.header() } });
  t.equal(page.statusCode, 400);
  t.match(page.body, /unknown or disabled/);
  const refresh = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: FORM,
    payload: form({ grant_type: 'refresh_token', refresh_token: exchanges[0]!.json().refresh_token, client_id: clientId }),
  });
  t.equal(refresh.statusCode, 401);
  t.equal(refresh.json().error, 'invalid_client');
  t.equal(hits.get('/client.json'), 1, 'its document is still cached, and not fetched for a disabled client');
  t.same(await storage.listAccessTokens({ clientId, liveAt: new Date() }), [], 'its tokens are revoked');

  await storage.updateClient(clientId, { disabled: false });
  const again = await app.inject({ method: 'GET', url: authorizeUrl(clientId, challenge), headers: { cookie: jar.header() } });
  t.equal(again.statusCode, 302, 'enabled again, it is served from its document (its consent still remembered)');
  t.ok(new URL(again.headers.location as string).searchParams.get('code'), 'with a code');
});

t.test('with documents off, a stored document record names no client', async (t) => {
  const { app, storage, close } = await buildTestApp();
  t.teardown(close);
  const clientId = 'https://app.example/client.json';
  await storage.createClient({
    id: clientId, name: 'Stored', type: 'public', secretDigest: null, redirectUris: [REDIRECT_URI], scopes: ['read'], resources: null,
    grantTypes: ['authorization_code', 'refresh_token'], responseTypes: ['code'], ownerId: null, oauth1Enabled: false,
    oauth1SecretEncrypted: null, rsaPublicKey: null, disabled: false, createdAt: new Date(), updatedAt: new Date(),
    origin: 'document', lastUsedAt: new Date(),
  });
  const page = await app.inject({ method: 'GET', url: authorizeUrl(clientId, pkce().challenge) });
  t.equal(page.statusCode, 400);
  t.match(page.body, /unknown or disabled/);
});
