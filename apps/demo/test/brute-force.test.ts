import t, { type Test } from 'tap';
import { buildApp, type BuildAppOptions } from '../src/app.js';
import { readConfig } from '../src/config.js';
import { parseTrustProxy } from '../src/trusted-proxies.js';
import { ADMIN_PASSWORD, ALICE_PASSWORD, Browser, buildTestApp, form, SECRET_KEY, SESSION_SECRET } from './helpers.js';
import { testRedisOrSkip } from './redis.js';
import { runNode } from './run.js';

const PROXY = '10.0.0.2';

function basic(client: { id: string; secret: string }): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}` };
}

t.test('TRUST_PROXY: a hop count or proxy addresses; anything else stops the start', async (t) => {
  t.equal(parseTrustProxy('1'), 1);
  t.equal(parseTrustProxy('2'), 2);
  t.equal(parseTrustProxy('0'), undefined, '0: no proxy');
  t.same(parseTrustProxy('10.0.0.5, 10.1.0.0/16,::1,fd00::/8,loopback'), ['10.0.0.5', '10.1.0.0/16', '::1', 'fd00::/8', 'loopback']);
  for (const bad of ['true', 'yes', '10.0.0.0/33', '::/129', '10.0.0', '10.0.0.1/8/1', '10.0.0.1,', '-1', '1.5']) {
    t.throws(() => parseTrustProxy(bad), /TRUST_PROXY must be a hop count/, `refuses ${bad}`);
  }
  t.equal(readConfig({}).trustProxy, undefined, 'no proxy unless asked');
  t.equal(readConfig({ TRUST_PROXY: '1' }).trustProxy, 1);
  t.throws(() => readConfig({ TRUST_PROXY: 'true' }), /TRUST_PROXY/);
  const started = await runNode('main', [], { TRUST_PROXY: 'true', PORT: '0', DATABASE_URL: 'sqlite::memory:', NODE_ENV: 'development' });
  t.equal(started.code, 1, 'the demo does not start');
  t.match(started.stderr, /cannot start the demo: TRUST_PROXY must be a hop count/);
});

async function introspectFrom(app: Awaited<ReturnType<typeof buildTestApp>>, remoteAddress: string, forwardedFor?: string) {
  const headers = { ...basic(app.client), ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) };
  return (await app.app.inject({ method: 'POST', url: '/oauth/introspect', remoteAddress, ...form({ token: 'nothing' }, headers) })).statusCode;
}

t.test('one proxy hop: a client behind the proxy cannot leave its count by writing X-Forwarded-For', async (t) => {
  const test = await buildTestApp({ trustProxy: 1, rateLimit: { max: 3, windowMs: 60_000 } });
  t.teardown(() => test.app.close());
  // The proxy appends the address it sees; the client wrote whatever it liked before it.
  const answers = [];
  for (let i = 0; i < 5; i++) answers.push(await introspectFrom(test, PROXY, `198.51.100.${i}, 203.0.113.7`));
  t.same(answers, [200, 200, 200, 429, 429], 'the client is counted by the address the proxy saw');
  t.equal(await introspectFrom(test, PROXY, '203.0.113.8'), 200, 'another client behind the same proxy has its own count');
});

t.test('proxy addresses: X-Forwarded-For counts only when the proxy sends it', async (t) => {
  const test = await buildTestApp({ trustProxy: [PROXY], rateLimit: { max: 2, windowMs: 60_000 } });
  t.teardown(() => test.app.close());
  const direct = [];
  for (let i = 0; i < 3; i++) direct.push(await introspectFrom(test, '203.0.113.9', `198.51.100.${i}`));
  t.same(direct, [200, 200, 429], 'a client connecting directly is counted by its own address');
  const proxied = [];
  for (let i = 0; i < 3; i++) proxied.push(await introspectFrom(test, PROXY, `198.51.100.${i}, 203.0.113.10`));
  t.same(proxied, [200, 200, 429], 'through the proxy, by the address the proxy appended');
  const tls = await test.app.inject({ url: '/login', remoteAddress: PROXY, headers: { 'x-forwarded-proto': 'https' } });
  t.equal(tls.statusCode, 200);
});

const THROTTLE = { maxFailures: 3, windowMs: 60_000 };

/** Wrong passwords from a new address each time, through the login form of one or more instances. */
async function loginAttempt(app: BuildApp, address: string, username: string, password: string) {
  const browser = new Browser(app);
  browser.remoteAddress = address;
  const page = await browser.get('/login');
  return browser.post('/login', { _csrf: Browser.csrf(page.body), username, password, returnTo: '/' });
}
type BuildApp = Awaited<ReturnType<typeof buildApp>>;

async function accountThrottle(t: Test, overrides: Partial<BuildAppOptions>, second?: (first: BuildApp) => Promise<BuildApp>): Promise<void> {
  const first = await buildTestApp({ ...overrides, accountThrottle: THROTTLE });
  t.teardown(() => first.app.close());
  const other = second ? await second(first.app) : first.app;
  const apps = [first.app, other];

  // The login form.
  for (let i = 0; i < 3; i++) {
    const wrong = await loginAttempt(apps[i % 2]!, `198.51.100.${i}`, i === 1 ? 'Alice' : 'alice', `guess-${i}`);
    t.equal(wrong.statusCode, 401, `wrong password ${i + 1} is judged`);
  }
  const refused = await loginAttempt(apps[1]!, '198.51.100.200', 'alice', ALICE_PASSWORD);
  t.equal(refused.statusCode, 429, 'the right password is refused once the account has had its failures');
  t.match(refused.body, /Too many failed logins for this account; try again in 1 minute\./);
  const retryAfter = Number(refused.headers['retry-after']);
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After in seconds (${String(refused.headers['retry-after'])})`);
  t.notOk(refused.headers.location, 'not logged in');
  t.equal((await loginAttempt(apps[0]!, '198.51.100.201', 'admin', ADMIN_PASSWORD)).statusCode, 303, 'other accounts are untouched');

  // The password grant, for another account.
  const grant = (password: string, address: string, app: BuildApp) =>
    app.inject({ method: 'POST', url: '/oauth/token', remoteAddress: address, ...form({ grant_type: 'password', username: 'admin', password }, basic(first.client)) });
  for (let i = 0; i < 3; i++) {
    const wrong = await grant(`guess-${i}`, `192.0.2.${i}`, apps[i % 2]!);
    t.equal(wrong.statusCode, 400, `password grant guess ${i + 1} is judged`);
    t.equal(wrong.json().error, 'invalid_grant');
  }
  const locked = await grant(ADMIN_PASSWORD, '192.0.2.100', apps[1]!);
  t.equal(locked.statusCode, 429, 'the right password is refused');
  t.same(Object.keys(locked.json()).sort(), ['error', 'error_description'], 'the RFC 6749 shape');
  t.equal(locked.json().error, 'temporarily_unavailable');
  t.match(locked.json().error_description, /^Too many failed logins for this account; retry after \d+ seconds\.$/);
  t.ok(Number(locked.headers['retry-after']) >= 1, 'Retry-After');
  t.equal(locked.headers['cache-control'], 'no-store');
  t.equal((await first.app.demo.storage.listAccessTokens({})).length, 0, 'no token was issued');
}

