import { sql } from 'kysely';
import t from 'tap';
import { ADMIN_PASSWORD, ALICE_PASSWORD, Browser, buildTestApp } from './helpers.js';

t.test('pages carry the security headers; the session cookie is HttpOnly and SameSite=Lax', async (t) => {
  const { app } = await buildTestApp();
  t.teardown(() => app.close());
  const res = await app.inject({ url: '/login' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/html/);
  t.equal(res.headers['x-frame-options'], 'DENY');
  t.equal(res.headers['referrer-policy'], 'no-referrer');
  t.equal(res.headers['x-content-type-options'], 'nosniff');
  t.match(res.headers['content-security-policy'], /frame-ancestors 'none'/);
  t.match(res.headers['content-security-policy'], /default-src 'none'/);
  t.equal(res.headers['cache-control'], 'no-store');
  const cookie = String(res.headers['set-cookie']);
  t.match(cookie, /^polls_session=/);
  t.match(cookie, /HttpOnly/);
  t.match(cookie, /SameSite=Lax/);
  t.notMatch(cookie, /Secure/, 'development runs on plain http');
  t.match(res.body, /name="_csrf" value="[^"]{20,}"/);
});

t.test('outside development the session cookie is Secure and never sent over plain http', async (t) => {
  const { app } = await buildTestApp({ development: false, trustProxy: 1 });
  t.teardown(() => app.close());
  const plain = await app.inject({ url: '/login' });
  t.equal(plain.statusCode, 200);
  t.equal(plain.headers['set-cookie'], undefined, 'no session cookie over http');
  const tls = await app.inject({ url: '/login', headers: { 'x-forwarded-proto': 'https' } });
  t.match(String(tls.headers['set-cookie']), /Secure/);
  const token = await app.inject({ method: 'POST', url: '/oauth/token', payload: 'grant_type=client_credentials', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal(token.statusCode, 400, 'the token endpoint refuses plain http in production');
  t.equal(token.json().error, 'invalid_request');
});

t.test('login: CSRF, wrong password, session regeneration, returnTo, logout', async (t) => {
  const { app, alice } = await buildTestApp();
  t.teardown(() => app.close());
  const browser = new Browser(app);
  const page = await browser.get('/login?returnTo=%2Faccount%2Fapps');
  t.match(page.body, /name="returnTo" value="\/account\/apps"/);
  const csrf = Browser.csrf(page.body);
  const before = browser.cookies.get('polls_session');

  const noCsrf = await browser.post('/login', { username: 'alice', password: ALICE_PASSWORD });
  t.equal(noCsrf.statusCode, 403);
  t.match(noCsrf.body, /expired/);
  const wrong = await browser.post('/login', { _csrf: csrf, username: 'alice', password: 'nope-nope' });
  t.equal(wrong.statusCode, 401);
  t.match(wrong.body, /Wrong username or password/);
  t.match(wrong.body, /value="alice"/, 'the username is kept, escaped');
  const unknown = await browser.post('/login', { _csrf: csrf, username: 'mallory', password: 'whatever' });
  t.equal(unknown.statusCode, 401);
  t.match((await browser.get('/account/apps')).headers.location, /^\/login\?returnTo=%2Faccount%2Fapps/, 'still anonymous');

  const ok = await browser.post('/login', { _csrf: csrf, username: 'alice', password: ALICE_PASSWORD, returnTo: '/account/apps' });
  t.equal(ok.statusCode, 303);
  t.equal(ok.headers.location, '/account/apps');
  t.not(browser.cookies.get('polls_session'), before, 'a new session id at login');
  const apps = await browser.get('/account/apps');
  t.equal(apps.statusCode, 200);
  t.match(apps.body, /Signed in as <strong>alice<\/strong>/);
  const stored = await app.demo.db.selectFrom('demo_sessions').select('data').execute();
  t.ok(stored.some((row) => JSON.parse(row.data).userId === alice.id), 'the session lives in the demo_sessions table');

  const evil = new Browser(app);
  const evilPage = await evil.get('/login?returnTo=%2F%2Fevil.example%2F');
  t.match(evilPage.body, /name="returnTo" value="\/"/, 'an off-site returnTo becomes /');
  const evilLogin = await evil.post('/login', { _csrf: Browser.csrf(evilPage.body), username: 'alice', password: ALICE_PASSWORD, returnTo: 'https://evil.example/' });
  t.equal(evilLogin.headers.location, '/');

  const badHost = await app.inject({ method: 'POST', url: '/oauth2/access_token/', headers: { host: 'bad host', 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=password' });
  t.equal(badHost.statusCode, 400, 'a malformed Host is a client error');
  t.equal(badHost.json().error, 'invalid_request');
  const badLogout = await browser.post('/logout', { _csrf: 'forged' });
  t.equal(badLogout.statusCode, 403);
  t.equal((await browser.get('/account/apps')).statusCode, 200, 'a forged logout changes nothing');
  const logout = await browser.post('/logout', { _csrf: Browser.csrf(apps.body) });
  t.equal(logout.statusCode, 303);
  t.equal(logout.headers.location, '/login');
  t.equal((await browser.get('/account/apps')).statusCode, 303, 'logged out');
});

t.test('authorization code through login and consent, then the API; deny; revoke from /account/apps', async (t) => {
  const { app, alice, client } = await buildTestApp();
  t.teardown(() => app.close());
  const browser = new Browser(app);
  const authorize = `/oauth/authorize?response_type=code&client_id=${encodeURIComponent(client.id)}&redirect_uri=${encodeURIComponent('https://client.example/cb')}&scope=polls%3Aread%20polls%3Avote&state=xyz`;
  const anonymous = await browser.get(authorize);
  t.equal(anonymous.statusCode, 302);
  t.equal(anonymous.headers.location, `/login?returnTo=${encodeURIComponent(authorize)}`);
  const login = await browser.login('alice', ALICE_PASSWORD, authorize);
  t.equal(login.headers.location, authorize);

  const consent = await browser.get(authorize);
  t.equal(consent.statusCode, 200);
  t.match(consent.body, /Test &lt;Client&gt;/, 'the client is named, escaped');
  t.match(consent.body, /You will be sent back to <strong>client\.example<\/strong>/, 'and the host the browser goes back to');
  t.match(consent.body, /See the polls and their choices/);
  t.match(consent.body, /Vote in polls in your name/);
  t.equal(consent.headers['x-frame-options'], 'DENY');
  const approved = await browser.post('/oauth/authorize', { csrf_token: Browser.csrf(consent.body, 'csrf_token'), decision: 'approve' });
  t.equal(approved.statusCode, 303);
  const location = new URL(String(approved.headers.location));
  t.equal(location.origin + location.pathname, 'https://client.example/cb');
  t.equal(location.searchParams.get('state'), 'xyz');
  const code = location.searchParams.get('code');
  t.ok(code);

  const exchange = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}` },
    payload: new URLSearchParams({ grant_type: 'authorization_code', code: code!, redirect_uri: 'https://client.example/cb' }).toString(),
  });
  t.equal(exchange.statusCode, 200);
  const tokens = exchange.json();
  t.equal(tokens.scope, 'polls:read polls:vote');
  const me = await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${tokens.access_token}` } });
  t.equal(me.statusCode, 200);
  t.same(me.json(), { client_id: client.id, user: { id: alice.id, username: 'alice' }, scope: 'polls:read polls:vote', protocol: 'oauth2' });

  // Approved once, the same request is answered without the page; prompt=consent asks again.
  const remembered = await browser.get(authorize.replace('xyz', 'remembered'));
  t.equal(remembered.statusCode, 302);
  t.match(remembered.headers.location, /^https:\/\/client\.example\/cb\?code=[^&]+&state=remembered&iss=/);
  const consent2 = await browser.get(`${authorize.replace('xyz', 'second')}&prompt=consent`);
  const denied = await browser.post('/oauth/authorize', { csrf_token: Browser.csrf(consent2.body, 'csrf_token'), decision: 'deny' });
  t.equal(denied.statusCode, 303);
  const deniedAt = new URL(String(denied.headers.location));
  t.equal(deniedAt.searchParams.get('error'), 'access_denied');
  t.equal(deniedAt.searchParams.get('state'), 'second');
  t.equal(deniedAt.searchParams.get('code'), null);

  const apps = await browser.get('/account/apps');
  t.equal(apps.statusCode, 200);
  t.match(apps.body, new RegExp(`data-client-id="${client.id}"`));
  t.match(apps.body, /Test &lt;Client&gt;/);
  const forged = await browser.post('/account/apps/revoke', { _csrf: 'forged', client_id: client.id });
  t.equal(forged.statusCode, 303);
  t.equal((await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${tokens.access_token}` } })).statusCode, 200, 'a forged revoke changes nothing');
  const revoked = await browser.post('/account/apps/revoke', { _csrf: Browser.csrf(apps.body), client_id: client.id });
  t.equal(revoked.statusCode, 303);
  t.equal(revoked.headers.location, '/account/apps');
  const after = await browser.get('/account/apps');
  t.match(after.body, /Access revoked for Test &lt;Client&gt;/);
  t.match(after.body, /No application holds a token of yours/);
  const refused = await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${tokens.access_token}` } });
  t.equal(refused.statusCode, 401);
  t.match(refused.headers['www-authenticate'], /error="invalid_token"/);
  const refresh = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.id, client_secret: client.secret }).toString(),
  });
  t.equal(refresh.statusCode, 400, 'the refresh token went with it');
  t.equal(refresh.json().error, 'invalid_grant');
});

