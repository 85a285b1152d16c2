// Remembered consent and first-party clients in the demo: /account/apps forgets an approval with
// the tokens, the admin marks a client first-party, sets its lifetimes and forgets a user's
// consent; the CLI does the same. Each step is checked in the database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createDatabase, createKyselyStorage } from '@portcullis/kysely';
import { ADMIN_PASSWORD, ALICE_PASSWORD, Browser, buildTestApp } from './helpers.js';
import { runCliProcess } from './run.js';

const REDIRECT_URI = 'https://client.example/cb';

function authorizeUrl(clientId: string, scope: string, extra = ''): string {
  return `/oauth/authorize?response_type=code&client_id=${encodeURIComponent(clientId)}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&scope=${encodeURIComponent(scope)}&state=s${extra}`;
}

t.test('/account/apps: revoking an app forgets what the user approved, so the app must ask again', async (t) => {
  const { app, alice, client } = await buildTestApp();
  t.teardown(() => app.close());
  const { storage } = app.demo;
  const browser = new Browser(app);
  await browser.login('alice', ALICE_PASSWORD);

  const consent = await browser.get(authorizeUrl(client.id, 'polls:read'));
  t.equal(consent.statusCode, 200, 'the first authorization asks');
  const approved = await browser.post('/oauth/authorize', { csrf_token: Browser.csrf(consent.body, 'csrf_token'), decision: 'approve' });
  t.equal(approved.statusCode, 303);
  const code = new URL(String(approved.headers.location)).searchParams.get('code');
  t.ok(code);
  const tokens = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'authorization_code', code: code!, redirect_uri: REDIRECT_URI, client_id: client.id, client_secret: client.secret }).toString(),
  });
  t.equal(tokens.statusCode, 200);
  t.match(await storage.findConsent({ clientId: client.id, userId: alice.id }), { scope: ['polls:read'] }, 'the approval is stored');

  const remembered = await browser.get(authorizeUrl(client.id, 'polls:read'));
  t.equal(remembered.statusCode, 302, 'the same request is answered without a page');
  t.match(String(remembered.headers.location), /^https:\/\/client\.example\/cb\?code=/);

  const apps = await browser.get('/account/apps');
  t.match(apps.body, /forgets what you approved/);
  const revoked = await browser.post('/account/apps/revoke', { _csrf: Browser.csrf(apps.body), client_id: client.id });
  t.equal(revoked.statusCode, 303);
  t.equal(await storage.findConsent({ clientId: client.id, userId: alice.id }), null, 'the consent row is gone');
  t.same(await storage.listGrants(alice.id, new Date()), [], 'with every token');

  const again = await browser.get(authorizeUrl(client.id, 'polls:read'));
  t.equal(again.statusCode, 200, 'the app has to ask again');
  t.match(again.body, /name="decision" value="approve"/);
});