t.test('account throttle in memory: the right password is refused after N wrong ones from rotating addresses', async (t) => {
  await accountThrottle(t, {});
});

t.test('account throttle in Redis: counted across two instances', async (t) => {
  const shared = await testRedisOrSkip(t);
  if (!shared) return;
  await accountThrottle(t, { redis: shared.redis, redisKeyPrefix: shared.prefix }, async (first) => {
    const second = await buildApp({
      db: first.demo.db as never,
      migrate: false,
      development: true,
      sessionSecret: SESSION_SECRET,
      secretKey: SECRET_KEY,
      redis: shared.redis,
      redisKeyPrefix: shared.prefix,
      accountThrottle: THROTTLE,
    });
    t.teardown(() => second.close());
    return second;
  });
  t.ok((await shared.redis.keys(`${shared.prefix}login-failures:*`)).length >= 2, 'the counts are Redis keys under the prefix');
});

t.test('account throttle: a right password between wrong ones does not reset the count', async (t) => {
  const test = await buildTestApp({ accountThrottle: THROTTLE });
  t.teardown(() => test.app.close());
  t.equal((await loginAttempt(test.app, '198.51.100.1', 'alice', 'guess-1')).statusCode, 401);
  t.equal((await loginAttempt(test.app, '198.51.100.2', 'alice', ALICE_PASSWORD)).statusCode, 303, 'the owner logs in');
  t.equal((await loginAttempt(test.app, '198.51.100.3', 'alice', 'guess-2')).statusCode, 401);
  t.equal((await loginAttempt(test.app, '198.51.100.4', 'alice', ALICE_PASSWORD)).statusCode, 303, 'a right password is not a failure');
  t.equal((await loginAttempt(test.app, '198.51.100.5', 'alice', 'guess-3')).statusCode, 401);
  t.equal((await loginAttempt(test.app, '198.51.100.6', 'alice', ALICE_PASSWORD)).statusCode, 429, 'three failures, whatever came between');
});

