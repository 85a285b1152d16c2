import t, { type Test } from 'tap';
import { buildApp } from '../src/app.js';
import { ADMIN_PASSWORD, ALICE_PASSWORD, Browser, buildTestApp, form, SECRET_KEY, SESSION_SECRET } from './helpers.js';
import { testRedisOrSkip } from './redis.js';

const AUTHORIZE =
  `/oauth/authorize?response_type=code&redirect_uri=${encodeURIComponent('https://client.example/cb')}&scope=polls%3Aread&state=s1&client_id=`;

function basic(client: { id: string; secret: string }): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}` };
}

function assertTooManyJson(t: Test, res: { statusCode: number; headers: Record<string, unknown>; json: () => unknown }, what: string): void {
  t.equal(res.statusCode, 429, `${what}: 429`);
  t.match(res.headers['content-type'], /^application\/json/, `${what}: JSON`);
  const retryAfter = Number(res.headers['retry-after']);
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `${what}: Retry-After in seconds (${String(res.headers['retry-after'])})`);
  const body = res.json() as Record<string, unknown>;
  t.same(Object.keys(body).sort(), ['error', 'error_description'], `${what}: only the RFC 6749 fields`);
  t.equal(body.error, 'temporarily_unavailable');
  t.equal(body.error_description, `Too many requests; retry after ${retryAfter} seconds.`);
}

t.test('brute force: the token endpoints answer 429 in the RFC shape with Retry-After, and store nothing', async (t) => {
  const { app, client } = await buildTestApp({ rateLimit: { max: 3, windowMs: 60_000 } });
  t.teardown(() => app.close());
  const wrong = form({ grant_type: 'password', username: 'alice', password: 'guess' }, basic(client));
  for (let i = 0; i < 3; i++) {
    t.equal((await app.inject({ method: 'POST', url: '/oauth/token', ...wrong })).statusCode, 400, `guess ${i + 1} is judged`);
  }
  const limited = await app.inject({ method: 'POST', url: '/oauth/token', ...form({ grant_type: 'password', username: 'alice', password: ALICE_PASSWORD }, basic(client)) });
  assertTooManyJson(t, limited, 'the plugin token endpoint');
  t.equal((await app.demo.storage.listAccessTokens({})).length, 0, 'even the right password issues nothing while limited');

  // The token endpoint's aliases share its count; unlimited routes are never counted.
  const alias = await app.inject({ method: 'POST', url: '/oauth2/access_token/', ...form({ grant_type: 'password', username: 'alice', password: ALICE_PASSWORD, client_id: client.id, client_secret: client.secret }) });
  assertTooManyJson(t, alias, 'the seed alias');
  for (let i = 0; i < 5; i++) t.equal((await app.inject({ url: '/' })).statusCode, 200, 'the home page is not limited');
  for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: '/oauth/revoke', ...form({ token: 'nothing' }, basic(client)) });
  assertTooManyJson(t, await app.inject({ method: 'POST', url: '/oauth/revoke', ...form({ token: 'nothing' }, basic(client)) }), 'revocation');
  for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: '/oauth/introspect', ...form({ token: 'nothing' }, basic(client)) });
  assertTooManyJson(t, await app.inject({ method: 'POST', url: '/oauth/introspect', ...form({ token: 'nothing' }, basic(client)) }), 'introspection');
  for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: '/oauth1/request_token', ...form({}) });
  assertTooManyJson(t, await app.inject({ method: 'POST', url: '/oauth1/request_token', ...form({}) }), 'OAuth 1.0a request_token');
  for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: '/oauth1/access_token', ...form({}) });
  assertTooManyJson(t, await app.inject({ method: 'POST', url: '/oauth1/access_token', ...form({}) }), 'OAuth 1.0a access_token');
  for (let i = 0; i < 3; i++) await app.inject({ url: '/oauth1/authorize?oauth_token=pcq_unknown' });
  const oauth1Authorize = await app.inject({ url: '/oauth1/authorize?oauth_token=pcq_unknown' });
  t.equal(oauth1Authorize.statusCode, 429, 'OAuth 1.0a authorize');
  t.ok(Number(oauth1Authorize.headers['retry-after']) >= 1);
  const otherAddress = await app.inject({ method: 'POST', url: '/oauth/introspect', remoteAddress: '203.0.113.9', ...form({ token: 'nothing' }, basic(client)) });
  t.equal(otherAddress.statusCode, 200, 'the count is per client address');
});

t.test('brute force: the login form and the authorization endpoint answer 429 pages', async (t) => {
  const { app, client } = await buildTestApp({ rateLimit: { max: 2, windowMs: 60_000 } });
  t.teardown(() => app.close());
  const browser = new Browser(app);
  const page = await browser.get('/login');
  const csrf = Browser.csrf(page.body);
  for (let i = 0; i < 2; i++) {
    const guess = await browser.post('/login', { _csrf: csrf, username: 'alice', password: `guess-${i}` });
    t.not(guess.statusCode, 429, `guess ${i + 1} is judged`);
  }
  const limited = await browser.post('/login', { _csrf: csrf, username: 'alice', password: ALICE_PASSWORD });
  t.equal(limited.statusCode, 429, 'the right password is not even tried');
  t.match(limited.headers['content-type'], /^text\/html/);
  t.ok(Number(limited.headers['retry-after']) >= 1, 'Retry-After');
  t.match(limited.body, /Too many requests; retry after \d+ seconds\./);
  t.equal(limited.headers['x-frame-options'], 'DENY', 'the error page keeps the security headers');
  t.notOk((await browser.get('/account/apps')).statusCode === 200, 'not logged in');

  for (let i = 0; i < 2; i++) await app.inject({ url: AUTHORIZE + encodeURIComponent(client.id) });
  const authorize = await app.inject({ url: AUTHORIZE + encodeURIComponent(client.id) });
  t.equal(authorize.statusCode, 429, 'the authorization endpoint');
  t.match(authorize.headers['content-type'], /^text\/html/);
  t.ok(Number(authorize.headers['retry-after']) >= 1);
});

t.test('security headers on every HTML page; the consent page keeps its own form-action', async (t) => {
  const { app, client } = await buildTestApp();
  t.teardown(() => app.close());
  const admin = new Browser(app);
  t.equal((await admin.login('admin', ADMIN_PASSWORD)).statusCode, 303);
  const pages: [string, string][] = [
    ['/', 'home'],
    ['/callback?code=x&state=y', 'callback'],
    ['/account/apps', 'my apps'],
    ['/admin', 'admin'],
    [`/admin/clients/${encodeURIComponent(client.id)}`, 'a client'],
    ['/admin/tokens', 'tokens'],
    [AUTHORIZE + encodeURIComponent(client.id), 'OAuth 2 consent'],
    [`/oauth/authorize?response_type=code&client_id=unknown`, 'OAuth 2 error page'],
    ['/oauth1/authorize?oauth_token=pcq_unknown', 'OAuth 1.0a error page'],
  ];
  const anonymous = new Browser(app);
  for (const [url, name] of [['/login', 'login'], ...pages] as [string, string][]) {
    const res = await (name === 'login' ? anonymous : admin).get(url);
    if (!String(res.headers['content-type']).startsWith('text/html')) {
      t.fail(`${name} (${url}) is not an HTML page: ${res.statusCode} ${String(res.headers['content-type'])}`);
      continue;
    }
    t.equal(res.headers['x-frame-options'], 'DENY', `${name}: X-Frame-Options`);
    t.equal(res.headers['referrer-policy'], 'no-referrer', `${name}: Referrer-Policy`);
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${name}: nosniff`);
    const csp = String(res.headers['content-security-policy']);
    t.match(csp, /frame-ancestors 'none'/, `${name}: CSP frame-ancestors`);
    t.match(csp, /default-src 'none'/, `${name}: CSP default-src`);
    t.notMatch(csp, /script-src[^;]*'unsafe-inline'/, `${name}: no inline scripts`);
    t.notMatch(csp, /script-src[^;]*'unsafe-eval'/, `${name}: no eval`);
    t.equal(res.headers['strict-transport-security'], undefined, `${name}: no HSTS on plain-http development`);
  }
  const consent = await admin.get(AUTHORIZE + encodeURIComponent(client.id));
  t.equal(consent.statusCode, 200);
  t.match(consent.body, /Test &lt;Client&gt;/, 'it is the consent page');
  t.match(consent.headers['content-security-policy'], /form-action 'self' https:\/\/client\.example/, 'helmet did not replace the page\'s own CSP');
  t.equal(String(consent.headers['content-security-policy']).match(/frame-ancestors/g)?.length, 1, 'one policy, not two merged');
});