t.test('admin: only admins; register, edit, disable a client; tokens; issue by hand; scopes sync', async (t) => {
  const { app, alice, client } = await buildTestApp();
  t.teardown(() => app.close());
  const { storage } = app.demo;

  const anonymous = await app.inject({ url: '/admin' });
  t.equal(anonymous.statusCode, 303);
  t.equal(anonymous.headers.location, '/login?returnTo=%2Fadmin');
  const user = new Browser(app);
  await user.login('alice', ALICE_PASSWORD);
  t.equal((await user.get('/admin')).statusCode, 403);
  t.equal((await user.post('/admin/clients', { _csrf: Browser.csrf((await user.get('/')).body), name: 'Sneaky', grant_types: 'client_credentials' })).statusCode, 403);
  t.equal((await storage.listClients()).length, 1, 'a non-admin registered nothing');

  const admin = new Browser(app);
  await admin.login('admin', ADMIN_PASSWORD);
  const home = await admin.get('/admin');
  t.equal(home.statusCode, 200);
  t.match(home.body, new RegExp(`<code>${client.id}</code>`));
  t.match(home.body, /polls:stats/);
  const csrf = Browser.csrf(home.body);

  const forged = await admin.post('/admin/clients', { _csrf: 'forged', name: 'Forged', grant_types: 'client_credentials' });
  t.equal(forged.statusCode, 303);
  t.equal((await storage.listClients()).length, 1, 'a forged form registers nothing');
  const bad = await admin.post('/admin/clients', { _csrf: csrf, name: 'Bad', redirect_uris: 'javascript:alert(1)', grant_types: 'authorization_code' });
  t.equal(bad.headers.location, '/admin');
  t.match((await admin.get('/admin')).body, /Redirect URI scheme javascript: is not allowed\./);
  t.equal((await storage.listClients()).length, 1, 'a bad client is not stored');

  const created = await admin.post('/admin/clients', {
    _csrf: csrf,
    name: 'Poll <Widget>',
    redirect_uris: 'https://widget.example/cb\r\nhttps://widget.example/cb2',
    type: 'confidential',
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    scopes: ['polls:read', 'polls:results'],
    oauth1: 'on',
  });
  t.equal(created.statusCode, 303);
  const clients = await storage.listClients();
  const widget = clients.find((c) => c.name === 'Poll <Widget>');
  t.ok(widget);
  t.same(widget!.redirectUris, ['https://widget.example/cb', 'https://widget.example/cb2']);
  t.same(widget!.scopes, ['polls:read', 'polls:results']);
  t.equal(widget!.oauth1Enabled, true);
  t.ok(widget!.oauth1SecretEncrypted);
  t.equal(created.headers.location, `/admin/clients/${encodeURIComponent(widget!.id)}`);
  const sessionRows = await app.demo.db.selectFrom('demo_sessions').select('data').execute();
  t.notMatch(sessionRows.map((r) => r.data).join('\n'), /pcs_/, 'the secret waiting to be shown is not in the session table');
  const shown = await admin.get(String(created.headers.location));
  const secret = /client_secret: (pcs_[\w-]+)/.exec(shown.body)?.[1];
  t.ok(secret, 'the secret is shown once');
  t.match(shown.body, /Poll &lt;Widget&gt;/);
  t.notMatch((await admin.get(String(created.headers.location))).body, /client_secret: pcs_/, 'and never again');
  t.notMatch(JSON.stringify(widget), new RegExp(secret!), 'storage holds no clear secret');
  const cc = await app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: widget!.id, client_secret: secret!, scope: 'polls:read' }).toString() });
  t.equal(cc.statusCode, 200, 'the new client gets a token with its secret');
  const ccToken = cc.json().access_token as string;

  const editUrl = `/admin/clients/${encodeURIComponent(widget!.id)}`;
  const badEdit = await admin.post(editUrl, { _csrf: csrf, name: 'Poll Widget', redirect_uris: 'https://widget.example/cb#frag', grant_types: 'authorization_code', scopes: 'polls:read' });
  t.equal(badEdit.statusCode, 303);
  t.same((await storage.findClient(widget!.id))!.redirectUris, ['https://widget.example/cb', 'https://widget.example/cb2'], 'a bad edit saves nothing');
  const edit = await admin.post(editUrl, {
    _csrf: csrf,
    name: 'Poll Widget',
    redirect_uris: 'https://widget.example/new',
    type: 'confidential',
    grant_types: ['authorization_code', 'implicit', 'client_credentials'],
    scopes: ['polls:read', 'polls:stats'],
  });
  t.equal(edit.statusCode, 303);
  const edited = await storage.findClient(widget!.id);
  t.match(edited, { name: 'Poll Widget', redirectUris: ['https://widget.example/new'], grantTypes: ['authorization_code', 'implicit', 'client_credentials'], responseTypes: ['code', 'token'], scopes: ['polls:read', 'polls:stats'], oauth1Enabled: false, disabled: false });

  const tokensPage = await admin.get(`/admin/tokens?client=${encodeURIComponent(widget!.id)}`);
  t.equal(tokensPage.statusCode, 200);
  const tokenRows = [...tokensPage.body.matchAll(/data-token-id="([^"]+)"/g)];
  t.equal(tokenRows.length, 1, 'the search finds the widget\'s one token');
  const disable = await admin.post(editUrl, { _csrf: csrf, name: 'Poll Widget', redirect_uris: 'https://widget.example/new', type: 'confidential', grant_types: 'client_credentials', scopes: 'polls:read', disabled: 'on' });
  t.equal(disable.statusCode, 303);
  t.equal((await storage.findClient(widget!.id))!.disabled, true);
  t.equal((await app.inject({ url: '/api/polls', headers: { authorization: `Bearer ${ccToken}` } })).statusCode, 401, 'disabling revoked its tokens');

  const issue = await admin.post('/admin/tokens/issue', { _csrf: csrf, client_id: client.id, username: 'alice', scope: 'polls:read', with_refresh_token: 'on' });
  t.equal(issue.statusCode, 303);
  t.notMatch((await app.demo.db.selectFrom('demo_sessions').select('data').execute()).map((r) => r.data).join('\n'), /pca_|pcr_/, 'nor is an issued token');
  const issuedPage = await admin.get('/admin');
  const issued = /access_token: (pca_[\w-]+)/.exec(issuedPage.body)?.[1];
  t.ok(issued, 'the issued token is shown once');
  t.match(issuedPage.body, /refresh_token: pcr_/);
  const polls = await app.inject({ url: '/api/polls', headers: { authorization: `Bearer ${issued}` } });
  t.equal(polls.statusCode, 200);
  const badIssue = await admin.post('/admin/tokens/issue', { _csrf: csrf, client_id: client.id, username: 'nobody' });
  t.equal(badIssue.statusCode, 303);
  t.match((await admin.get('/admin')).body, /no user named/);

  const userTokens = await admin.get('/admin/tokens?user=alice');
  const familyId = /name="family_id" value="([^"]+)"/.exec(userTokens.body)?.[1];
  t.ok(familyId);
  const strangerRevoke = await admin.post('/admin/tokens/revoke', { _csrf: csrf, family_id: 'no-such-family' });
  t.equal(strangerRevoke.statusCode, 303);
  t.match((await admin.get('/admin/tokens')).body, /0 tokens revoked/, 'an unknown family revokes nothing');
  t.equal((await app.inject({ url: '/api/polls', headers: { authorization: `Bearer ${issued}` } })).statusCode, 200);
  const revoke = await admin.post('/admin/tokens/revoke', { _csrf: csrf, family_id: familyId! });
  t.equal(revoke.statusCode, 303);
  t.match((await admin.get('/admin/tokens')).body, /2 tokens revoked/, 'the access token and its refresh token');
  t.equal((await app.inject({ url: '/api/polls', headers: { authorization: `Bearer ${issued}` } })).statusCode, 401, 'revoked from the admin');
  t.equal((await storage.listAccessTokens({ userId: alice.id, liveAt: new Date() })).length, 0);

  t.same(await storage.listScopes(), [], 'no scopes stored before the sync');
  const sync = await admin.post('/admin/scopes/sync', { _csrf: csrf });
  t.equal(sync.statusCode, 303);
  const stored = await storage.listScopes();
  t.same(stored.map((s) => s.name).sort(), ['address', 'email', 'openid', 'phone', 'polls:read', 'polls:results', 'polls:stats', 'polls:vote', 'profile', 'read', 'write']);
  t.equal(stored.find((s) => s.name === 'polls:vote')?.description, 'Vote in polls in your name');
});

