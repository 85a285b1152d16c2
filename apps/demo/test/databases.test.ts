// The demo on each database it supports, through what touches storage: the CLI, login sessions,
// the token grants, votes and revocation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { DEMO_LOCK_WAIT_SECONDS } from '../src/db/database.js';
import { onEachDatabase, type DatabaseKind } from './databases.js';
import { ALICE_PASSWORD, basicAuth, bearer, Browser, buildTestApp, form, SECRET_KEY, SESSION_SECRET } from './helpers.js';
import { runCliProcess } from './run.js';

const REDIRECT_URI = 'https://client.example/cb';

/** How long a statement of the demo's connection waits for a row lock, in seconds; null on SQLite. */
const lockWaitQuery: Record<DatabaseKind, string | null> = {
  SQLite: null,
  MariaDB: 'select @@session.innodb_lock_wait_timeout as wait',
  PostgreSQL: "select extract(epoch from current_setting('lock_timeout')::interval) as wait",
};

await onEachDatabase('the demo', async (t, database) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'demo-db-data-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { DATABASE_URL: database.url, DATA_DIR: dataDir, NODE_ENV: 'development', SESSION_SECRET, PORTCULLIS_SECRET_KEY: SECRET_KEY };
  const cli = (...args: string[]) => runCliProcess(args, env);

  // The CLI comes first: it migrates the empty database, then registers a client in it.
  const created = await cli('client:create', '--name', 'Daemon', '--grant-type', 'client_credentials', '--scope', 'polls:stats', '--json');
  t.equal(created.code, 0, `the CLI creates a client: ${created.stderr}`);
  const daemon = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
  const listed = await cli('client:list', '--json');
  t.equal(listed.code, 0, listed.stderr);
  t.match(JSON.parse(listed.stdout), [{ client_id: daemon.client_id, name: 'Daemon', type: 'confidential', grant_types: ['client_credentials'], scope: 'polls:stats' }]);

  const { app, client, pollId } = await buildTestApp({ databaseUrl: database.url });
  t.teardown(() => app.close());

  await t.test('client_credentials for the client the CLI created', async (t) => {
    const token = await app.inject({ method: 'POST', url: '/oauth/token', ...form({ grant_type: 'client_credentials', scope: 'polls:stats' }, basicAuth(daemon.client_id, daemon.client_secret)) });
    t.equal(token.statusCode, 200, token.body);
    t.equal(token.json().scope, 'polls:stats');
    t.notOk(token.json().refresh_token, 'no refresh token (RFC 6749 section 4.4.3)');
    const stats = await app.inject({ url: `/api/polls/${pollId}/stats`, headers: bearer(token.json().access_token) });
    t.equal(stats.statusCode, 200, stats.body);
    t.equal(stats.json().total_votes, 0);
    const wrongSecret = await app.inject({ method: 'POST', url: '/oauth/token', ...form({ grant_type: 'client_credentials' }, basicAuth(daemon.client_id, `${daemon.client_secret}x`)) });
    t.equal(wrongSecret.statusCode, 401);
    t.equal(wrongSecret.json().error, 'invalid_client');
  });

  await t.test('authorization code: consent, exchange, refresh rotation, replays refused', async (t) => {
    const browser = new Browser(app);
    t.equal((await browser.login('alice', ALICE_PASSWORD)).statusCode, 303);
    const consent = await browser.get(
      `/oauth/authorize?response_type=code&client_id=${encodeURIComponent(client.id)}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&scope=polls%3Aread&state=s1`,
    );
    t.equal(consent.statusCode, 200, 'the consent page');
    const approved = await browser.post('/oauth/authorize', { csrf_token: Browser.csrf(consent.body, 'csrf_token'), decision: 'approve' });
    t.equal(approved.statusCode, 303);
    const location = new URL(String(approved.headers.location));
    t.equal(location.searchParams.get('state'), 's1');
    const code = location.searchParams.get('code') ?? '';
    const exchange = () => app.inject({ method: 'POST', url: '/oauth/token', ...form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }, basicAuth(client.id, client.secret)) });

    const tokens = await exchange();
    t.equal(tokens.statusCode, 200, tokens.body);
    t.equal(tokens.json().scope, 'polls:read');
    const me = await app.inject({ url: '/api/me', headers: bearer(tokens.json().access_token) });
    t.equal(me.statusCode, 200, 'the access token works');

    const refresh = (token: string) => app.inject({ method: 'POST', url: '/oauth/token', ...form({ grant_type: 'refresh_token', refresh_token: token }, basicAuth(client.id, client.secret)) });
    const rotated = await refresh(tokens.json().refresh_token);
    t.equal(rotated.statusCode, 200, rotated.body);
    t.not(rotated.json().refresh_token, tokens.json().refresh_token, 'a new refresh token');
    const reused = await refresh(tokens.json().refresh_token);
    t.equal(reused.statusCode, 400, 'the rotated refresh token is refused');
    t.equal(reused.json().error, 'invalid_grant');

    const replay = await exchange();
    t.equal(replay.statusCode, 400, 'the code is redeemed once');
    t.equal(replay.json().error, 'invalid_grant');
  });

  await t.test('login sessions, password grant, one vote per user, revoke', async (t) => {
    const browser = new Browser(app);
    t.equal((await browser.login('alice', ALICE_PASSWORD, '/account/apps')).statusCode, 303);
    t.equal((await browser.get('/account/apps')).statusCode, 200, 'the session is kept in the database');

    const token = await app.inject({ method: 'POST', url: '/oauth2/access_token/', ...form({ client_id: client.id, client_secret: client.secret, grant_type: 'password', username: 'alice', password: ALICE_PASSWORD }) });
    t.equal(token.statusCode, 200, token.body);
    const access = token.json().access_token as string;
    const polls = await app.inject({ url: '/api/polls', headers: bearer(access) });
    const choiceId = String(polls.json().polls[0].choices[0].id);
    const votes = await Promise.all([1, 2, 3].map(() => app.inject({ method: 'POST', url: `/api/polls/${pollId}/vote`, ...form({ choice_id: choiceId }, bearer(access)) })));
    t.same(votes.map((v) => v.statusCode).sort(), [201, 409, 409], 'one vote per user per poll, even concurrently');
    const results = await app.inject({ url: `/api/polls/${pollId}/results`, headers: bearer(access) });
    t.equal(results.json().total_votes, 1);

    const query = lockWaitQuery[database.kind];
    if (query) {
      const lockWait = await sql<{ wait: number | string }>`${sql.raw(query)}`.execute(app.demo.db);
      t.equal(Number(lockWait.rows[0]?.wait), DEMO_LOCK_WAIT_SECONDS, "the demo's connections wait 5 s for a row lock");
    }

    const apps = await browser.get('/account/apps');
    t.match(apps.body, new RegExp(`data-client-id="${client.id}"`));
    await browser.post('/account/apps/revoke', { _csrf: Browser.csrf(apps.body), client_id: client.id });
    t.equal((await app.inject({ url: '/api/me', headers: bearer(access) })).statusCode, 401, 'revoked');
  });
});