t.test('outside development: HSTS, and Secure HttpOnly SameSite cookies', async (t) => {
  const { app } = await buildTestApp({ development: false, trustProxy: 1 });
  t.teardown(() => app.close());
  const res = await app.inject({ url: '/login', headers: { 'x-forwarded-proto': 'https' } });
  t.equal(res.statusCode, 200);
  t.match(res.headers['strict-transport-security'], /max-age=31536000/);
  const cookie = String(res.headers['set-cookie']);
  t.match(cookie, /^polls_session=/);
  t.match(cookie, /HttpOnly/);
  t.match(cookie, /SameSite=Lax/);
  t.match(cookie, /Secure/);
});

t.test('a secret shown once waits sealed in the session, not in process memory', async (t) => {
  const { app } = await buildTestApp();
  t.teardown(() => app.close());
  const admin = new Browser(app);
  await admin.login('admin', ADMIN_PASSWORD);
  const csrf = Browser.csrf((await admin.get('/admin')).body);
  const created = await admin.post('/admin/clients', { _csrf: csrf, name: 'Sealed', grant_types: 'client_credentials', scopes: 'polls:read', type: 'confidential' });
  t.equal(created.statusCode, 303);
  const rows = await app.demo.db.selectFrom('demo_sessions').select('data').execute();
  const flash = rows.map((r) => JSON.parse(r.data) as { flash?: { sealed?: string; lines: string[] } }).find((s) => s.flash)?.flash;
  t.ok(flash?.sealed, 'the session holds the sealed secret');
  t.match(flash!.sealed!, /^v1\./, 'sealed by SecretBox');
  t.same(flash!.lines, []);
  t.notMatch(JSON.stringify(rows), /pcs_/, 'no clear secret at rest');
  const shown = await admin.get(String(created.headers.location));
  t.match(shown.body, /client_secret: pcs_/);
  t.notOk((await app.demo.db.selectFrom('demo_sessions').select('data').execute()).some((r) => (JSON.parse(r.data) as { flash?: unknown }).flash), 'dropped at first display');
});