t.test('admin in production: the edit form refuses what the core refuses at registration, and saves nothing', async (t) => {
  const { app, client } = await buildTestApp({ development: false, trustProxy: 1 });
  t.teardown(() => app.close());
  const admin = new Browser(app);
  admin.headers = { 'x-forwarded-proto': 'https' };
  t.equal((await admin.login('admin', ADMIN_PASSWORD)).statusCode, 303);
  const editUrl = `/admin/clients/${encodeURIComponent(client.id)}`;
  const csrf = Browser.csrf((await admin.get(editUrl)).body);
  const before = await app.demo.storage.findClient(client.id);
  const refused: [string, RegExp][] = [
    ['http://widget.example/cb', /must use https \(http only on a loopback address\)/],
    ['https://user:secret@widget.example/cb', /must not carry credentials/],
    ['view-source:https://widget.example/cb', /scheme view-source: is not allowed/],
    ['ws://widget.example/cb', /scheme ws: is not allowed/],
  ];
  for (const [uri, message] of refused) {
    const edit = await admin.post(editUrl, { _csrf: csrf, name: 'Renamed', redirect_uris: uri, type: 'confidential', grant_types: 'authorization_code', scopes: 'polls:read' });
    t.equal(edit.statusCode, 303, `${uri}: back to the client`);
    t.equal(edit.headers.location, editUrl);
    const page = await admin.get(editUrl);
    t.match(page.body, /Nothing was saved/, `${uri}: the page says nothing was saved`);
    t.match(page.body, message, `${uri}: and why`);
    t.same(await app.demo.storage.findClient(client.id), before, `${uri}: the stored client is unchanged`);
  }
  const created = await admin.post('/admin/clients', { _csrf: csrf, name: 'Plain', redirect_uris: 'http://widget.example/cb', grant_types: 'authorization_code', scopes: 'polls:read' });
  t.equal(created.headers.location, '/admin', 'registering one is refused the same way');
  t.match((await admin.get('/admin')).body, /must use https/);
  const loopback = await admin.post(editUrl, { _csrf: csrf, name: 'Native', redirect_uris: 'http://127.0.0.1:8123/cb', type: 'confidential', grant_types: 'authorization_code', scopes: 'polls:read' });
  t.equal(loopback.statusCode, 303);
  t.same((await app.demo.storage.findClient(client.id))!.redirectUris, ['http://127.0.0.1:8123/cb'], 'http on loopback is accepted (RFC 8252)');
});

