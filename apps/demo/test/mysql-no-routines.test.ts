// The demo on a MySQL-compatible server that forbids stored routines (TiDB, PlanetScale, managed
// servers without CREATE ROUTINE): a user with table privileges only migrates a fresh database and
// serves the token grants over HTTP.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { connectMysqlAdmin, MYSQL_SERVER, skipLoudly, uniqueDatabaseName } from './databases.js';
import { basicAuth, Browser, SECRET_KEY, SESSION_SECRET } from './helpers.js';
import { HttpBrowser, postForm, startServer, type RunningServer } from './run.js';

const NAME = 'the demo as a MariaDB user without CREATE ROUTINE or ALTER ROUTINE';
/** Everything a schema and its rows need, and no stored-routine privilege. */
const TABLE_PRIVILEGES = 'SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, REFERENCES';

const admin = await connectMysqlAdmin();
if (!admin) {
  skipLoudly(t, NAME, 'MARIADB TESTS SKIPPED: MariaDB is not answering on 127.0.0.1:3306; set REQUIRE_MYSQL=1 to make this a failure', process.env.REQUIRE_MYSQL === '1');
} else {
  t.test(NAME, async (t) => {
    const database = uniqueDatabaseName('demo_noroutine');
    const user = database;
    const password = randomBytes(12).toString('hex');
    const host = MYSQL_SERVER.host;
    const dataDir = mkdtempSync(join(tmpdir(), 'demo-noroutine-'));
    const servers: RunningServer[] = [];
    t.teardown(async () => {
      for (const server of servers) if (server.child.exitCode === null && server.child.signalCode === null) await server.stop();
      await admin.query(`DROP USER IF EXISTS '${user}'@'${host}'`);
      await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await admin.end();
      rmSync(dataDir, { recursive: true, force: true });
    });
    await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
    await admin.query(`CREATE USER '${user}'@'${host}' IDENTIFIED BY '${password}'`);
    await admin.query(`GRANT ${TABLE_PRIVILEGES} ON \`${database}\`.* TO '${user}'@'${host}'`);
    const [grants] = await admin.query(`SHOW GRANTS FOR '${user}'@'${host}'`);
    t.notMatch(JSON.stringify(grants), /ROUTINE|ALL PRIVILEGES/, 'the user may not create or alter stored routines');

    // The first start migrates the empty database as that user, then creates the admin and the sample client.
    const server = await startServer({
      NODE_ENV: 'development',
      DATABASE_URL: `mysql://${user}:${password}@${host}:${MYSQL_SERVER.port}/${database}`,
      SESSION_SECRET,
      PORTCULLIS_SECRET_KEY: SECRET_KEY,
      DATA_DIR: dataDir,
    });
    servers.push(server);
    const { baseUrl } = server;
    const adminPassword = /admin password: (\S+)/.exec(server.output())?.[1];
    const clientId = /client_id:\s+(\S+)/.exec(server.output())?.[1];
    const clientSecret = /client_secret:\s+(\S+)/.exec(server.output())?.[1];
    const redirectUri = /redirect_uri:\s+(\S+)/.exec(server.output())?.[1];
    if (!adminPassword || !clientId || !clientSecret || !redirectUri) return t.fail(`the first start printed no credentials:\n${server.output()}`);
    const client = basicAuth(clientId, clientSecret);

    const credentials = await postForm(`${baseUrl}/oauth/token`, { grant_type: 'client_credentials', scope: 'polls:stats' }, client);
    t.equal(credentials.status, 200, 'client_credentials');
    t.equal(credentials.json.scope, 'polls:stats');

    const browser = new HttpBrowser();
    const authorize = `/oauth/authorize?response_type=code&client_id=${encodeURIComponent(clientId)}&redirect_uri=${encodeURIComponent(redirectUri)}&scope=polls%3Aread&state=nr`;
    const loginPage = await browser.request(`${baseUrl}/login?returnTo=${encodeURIComponent(authorize)}`);
    const login = await browser.request(`${baseUrl}/login`, { form: { _csrf: Browser.csrf(loginPage.body), username: 'admin', password: adminPassword, returnTo: authorize } });
    t.equal(login.status, 303, 'logged in');
    const consent = await browser.request(baseUrl + authorize);
    t.equal(consent.status, 200, 'the consent page');
    const approved = await browser.request(`${baseUrl}/oauth/authorize`, { form: { csrf_token: Browser.csrf(consent.body, 'csrf_token'), decision: 'approve' } });
    t.equal(approved.status, 303);
    const location = new URL(approved.location ?? 'about:blank');
    t.equal(location.searchParams.get('state'), 'nr');
    const code = location.searchParams.get('code') ?? '';
    const exchange = await postForm(`${baseUrl}/oauth/token`, { grant_type: 'authorization_code', code, redirect_uri: redirectUri }, client);
    t.equal(exchange.status, 200, 'the code is exchanged');
    t.equal(exchange.json.scope, 'polls:read');
    const polls = await fetch(`${baseUrl}/api/polls`, { headers: { authorization: `Bearer ${String(exchange.json.access_token)}` } });
    t.equal(polls.status, 200, 'the access token works');
    const refreshed = await postForm(`${baseUrl}/oauth/token`, { grant_type: 'refresh_token', refresh_token: String(exchange.json.refresh_token) }, client);
    t.equal(refreshed.status, 200, 'the refresh token rotates');
    const replay = await postForm(`${baseUrl}/oauth/token`, { grant_type: 'authorization_code', code, redirect_uri: redirectUri }, client);
    t.equal(replay.status, 400, 'the code is redeemed once');
    t.equal(replay.json.error, 'invalid_grant');
  });
}