t.test('Redis: sessions, secrets shown once and rate-limit counts are shared by two instances', async (t) => {
  const shared = await testRedisOrSkip(t);
  if (!shared) return;
  const { redis, prefix } = shared;
  // Two instances: one database (as behind a load balancer), one Redis, separate processes' worth of memory.
  const first = await buildTestApp({ redis, redisKeyPrefix: prefix, rateLimit: { max: 4, windowMs: 60_000 } });
  t.teardown(() => first.app.close());
  const secondApp = await buildApp({
    db: first.app.demo.db as never,
    migrate: false,
    development: true,
    sessionSecret: SESSION_SECRET,
    secretKey: SECRET_KEY,
    redis,
    redisKeyPrefix: prefix,
    rateLimit: { max: 4, windowMs: 60_000 },
  });
  // Closed before the first, which owns the database.
  t.teardown(() => secondApp.close());
  const second = { app: secondApp };

  const onFirst = new Browser(first.app);
  t.equal((await onFirst.login('admin', ADMIN_PASSWORD)).statusCode, 303);
  const keys = await redis.keys(`${prefix}session:*`);
  t.equal(keys.length, 1, 'the session is a Redis key');
  const ttl = await redis.pttl(keys[0]!);
  t.ok(ttl > 7.9 * 3600_000 && ttl <= 8 * 3600_000, `its TTL is the cookie's max-age (${ttl} ms)`);
  t.equal(await first.app.demo.db.selectFrom('demo_sessions').select('id').execute().then((r) => r.length), 0, 'nothing in the session table');

  const onSecond = new Browser(second.app);
  for (const [k, v] of onFirst.cookies) onSecond.cookies.set(k, v);
  const adminPage = await onSecond.get('/admin');
  t.equal(adminPage.statusCode, 200, 'the other instance knows the session');
  const created = await onSecond.post('/admin/clients', { _csrf: Browser.csrf(adminPage.body), name: 'Across', grant_types: 'client_credentials', scopes: 'polls:read', type: 'confidential' });
  t.equal(created.statusCode, 303);
  t.notMatch((await Promise.all((await redis.keys(`${prefix}*`)).map((k) => redis.get(k)))).join('\n'), /pcs_/, 'no clear secret in Redis');
  for (const [k, v] of onSecond.cookies) onFirst.cookies.set(k, v);
  const shown = await onFirst.get(String(created.headers.location));
  t.match(shown.body, /client_secret: pcs_[\w-]+/, 'the secret registered on one instance is shown by the other');

  const logout = await onFirst.post('/logout', { _csrf: Browser.csrf(shown.body) });
  t.equal(logout.statusCode, 303);
  t.equal((await redis.keys(`${prefix}session:*`)).length, 0, 'logout deletes the Redis session');

  const body = () => form({ token: 'nothing' }, basic(first.client));
  const answers: number[] = [];
  for (const app of [first.app, second.app, first.app, second.app, first.app, second.app]) {
    answers.push((await app.inject({ method: 'POST', url: '/oauth/introspect', ...body() })).statusCode);
  }
  t.same(answers, [200, 200, 200, 200, 429, 429], 'four requests in all, whichever instance answers');
  const limited = await second.app.inject({ method: 'POST', url: '/oauth/introspect', ...body() });
  assertTooManyJson(t, limited, 'the shared limit');
});