t.test('a client registered with http://localhost/callback comes back on any port (allowLocalhostAnyPort)', async (t) => {
  const { app } = await buildTestApp();
  t.teardown(() => app.close());
  const { client } = await app.oauth.registerClient({ name: 'CLI', type: 'public', redirectUris: ['http://localhost/callback'], scopes: ['polls:read'] });
  const authorize = (redirectUri: string) =>
    `/oauth/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: client.id,
      redirect_uri: redirectUri,
      scope: 'polls:read',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    })}`;
  const browser = new Browser(app);
  await browser.login('alice', ALICE_PASSWORD);
  const consent = await browser.get(authorize('http://localhost:49213/callback'));
  t.equal(consent.statusCode, 200);
  t.match(consent.body, /You will be sent back to <strong>localhost:49213<\/strong>/);
  const otherPath = await browser.get(authorize('http://localhost:49213/elsewhere'));
  t.equal(otherPath.statusCode, 400, 'the path must still match: an error page, no redirect');
  t.equal(otherPath.headers.location, undefined);
});

t.test('admin: clients grouped by how they came, with their last use; any of them can be disabled, which revokes its tokens', async (t) => {
  const { app, client } = await buildTestApp();
  t.teardown(() => app.close());
  const { storage } = app.demo;
  const FORM_TYPE = { 'content-type': 'application/x-www-form-urlencoded' };

  // A client that registered itself (RFC 7591) and obtained a token.
  const registered = await app.inject({
    method: 'POST',
    url: '/oauth/register',
    payload: { client_name: 'Self <Registered>', grant_types: ['client_credentials'], response_types: [], token_endpoint_auth_method: 'client_secret_post', scope: 'polls:read' },
  });
  t.equal(registered.statusCode, 201);
  const dynamic = registered.json() as { client_id: string; client_secret: string };
  const token = await app.inject({ method: 'POST', url: '/oauth/token', headers: FORM_TYPE, payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: dynamic.client_id, client_secret: dynamic.client_secret }).toString() });
  t.equal(token.statusCode, 200);
  const dynamicToken = token.json().access_token as string;
  const usedAt = (await storage.findClient(dynamic.client_id))!.lastUsedAt;
  t.ok(usedAt instanceof Date, 'the token endpoint recorded its use');

  // A client described by a metadata document, as the core records it when it first obtains tokens.
  const documentId = 'https://tools.example/mcp-client.json';
  const now = new Date();
  await storage.createClient({
    id: documentId, name: 'Document <Client>', type: 'public', secretDigest: null, redirectUris: ['https://tools.example/cb'], scopes: ['polls:read'],
    resources: null, grantTypes: ['authorization_code', 'refresh_token'], responseTypes: ['code'], ownerId: null, oauth1Enabled: false,
    oauth1SecretEncrypted: null, rsaPublicKey: null, disabled: false, createdAt: now, updatedAt: now, origin: 'document', lastUsedAt: now,
  });

  const admin = new Browser(app);
  await admin.login('admin', ADMIN_PASSWORD);
  const home = await admin.get('/admin');
  t.equal(home.statusCode, 200);
  const group = (id: string) => new RegExp(`<table id="${id}">([\\s\\S]*?)</table>`).exec(home.body)?.[1] ?? '';
  t.match(group('clients-admin'), `data-client-id="${client.id}"`);
  t.match(group('clients-admin'), /<td class="last-used">never<\/td>/);
  t.notMatch(group('clients-admin'), dynamic.client_id);
  t.match(group('clients-dynamic'), `data-client-id="${dynamic.client_id}"`);
  t.match(group('clients-dynamic'), /Self &lt;Registered&gt;/);
  t.match(group('clients-dynamic'), `<td class="last-used">${usedAt!.toISOString()}</td>`);
  t.match(group('clients-document'), `data-client-id="${documentId}"`);
  t.match(group('clients-document'), /Document &lt;Client&gt;/);
  t.match(group('clients-document'), `<td class="last-used">${now.toISOString()}</td>`);
  const csrf = Browser.csrf(home.body);

  const forged = await admin.post(`/admin/clients/${encodeURIComponent(dynamic.client_id)}/state`, { _csrf: 'forged', disabled: 'on' });
  t.equal(forged.statusCode, 303);
  t.equal((await storage.findClient(dynamic.client_id))!.disabled, false, 'a forged form disables nothing');

  const disabled = await admin.post(`/admin/clients/${encodeURIComponent(dynamic.client_id)}/state`, { _csrf: csrf, disabled: 'on' });
  t.equal(disabled.statusCode, 303);
  t.equal(disabled.headers.location, '/admin');
  const [row] = (await sql<{ disabled: number; origin: string }>`select disabled, origin from portcullis_clients where id = ${dynamic.client_id}`.execute(app.demo.db)).rows;
  t.same({ disabled: Number(row!.disabled), origin: row!.origin }, { disabled: 1, origin: 'dynamic' }, 'stored disabled');
  const tokens = (await sql<{ revoked_at: unknown }>`select revoked_at from portcullis_access_tokens where client_id = ${dynamic.client_id}`.execute(app.demo.db)).rows;
  t.equal(tokens.length, 1);
  t.not(tokens[0]!.revoked_at, null, 'its token is revoked in the database');
  t.equal((await app.inject({ url: '/api/polls', headers: { authorization: `Bearer ${dynamicToken}` } })).statusCode, 401);
  const refused = await app.inject({ method: 'POST', url: '/oauth/token', headers: FORM_TYPE, payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: dynamic.client_id, client_secret: dynamic.client_secret }).toString() });
  t.equal(refused.statusCode, 401);
  t.equal(refused.json().error, 'invalid_client', 'a disabled client gets no token');
  const after = await admin.get('/admin');
  t.match(after.body, /Client Self &lt;Registered&gt; disabled; 1 token revoked/);
  t.match(/<table id="clients-dynamic">([\s\S]*?)<\/table>/.exec(after.body)?.[1], /<td class="state">disabled<\/td>[\s\S]*?Enable/);

  const detail = await admin.get(`/admin/clients/${encodeURIComponent(documentId)}`);
  t.equal(detail.statusCode, 200);
  t.match(detail.body, /described by a client metadata document/);
  t.notMatch(detail.body, /id="edit-client"/, 'no edit form: its metadata are its document\'s');
  const edit = await admin.post(`/admin/clients/${encodeURIComponent(documentId)}`, { _csrf: csrf, name: 'Renamed', grant_types: 'authorization_code', redirect_uris: 'https://x.example/cb' });
  t.equal(edit.statusCode, 303);
  t.equal((await storage.findClient(documentId))!.name, 'Document <Client>', 'an edit of a document client saves nothing');
  const disableDocument = await admin.post(`/admin/clients/${encodeURIComponent(documentId)}/state`, { _csrf: csrf, disabled: 'on' });
  t.equal(disableDocument.statusCode, 303);
  t.equal((await storage.findClient(documentId))!.disabled, true, 'a document client is disabled like any other');
  const enable = await admin.post(`/admin/clients/${encodeURIComponent(documentId)}/state`, { _csrf: csrf, disabled: 'off' });
  t.equal(enable.statusCode, 303);
  t.equal((await storage.findClient(documentId))!.disabled, false, 'and enabled again');
});
