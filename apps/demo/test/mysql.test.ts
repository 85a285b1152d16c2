import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import t from 'tap';
import { sql } from 'kysely';
import { DEMO_LOCK_WAIT_SECONDS } from '../src/db/database.js';
import { ALICE_PASSWORD, bearer, Browser, buildTestApp, form } from './helpers.js';

const SERVER = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };

async function reachable(): Promise<boolean> {
  try {
    const connection = await createConnection({ ...SERVER, connectTimeout: 2000 });
    await connection.end();
    return true;
  } catch {
    return false;
  }
}

if (!(await reachable())) {
  const message = 'MYSQL TESTS SKIPPED: MariaDB is not answering on 127.0.0.1:3306; set REQUIRE_MYSQL=1 to make this a failure';
  console.error(`\n${'!'.repeat(message.length)}\n${message}\n${'!'.repeat(message.length)}\n`);
  if (process.env.REQUIRE_MYSQL === '1') t.fail(message);
  else t.test('the demo on MySQL', { skip: message }, async () => {});
} else {
  t.test('the demo on MySQL: migrations, login sessions, password grant, votes, revoke', async (t) => {
    const database = `demo_test_${randomBytes(6).toString('hex')}`;
    const admin = await createConnection(SERVER);
    await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
    t.teardown(async () => {
      await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await admin.end();
    });
    const { app, client, pollId } = await buildTestApp({ databaseUrl: `mysql://root@127.0.0.1:3306/${database}` });
    t.teardown(() => app.close());

    const browser = new Browser(app);
    const login = await browser.login('alice', ALICE_PASSWORD, '/account/apps');
    t.equal(login.statusCode, 303);
    t.equal((await browser.get('/account/apps')).statusCode, 200, 'the session is kept in MySQL');

    const token = await app.inject({ method: 'POST', url: '/oauth2/access_token/', ...form({ client_id: client.id, client_secret: client.secret, grant_type: 'password', username: 'alice', password: ALICE_PASSWORD }) });
    t.equal(token.statusCode, 200, token.body);
    const access = token.json().access_token as string;
    const polls = await app.inject({ url: '/api/polls', headers: bearer(access) });
    const choiceId = String(polls.json().polls[0].choices[0].id);
    const votes = await Promise.all([1, 2, 3].map(() => app.inject({ method: 'POST', url: `/api/polls/${pollId}/vote`, ...form({ choice_id: choiceId }, bearer(access)) })));
    t.same(votes.map((v) => v.statusCode).sort(), [201, 409, 409], 'one vote per user per poll, even concurrently');
    const results = await app.inject({ url: `/api/polls/${pollId}/results`, headers: bearer(access) });
    t.equal(results.json().total_votes, 1);

    const lockWait = await sql<{ wait: number }>`select @@session.innodb_lock_wait_timeout as wait`.execute(app.demo.db);
    t.equal(Number(lockWait.rows[0]?.wait), DEMO_LOCK_WAIT_SECONDS, "the demo's connections wait 5 s for a row lock, not InnoDB's 50");

    const apps = await browser.get('/account/apps');
    t.match(apps.body, new RegExp(`data-client-id="${client.id}"`));
    await browser.post('/account/apps/revoke', { _csrf: Browser.csrf(apps.body), client_id: client.id });
    t.equal((await app.inject({ url: '/api/me', headers: bearer(access) })).statusCode, 401, 'revoked');
  });
}