t.test('admin: first-party flag and lifetimes on a client, and forgetting a user\'s consent', async (t) => {
  const { app, alice, client } = await buildTestApp();
  t.teardown(() => app.close());
  const { storage } = app.demo;
  const admin = new Browser(app);
  await admin.login('admin', ADMIN_PASSWORD);
  const editUrl = `/admin/clients/${encodeURIComponent(client.id)}`;
  const page = await admin.get(editUrl);
  t.equal(page.statusCode, 200);
  t.match(page.body, /name="skip_consent"/);
  t.match(page.body, /No user&#39;s consent is remembered|No user's consent is remembered/);
  const csrf = Browser.csrf(page.body);
  const current = (await storage.findClient(client.id))!;
  const fields = {
    _csrf: csrf,
    name: current.name,
    redirect_uris: current.redirectUris.join('\n'),
    type: current.type,
    grant_types: current.grantTypes,
    scopes: current.scopes,
    oauth1: 'on',
  };

  const bad = await admin.post(editUrl, { ...fields, skip_consent: 'on', access_token_ttl: '-5' });
  t.equal(bad.statusCode, 303);
  t.match(await storage.findClient(client.id), { skipConsent: false, accessTokenTtl: null }, 'a bad lifetime saves nothing');

  const saved = await admin.post(editUrl, { ...fields, skip_consent: 'on', access_token_ttl: '120', refresh_token_ttl: '', authorization_code_ttl: '30' });
  t.equal(saved.statusCode, 303);
  t.match(await storage.findClient(client.id), { skipConsent: true, accessTokenTtl: 120, refreshTokenTtl: null, authorizationCodeTtl: 30 }, 'stored');

  // Alice, for whom the client is now first-party: no page, and a token that lives 120 seconds.
  const browser = new Browser(app);
  await browser.login('alice', ALICE_PASSWORD);
  const direct = await browser.get(authorizeUrl(client.id, 'polls:read polls:vote'));
  t.equal(direct.statusCode, 302, 'no consent page for a first-party client');
  const code = new URL(String(direct.headers.location)).searchParams.get('code')!;
  const codeRow = (await storage.listAuthorizationCodes({ clientId: client.id })).find((row) => row.consumedAt === null)!;
  t.equal(codeRow.expiresAt.getTime() - codeRow.issuedAt.getTime(), 30_000, 'the code lives the client\'s 30 seconds');
  const exchanged = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, client_id: client.id, client_secret: client.secret }).toString(),
  });
  t.equal(exchanged.statusCode, 200);
  t.equal(exchanged.json().expires_in, 120);
  const asked = await browser.get(authorizeUrl(client.id, 'polls:read', '&prompt=consent'));
  t.equal(asked.statusCode, 200, 'prompt=consent still asks');

  t.equal(await storage.findConsent({ clientId: client.id, userId: alice.id }), null, "a first-party client's approvals are not remembered");

  // Back to a third-party client; Alice's approval from the page is remembered and shown to the admin.
  await admin.post(editUrl, { ...fields, access_token_ttl: 'default' });
  t.match(await storage.findClient(client.id), { skipConsent: false, accessTokenTtl: null, authorizationCodeTtl: null }, 'unset again');
  const approved = await browser.post('/oauth/authorize', { csrf_token: Browser.csrf(asked.body, 'csrf_token'), decision: 'approve' });
  t.equal(approved.statusCode, 303);
  t.ok(await storage.findConsent({ clientId: client.id, userId: alice.id }));
  const listed = await admin.get(editUrl);
  t.match(listed.body, new RegExp(`data-user-id="${alice.id}"><td>alice</td><td>polls:read</td>`));
  const forgotten = await admin.post(`${editUrl}/consents/revoke`, { _csrf: Browser.csrf(listed.body), user_id: alice.id });
  t.equal(forgotten.statusCode, 303);
  t.equal(await storage.findConsent({ clientId: client.id, userId: alice.id }), null, 'the consent is forgotten');
  t.equal((await storage.listAccessTokens({ clientId: client.id, userId: alice.id, liveAt: new Date() })).length, 1, 'the token stays');
  t.equal((await browser.get(authorizeUrl(client.id, 'polls:read'))).statusCode, 200, 'alice is asked again');

  const registered = await admin.post('/admin/clients', {
    _csrf: Browser.csrf(listed.body),
    name: 'First party',
    redirect_uris: 'https://first.example/cb',
    type: 'public',
    grant_types: ['authorization_code', 'refresh_token'],
    scopes: ['polls:read'],
    skip_consent: 'on',
    refresh_token_ttl: '3600',
  });
  t.equal(registered.statusCode, 303);
  t.match((await storage.listClients()).find((c) => c.name === 'First party'), { skipConsent: true, refreshTokenTtl: 3600, accessTokenTtl: null });
});

t.test('CLI: client:create --skip-consent and lifetimes, client:update', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'demo-cli-lifecycle-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = { DATABASE_URL: `sqlite:${join(dir, 'cli.sqlite')}`, DATA_DIR: join(dir, 'data'), NODE_ENV: 'development' };
  const cli = (...args: string[]) => runCliProcess(args, env);

  const refused = await cli('client:create', '--name', 'X', '--grant-type', 'client_credentials', '--access-token-ttl', 'soon');
  t.equal(refused.code, 2);
  t.match(refused.stderr, /accessTokenTtl must be a whole number of seconds/);
  const created = await cli('client:create', '--name', 'Own app', '--client-id', 'own-app', '--redirect-uri', 'https://own.example/cb', '--skip-consent', '--access-token-ttl', '300', '--json');
  t.equal(created.code, 0, created.stderr);
  t.equal(JSON.parse(created.stdout).client_id, 'own-app');
  const db = await createDatabase(env.DATABASE_URL);
  t.teardown(() => db.destroy());
  const storage = createKyselyStorage(db, { clientCache: false });
  t.match(await storage.findClient('own-app'), { skipConsent: true, accessTokenTtl: 300, refreshTokenTtl: null, authorizationCodeTtl: null }, 'created first-party');

  const updated = await cli('client:update', '--client-id', 'own-app', '--skip-consent', 'no', '--access-token-ttl', 'default', '--code-ttl', '15');
  t.equal(updated.code, 0, updated.stderr);
  t.equal(updated.stdout, 'own-app  skip-consent=no  access-token-ttl=default  refresh-token-ttl=default  code-ttl=15\n');
  const nothing = await cli('client:update', '--client-id', 'own-app');
  t.equal(nothing.code, 2);
  t.match(nothing.stderr, /needs something to change/);
  const missing = await cli('client:update', '--client-id', 'nobody', '--skip-consent', 'yes');
  t.equal(missing.code, 2);
  t.match(missing.stderr, /no client "nobody"/);
  t.equal((await cli('client:update', '--client-id', 'own-app', '--skip-consent', 'maybe')).code, 2);

  t.match(await storage.findClient('own-app'), { skipConsent: false, accessTokenTtl: null, refreshTokenTtl: null, authorizationCodeTtl: 15 }, 'the database holds the update');
});
