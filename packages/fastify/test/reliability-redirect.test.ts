// The redirect URI bug classes over HTTP: a lookalike redirect_uri gets an error page and never
// a Location header, a registered query holding `code`/`state` cannot smuggle them into the
// browser's redirect, and a URI or callback no Location header can carry is refused, or, found in
// the store, answered with an error page (the core-level cases are in
// packages/core/test/regression-*.test.ts).
import t, { type Test } from 'tap';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { AuthorizationRequest } from '@portcullis/core';
import { createDatabase, createKyselyStorage, migrate } from '@portcullis/kysely';
import { CookieJar, FORM, form, readCsrfToken, type SessionKind } from './helpers.js';
import { parseForm, SECRET_KEY } from './oauth1-helpers.js';
import { buildReliabilityApp, checkErrorBody, countRows, createPkce, REDIRECT_URI, requestTemporaryCredentials } from './reliability-helpers.js';

// A rejection nobody handles would take a production server down; here it fails the file.
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
process.on('unhandledRejection', onUnhandled);
t.teardown(() => {
  process.off('unhandledRejection', onUnhandled);
});

const db = await createDatabase('sqlite::memory:');
await migrate(db);
const app = await buildReliabilityApp(createKyselyStorage(db));
t.teardown(async () => {
  await app.close();
  await db.destroy();
});

async function loggedIn(): Promise<CookieJar> {
  const jar = new CookieJar();
  jar.store(await app.inject({ method: 'POST', url: '/login?user=alice' }));
  return jar;
}

function authorizeUrl(clientId: string, redirectUri: string, state = 'st'): string {
  return `/oauth/authorize?${new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: 'read',
    state,
    code_challenge: createPkce().challenge,
    code_challenge_method: 'S256',
  })}`;
}

t.test('lookalike redirect URIs: an error page, never a redirect', async (t) => {
  const { client } = await app.oauth.registerClient({ name: 'Web', redirectUris: [REDIRECT_URI, 'http://127.0.0.1/cb'], scopes: ['read'] });
  const jar = await loggedIn();
  const before = await countRows(db);
  const variants = [
    'https://client.example/CALLBACK',
    'https://client.example/callback/',
    'https://client.example/%63allback',
    'https://client.example/callback/%2e%2e/evil',
    'https://client.example/callback/..;/evil',
    'https://client.example/callback/../evil',
    'https://client.example%2f@evil.example/callback',
    'https://client.example@evil.example/callback',
    'https://client.example\\@evil.example/callback',
    'https://client.example/callback?code=evil',
    'http://127.0.0.1:9999/cb?x=1',
    'http://localhost:9999/cb',
    'javascript:alert(1)//https://client.example/callback',
  ];
  for (const variant of variants) {
    for (const headers of [{}, { cookie: jar.header() }]) {
      const response = await app.inject({ method: 'GET', url: authorizeUrl(client.id, variant), headers });
      t.equal(response.statusCode, 400, variant);
      t.equal(response.headers.location, undefined, `no Location for ${variant}`);
      t.match(response.headers['content-type'], /^text\/html/);
      t.notMatch(response.body, /evil\.example/, 'the page does not link to the lookalike');
    }
  }
  t.same(await countRows(db), before, 'nothing stored');
  const loopback = await app.inject({ method: 'GET', url: authorizeUrl(client.id, 'http://127.0.0.1:9999/cb'), headers: { cookie: jar.header() } });
  t.equal(loopback.statusCode, 200, 'the loopback port exception itself still works');
});

t.test('a registered query with code and state: the 303 carries one code and the client\'s state', async (t) => {
  const registered = `${REDIRECT_URI}?code=attacker&state=attacker&tenant=7`;
  const { client } = await app.oauth.registerClient({ name: 'Tenant app', redirectUris: [registered], scopes: ['read'] });
  const jar = await loggedIn();
  const page = await app.inject({ method: 'GET', url: authorizeUrl(client.id, registered, 'mine'), headers: { cookie: jar.header() } });
  t.equal(page.statusCode, 200);
  jar.store(page);
  const decided = await app.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: { ...FORM, cookie: jar.header() },
    payload: form({ decision: 'approve', csrf_token: readCsrfToken(page.body) }),
  });
  t.equal(decided.statusCode, 303);
  const location = new URL(decided.headers.location as string);
  t.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
  t.equal(location.searchParams.getAll('code').length, 1, 'one code');
  t.match(location.searchParams.get('code'), /^pcc_/);
  t.same(location.searchParams.getAll('state'), ['mine']);
  t.same(location.searchParams.getAll('tenant'), ['7'], 'the rest of the registered query is kept');
  const codes = await db.selectFrom('portcullis_authorization_codes').select('redirect_uri').where('client_id', '=', client.id).execute();
  t.same(codes, [{ redirect_uri: registered }], 'the code is bound to the registered URI as sent');
});