t.test('RATE_LIMIT_MAX, RATE_LIMIT_WINDOW and REDIS_URL from the environment', async (t) => {
  const { readConfig, parseWindow } = await import('../src/config.js');
  t.same(readConfig({}).rateLimit, { max: 120, windowMs: 60_000 }, 'generous defaults');
  t.equal(readConfig({}).redisUrl, undefined, 'no Redis unless asked');
  const set = readConfig({ RATE_LIMIT_MAX: '10', RATE_LIMIT_WINDOW: '30s', REDIS_URL: 'redis://127.0.0.1:6379', REDIS_KEY_PREFIX: 'x:' });
  t.same(set.rateLimit, { max: 10, windowMs: 30_000 });
  t.equal(set.redisUrl, 'redis://127.0.0.1:6379');
  t.equal(set.redisKeyPrefix, 'x:');
  t.equal(parseWindow('1500'), 1500);
  t.equal(parseWindow('2m'), 120_000);
  t.equal(parseWindow('250ms'), 250);
  t.throws(() => parseWindow('soon'), /RATE_LIMIT_WINDOW/);
  t.throws(() => parseWindow('0'), /RATE_LIMIT_WINDOW/);
  t.throws(() => readConfig({ RATE_LIMIT_MAX: '-1' }), /RATE_LIMIT_MAX/);
  t.throws(() => readConfig({ RATE_LIMIT_MAX: 'lots' }), /RATE_LIMIT_MAX/);
});
