// The redirect URI bug classes over HTTP: a lookalike redirect_uri gets an error page and never
// a Location header, and a registered query holding `code`/`state` cannot smuggle them into the
// browser's redirect (the core-level cases are in packages/core/test/regression-*.test.ts).
import t from 'tap';
import { createDatabase, createKyselyStorage, migrate } from '@portcullis/kysely';
import { CookieJar, FORM, form, readCsrfToken } from './helpers.js';
import { buildReliabilityApp, countRows, createPkce, REDIRECT_URI } from './reliability-helpers.js';

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