// Each one crashed or broke the Location header: Node refuses controls and characters above
// U+00FF (ERR_INVALID_CHAR), and the rest are not RFC 3986 characters.
const UNSAFE_URIS = [
  'https://client.example/cb\u3002',
  'https://client\u3002example/cb',
  'https://client.example/cb\u2028',
  'https://client.example/caf\u00e9',
  'https://client.example/cb\r\nSet-Cookie: stolen=1',
  'https://client.example/c\tb',
  'https://client.example/cb\u0000',
  'https://client.example/c"b',
  'https://client.example/c\\b',
  'https://client.example/c b',
];

/** An HTML error page with the status, and no Location: the browser is sent nowhere. */
function assertErrorPage(t: Test, response: LightMyRequestResponse, status: number, name: string): void {
  t.equal(response.statusCode, status, `${name}: status ${status}`);
  t.equal(response.headers.location, undefined, `${name}: no Location`);
  t.match(response.headers['content-type'], /^text\/html/, `${name}: the error page, not a framework body`);
  t.match(response.body, /<h1>Authorization error<\/h1>/, `${name}: the error page`);
}

async function loginTo(app: FastifyInstance): Promise<CookieJar> {
  const jar = new CookieJar();
  jar.store(await app.inject({ method: 'POST', url: '/login?user=alice' }));
  return jar;
}