t.test('account throttle: wrong passwords sent at once cannot all be tried before they are counted', async (t) => {
  const test = await buildTestApp({ accountThrottle: THROTTLE });
  t.teardown(() => test.app.close());
  const grant = (password: string, i: number) =>
    test.app.inject({ method: 'POST', url: '/oauth/token', remoteAddress: `192.0.2.${i}`, ...form({ grant_type: 'password', username: 'alice', password }, basic(test.client)) });
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => grant(`guess-${i}`, i)));
  t.same(answers.map((a) => a.statusCode).sort(), [400, 400, 400, 429, 429, 429, 429, 429, 429, 429], 'three tried, the rest refused');
});

/** Requests spread over the token endpoint, its aliases and the login form, from one address. */
async function spreadOverPasswordRoutes(t: Test, overrides: Partial<BuildAppOptions>): Promise<void> {
  const { app, client } = await buildTestApp({ ...overrides, rateLimit: { max: 6, windowMs: 60_000 } });
  t.teardown(() => app.close());
  const browser = new Browser(app);
  const csrf = Browser.csrf((await browser.get('/login')).body);
  const token = (url: string) => app.inject({ method: 'POST', url, ...form({ grant_type: 'client_credentials' }, basic(client)) });
  const login = () => browser.post('/login', { _csrf: csrf, username: 'nobody', password: 'wrong-password' });
  const routes = [() => token('/oauth/token'), () => token('/oauth2/access_token/'), () => token('/token'), login];
  const answers: number[] = [];
  for (let i = 0; i < 8; i++) answers.push((await routes[i % routes.length]!()).statusCode);
  t.equal(answers.filter((status) => status === 429).length, 2, `six requests in all, whichever route (${answers.join(' ')})`);
  t.same(answers.slice(6), [429, 429], 'the seventh and eighth are refused');
  const other = await app.inject({ method: 'POST', url: '/oauth/token', remoteAddress: '203.0.113.50', ...form({ grant_type: 'client_credentials' }, basic(client)) });
  t.equal(other.statusCode, 200, 'another address has its own count');
  const introspect = await app.inject({ method: 'POST', url: '/oauth/introspect', ...form({ token: 'nothing' }, basic(client)) });
  t.equal(introspect.statusCode, 200, 'introspection keeps a count of its own');
}

t.test('the token endpoint, its aliases and the login form share one count per address, in memory', async (t) => {
  await spreadOverPasswordRoutes(t, {});
});

t.test('the token endpoint, its aliases and the login form share one count per address, in Redis', async (t) => {
  const shared = await testRedisOrSkip(t);
  if (!shared) return;
  await spreadOverPasswordRoutes(t, { redis: shared.redis, redisKeyPrefix: shared.prefix });
});
