import type { Test } from 'tap';
import t from 'tap';
import { buildApp, type BuildAppOptions } from '../src/app.js';
import { DatabaseSessionStore } from '../src/session-store.js';
import { RedisSessionStore } from '../src/redis-session-store.js';
import { openDatabase, asDemoDb } from '../src/db/database.js';
import { migrateDemo } from '../src/db/migrations.js';
import { ALICE_PASSWORD, answered, Browser, buildTestApp, SESSION_SECRET, watchUnhandledRejections } from './helpers.js';
import { testRedisOrSkip } from './redis.js';

/** Return paths Node would refuse in a Location header, or that lead off the site. */
const REFUSED = [
  '/\u3002',
  '/\u2028',
  '/caf\u00e9',
  '/a\u0000b',
  '/a\r\nSet-Cookie: x=1',
  '/a\tb',
  '/a b',
  '/a\\b',
  '/\\evil.example',
  '//evil.example',
  '/%zz',
  'https://evil.example/',
];

async function returnPaths(t: Test, overrides: Partial<BuildAppOptions>): Promise<void> {
  const rejections = watchUnhandledRejections(t);
  const { app } = await buildTestApp(overrides);
  t.teardown(() => app.close());
  for (const returnTo of REFUSED) {
    const browser = new Browser(app);
    const login = await answered(browser.login('alice', ALICE_PASSWORD, returnTo));
    t.equal(login.statusCode, 303, `login with returnTo=${encodeURIComponent(returnTo)}: 303`);
    t.equal(login.headers.location, '/', 'to the home page');
    const again = await answered(browser.get(`/login?returnTo=${encodeURIComponent(returnTo)}`));
    t.equal(again.statusCode, 303, `GET /login?returnTo=${encodeURIComponent(returnTo)} while logged in: 303`);
    t.equal(again.headers.location, '/', 'to the home page');
  }
  const browser = new Browser(app);
  const kept = '/polls/1?a=%E3%80%82&b=c:d@e#top';
  t.equal((await browser.login('alice', ALICE_PASSWORD, kept)).headers.location, kept, 'a percent-encoded path is kept as it is');
  t.equal((await browser.get(`/login?returnTo=${encodeURIComponent(kept)}`)).headers.location, kept);
  t.equal((await browser.get('/')).statusCode, 200, 'the app still answers');
  await rejections.assertNone();
}

t.test('return paths: only URI characters on the same origin, with the database session store', async (t) => {
  await returnPaths(t, {});
});

t.test('return paths: only URI characters on the same origin, with the Redis session store', async (t) => {
  const shared = await testRedisOrSkip(t);
  if (!shared) return;
  await returnPaths(t, { redis: shared.redis, redisKeyPrefix: shared.prefix });
});

t.test('a response header Node would refuse becomes an error answer, never a hanging request', async (t) => {
  const rejections = watchUnhandledRejections(t);
  const app = await buildApp({ databaseUrl: 'sqlite::memory:', development: true, sessionSecret: SESSION_SECRET });
  t.teardown(() => app.close());
  // Routes writing to the session too, so the session store's callback carries the reply on.
  app.get('/bad-redirect', async (request, reply) => {
    request.session.set('username', 'x');
    return reply.redirect('/\u3002', 303);
  });
  app.get('/api/bad-header', async (request, reply) => {
    request.session.set('username', 'x');
    return reply.header('x-note', 'line\u3002').send({ ok: true });
  });
  await app.ready();
  const page = await answered(app.inject({ url: '/bad-redirect' }));
  t.equal(page.statusCode, 500);
  t.equal(page.headers.location, undefined, 'no Location');
  t.match(page.headers['content-type'], /^text\/html/);
  t.match(page.body, /Something went wrong on our side/);
  t.equal(page.headers['x-frame-options'], 'DENY', 'the security headers stay');
  const api = await answered(app.inject({ url: '/api/bad-header' }));
  t.equal(api.statusCode, 500);
  t.equal(api.headers['x-note'], undefined);
  t.same(api.json(), { error: 'server_error', error_description: 'Something went wrong on our side; please try again.' });
  t.equal((await app.inject({ url: '/login' })).statusCode, 200, 'the app still answers');
  await rejections.assertNone();
});

/** What a store's callback throws goes to the store's reporter, once, and never further. */
async function callbackThrows(t: Test, store: DatabaseSessionStore | RedisSessionStore, reported: unknown[]): Promise<void> {
  const rejections = watchUnhandledRejections(t);
  const session = { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) } } as never;
  let calls = 0;
  const throwing = () => {
    calls += 1;
    throw new Error('the reply could not be written');
  };
  store.set('s1', session, throwing);
  store.get('s1', throwing);
  store.destroy('s1', throwing);
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(calls, 3, 'each callback was called once');
  t.equal(reported.length, 3, 'each throw was reported');
  t.match(String(reported[0]), /the reply could not be written/);
  await rejections.assertNone();
}

t.test('a throw from the database session store callback is reported, not left unhandled', async (t) => {
  const db = await openDatabase('sqlite::memory:');
  t.teardown(() => db.destroy());
  await migrateDemo(db);
  const reported: unknown[] = [];
  await callbackThrows(t, new DatabaseSessionStore(asDemoDb(db), { reportError: (error) => reported.push(error) }), reported);
});

t.test('a throw from the Redis session store callback is reported, not left unhandled', async (t) => {
  const shared = await testRedisOrSkip(t);
  if (!shared) return;
  const reported: unknown[] = [];
  await callbackThrows(t, new RedisSessionStore(shared.redis, { keyPrefix: shared.prefix, reportError: (error) => reported.push(error) }), reported);
});