for (const session of ['fastify-session', 'plain'] as const satisfies readonly SessionKind[]) {
  t.test(`URIs a Location header cannot carry, with ${session} sessions`, async (t) => {
    const db = await createDatabase('sqlite::memory:');
    await migrate(db);
    const storage = createKyselyStorage(db);
    const app = await buildReliabilityApp(
      storage,
      { oauth1: true, secretKey: SECRET_KEY },
      {
        session,
        // A pending authorization in the session holding a redirect URI the core would refuse:
        // what an application's session store may hold, written past the core's checks.
        routes: (app) =>
          app.post<{ Body: { request: AuthorizationRequest } }>('/test/pending', async (request) => {
            const session = request.session as unknown as { set(key: string, value: unknown): void };
            session.set('portcullis', { protocol: 'oauth2', request: request.body.request, csrfToken: 'kept-csrf', userId: 'alice' });
            return { ok: true };
          }),
      },
    );
    t.teardown(async () => {
      await app.close();
      await db.destroy();
    });

    await t.test('registration refuses them and stores nothing', async (t) => {
      const before = await countRows(db);
      for (const uri of UNSAFE_URIS) {
        const refused = await app.oauth.registerClient({ name: 'Broken', redirectUris: [uri], scopes: ['read'] }).then(
          () => null,
          (error: { error?: string }) => error,
        );
        t.equal(refused?.error, 'invalid_request', encodeURI(uri));
      }
      t.same(await countRows(db), before);
    });

    await t.test('an authorization request with one gets the error page', async (t) => {
      const { client } = await app.oauth.registerClient({ name: 'Web', redirectUris: [REDIRECT_URI], scopes: ['read'] });
      const jar = await loginTo(app);
      const before = await countRows(db);
      for (const uri of UNSAFE_URIS) {
        for (const headers of [{}, { cookie: jar.header() }]) {
          assertErrorPage(t, await app.inject({ method: 'GET', url: authorizeUrl(client.id, uri), headers }), 400, encodeURI(uri));
        }
      }
      t.same(await countRows(db), before, 'nothing stored');
    });

    await t.test('a redirect URI in the store past registration: error pages on the request, on approval and on denial', async (t) => {
      const { client } = await app.oauth.registerClient({ name: 'Web', redirectUris: [REDIRECT_URI], scopes: ['read'] });
      const record = await storage.findClient(client.id);
      if (record === null) return t.fail('the client was stored');
      for (const [index, uri] of UNSAFE_URIS.entries()) {
        // Straight into the store, past registerClient.
        const id = `legacy-${session}-${index}`;
        await storage.createClient({ ...record, id, redirectUris: [uri] });
        const jar = await loginTo(app);
        const before = await countRows(db);
        const asked = await app.inject({ method: 'GET', url: authorizeUrl(id, uri), headers: { cookie: jar.header() } });
        assertErrorPage(t, asked, 400, `request ${encodeURI(uri)}`);
        const implicit = await app.inject({ method: 'GET', url: `/oauth/authorize?response_type=token&client_id=${id}`, headers: { cookie: jar.header() } });
        assertErrorPage(t, implicit, 400, `request without redirect_uri ${encodeURI(uri)}`);
        for (const decision of ['approve', 'deny']) {
          const pending: AuthorizationRequest = {
            clientId: id,
            clientName: 'Legacy',
            responseType: 'code',
            redirectUri: uri,
            redirectUriProvided: true,
            scope: ['read'],
            state: 'st',
            codeChallenge: createPkce().challenge,
            codeChallengeMethod: 'S256',
            resource: [],
          };
          const kept = await app.inject({ method: 'POST', url: '/test/pending', headers: { cookie: jar.header() }, payload: { request: pending } });
          t.equal(kept.statusCode, 200);
          jar.store(kept);
          const decided = await app.inject({
            method: 'POST',
            url: '/oauth/authorize',
            headers: { ...FORM, cookie: jar.header() },
            payload: form({ decision, csrf_token: 'kept-csrf' }),
          });
          assertErrorPage(t, decided, 400, `${decision} ${encodeURI(uri)}`);
        }
        t.same(await countRows(db), before, 'no code was issued');
      }
    });

    await t.test('OAuth 1.0a: such an oauth_callback is refused; one in the store gets error pages', async (t) => {
      // No registered redirect URIs: the callback is the consumer's choice, checked for itself.
      const { client, clientSecret } = await app.oauth.registerClient({
        name: 'Printer',
        grantTypes: ['client_credentials'],
        scopes: ['read'],
        oauth1Enabled: true,
      });
      const requestToken = (callback: string) => requestTemporaryCredentials(app, { id: client.id, secret: clientSecret! }, callback);
      const before = await countRows(db);
      for (const callback of UNSAFE_URIS) {
        const response = await requestToken(callback);
        t.equal(response.statusCode, 400, encodeURI(callback));
        t.match(response.headers['content-type'], /^application\/json/);
        const body: unknown = String(response.headers['content-type']).startsWith('application/json') ? response.json() : response.body;
        t.equal(checkErrorBody(body), null, 'an RFC-shaped error body');
        t.match(body, { error: 'parameter_rejected' });
      }
      t.same(await countRows(db), before, 'no request token stored');

      for (const decision of ['approve', 'deny']) {
        for (const callback of ['https://printer.example/ready\r\nSet-Cookie: stolen=1', 'https://printer.example/ready\u3002']) {
          const issued = await requestToken('https://printer.example/ready');
          t.equal(issued.statusCode, 200);
          const token = parseForm(issued.body).oauth_token!;
          const jar = await loginTo(app);
          const page = await app.inject({ method: 'GET', url: `/oauth1/authorize?oauth_token=${token}`, headers: { cookie: jar.header() } });
          t.equal(page.statusCode, 200, 'the consent page');
          jar.store(page);
          // Written straight into the table, past the request token step's checks.
          await db.updateTable('portcullis_oauth1_request_tokens').set({ callback }).where('token', '=', token).execute();
          const stored = await db.selectFrom('portcullis_oauth1_request_tokens').selectAll().where('token', '=', token).executeTakeFirstOrThrow();
          const decided = await app.inject({
            method: 'POST',
            url: '/oauth1/authorize',
            headers: { ...FORM, cookie: jar.header() },
            payload: form({ decision, csrf_token: readCsrfToken(page.body) }),
          });
          assertErrorPage(t, decided, 400, `${decision} ${encodeURI(callback)}`);
          const after = await db.selectFrom('portcullis_oauth1_request_tokens').selectAll().where('token', '=', token).executeTakeFirstOrThrow();
          t.same(after, stored, 'the request token is neither authorized nor spent');
          const again = await app.inject({ method: 'GET', url: `/oauth1/authorize?oauth_token=${token}`, headers: { cookie: jar.header() } });
          assertErrorPage(t, again, 400, 'the consent step refuses it too');
        }
      }
    });

    t.same(unhandled, [], 'no unhandled rejection');
  });
}
