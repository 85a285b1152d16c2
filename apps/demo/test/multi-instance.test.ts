import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAuthorizationHeader, signRequest } from '@portcullis/core';
import { createConnection } from 'mysql2/promise';
import t from 'tap';
import { basicAuth, Browser, SECRET_KEY, SESSION_SECRET } from './helpers.js';
import { connectTestRedis, deletePrefix, randomPrefix, REDIS_URL } from './redis.js';
import { HttpBrowser, postForm, startServer, type RunningServer } from './run.js';

const MYSQL = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };
// The public URL both instances stand behind, as a load balancer would present them.
const ISSUER = 'http://127.0.0.1:3000';

async function mysqlReachable(): Promise<boolean> {
  try {
    const connection = await createConnection({ ...MYSQL, connectTimeout: 2000 });
    await connection.end();
    return true;
  } catch {
    return false;
  }
}

function skipLoudly(message: string, required: boolean): void {
  console.error(`\n${'!'.repeat(message.length)}\n${message}\n${'!'.repeat(message.length)}\n`);
  if (required) t.fail(message);
  else t.test('two demo instances behind one database and one Redis', { skip: message }, async () => {});
}

const mysqlUp = await mysqlReachable();
const redis = mysqlUp ? await connectTestRedis() : null;
if (!mysqlUp) {
  skipLoudly('MULTI-INSTANCE TESTS SKIPPED: MariaDB is not answering on 127.0.0.1:3306; set REQUIRE_MYSQL=1 to make this a failure', process.env.REQUIRE_MYSQL === '1');
} else if (!redis) {
  skipLoudly(`MULTI-INSTANCE TESTS SKIPPED: Redis is not answering on ${REDIS_URL}; set REQUIRE_REDIS=1 to make this a failure`, process.env.REQUIRE_REDIS === '1');
} else {
  t.test('two demo instances behind one database and one Redis', async (t) => {
    const database = `portcullis_demo_mi_${randomBytes(6).toString('hex')}`;
    const prefix = randomPrefix();
    const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-mi-'));
    const admin = await createConnection(MYSQL);
    await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
    const servers: RunningServer[] = [];
    t.teardown(async () => {
      for (const server of servers) if (server.child.exitCode === null && server.child.signalCode === null) await server.stop();
      await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await admin.end();
      await deletePrefix(redis, prefix);
      redis.disconnect();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const env = {
      NODE_ENV: 'development',
      DATABASE_URL: `mysql://root@127.0.0.1:3306/${database}`,
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      SESSION_SECRET,
      PORTCULLIS_SECRET_KEY: SECRET_KEY,
      ISSUER,
      DATA_DIR: dataDir,
      // The load below is one client address: far above it, so the limit never refuses a token here.
      RATE_LIMIT_MAX: '100000',
    };
    // One after the other: the first applies the migrations and creates the admin and the sample client.
    const a = await startServer(env);
    servers.push(a);
    const b = await startServer(env);
    servers.push(b);
    const password = /admin password: (\S+)/.exec(a.output())?.[1];
    const clientId = /client_id:\s+(\S+)/.exec(a.output())?.[1];
    const clientSecret = /client_secret:\s+(\S+)/.exec(a.output())?.[1];
    const redirectUri = /redirect_uri:\s+(\S+)/.exec(a.output())?.[1];
    t.ok(password && clientId && clientSecret && redirectUri, 'the first instance bootstrapped the shared database');
    t.notMatch(b.output(), /admin password/, 'the second found it bootstrapped');
    if (!password || !clientId || !clientSecret || !redirectUri) return;
    const client = basicAuth(clientId, clientSecret);

    await t.test('an authorization begun on one instance is finished on the other', async (t) => {
      const browser = new HttpBrowser();
      const authorize = `/oauth/authorize?response_type=code&client_id=${encodeURIComponent(clientId)}&redirect_uri=${encodeURIComponent(redirectUri)}&scope=polls%3Aread%20polls%3Avote&state=across`;
      const first = await browser.request(a.baseUrl + authorize);
      t.equal(first.status, 302, 'A sends the anonymous user to log in');
      const loginPage = await browser.request(`${a.baseUrl}/login?returnTo=${encodeURIComponent(authorize)}`);
      const login = await browser.request(`${a.baseUrl}/login`, { form: { _csrf: Browser.csrf(loginPage.body), username: 'admin', password, returnTo: authorize } });
      t.equal(login.status, 303, 'logged in on A');
      const consent = await browser.request(a.baseUrl + authorize);
      t.equal(consent.status, 200, 'A shows the consent page');
      t.match(consent.body, /Polls sample client/);
      const approved = await browser.request(`${b.baseUrl}/oauth/authorize`, { form: { csrf_token: Browser.csrf(consent.body, 'csrf_token'), decision: 'approve' } });
      t.equal(approved.status, 303, 'B accepts the consent A asked for');
      const location = new URL(approved.location ?? 'about:blank');
      t.equal(location.searchParams.get('state'), 'across');
      const code = location.searchParams.get('code');
      t.ok(code, 'with a code');
      const exchange = await postForm(`${b.baseUrl}/oauth/token`, { grant_type: 'authorization_code', code: code ?? '', redirect_uri: redirectUri }, client);
      t.equal(exchange.status, 200, 'B redeems the code');
      t.equal(exchange.json.scope, 'polls:read polls:vote');
      const me = await fetch(`${a.baseUrl}/api/me`, { headers: { authorization: `Bearer ${String(exchange.json.access_token)}` } });
      t.equal(me.status, 200, 'A accepts the token B issued');
      const replay = await postForm(`${a.baseUrl}/oauth/token`, { grant_type: 'authorization_code', code: code ?? '', redirect_uri: redirectUri }, client);
      t.equal(replay.status, 400, 'A refuses the code B redeemed');
      t.equal(replay.json.error, 'invalid_grant');
    });

    await t.test('a token issued on one instance is used and revoked on the other', async (t) => {
      const issued = await postForm(`${a.baseUrl}/oauth/token`, { grant_type: 'password', username: 'admin', password, scope: 'polls:read' }, client);
      t.equal(issued.status, 200, 'A issues');
      const token = String(issued.json.access_token);
      t.equal((await fetch(`${b.baseUrl}/api/polls`, { headers: { authorization: `Bearer ${token}` } })).status, 200, 'B accepts it');
      const revoked = await postForm(`${b.baseUrl}/oauth/revoke`, { token }, client);
      t.equal(revoked.status, 200, 'B revokes it');
      t.equal((await fetch(`${a.baseUrl}/api/polls`, { headers: { authorization: `Bearer ${token}` } })).status, 401, 'A refuses it at once');
      const introspected = await postForm(`${a.baseUrl}/oauth/introspect`, { token }, client);
      t.same(introspected.json, { active: false });
    });

    await t.test('OAuth 1.0a across instances: temporary credentials on one, consent and token credentials on the other, one nonce for both', async (t) => {
      let counter = 0;
      // Both instances stand behind the issuer's URL: OAuth 1.0a requests are signed for it
      // (RFC 5849 section 3.4.1.2), whichever instance they reach.
      const sign = (method: string, path: string, extra: { token?: string; tokenSecret?: string; params?: Record<string, string>; nonce?: string; timestamp?: number } = {}) =>
        formatAuthorizationHeader(
          signRequest({
            method,
            url: `${ISSUER}${path}`,
            consumerKey: clientId,
            signatureMethod: 'HMAC-SHA1',
            credentials: { consumerSecret: clientSecret, tokenSecret: extra.tokenSecret ?? '' },
            ...(extra.token ? { token: extra.token } : {}),
            timestamp: extra.timestamp ?? Math.floor(Date.now() / 1000),
            nonce: extra.nonce ?? `mi-${++counter}-${randomBytes(6).toString('hex')}`,
            ...(extra.params ? { extra: extra.params } : {}),
          }),
        );
      const temporary = await fetch(`${a.baseUrl}/oauth1/request_token`, { method: 'POST', headers: { authorization: sign('POST', '/oauth1/request_token', { params: { oauth_callback: redirectUri } }) } });
      t.equal(temporary.status, 200, 'A issues temporary credentials');
      const temp = new URLSearchParams(await temporary.text());
      const requestToken = temp.get('oauth_token') ?? '';
      const browser = new HttpBrowser();
      const loginPage = await browser.request(`${b.baseUrl}/login`);
      t.equal((await browser.request(`${b.baseUrl}/login`, { form: { _csrf: Browser.csrf(loginPage.body), username: 'admin', password } })).status, 303, 'logged in on B');
      const consent = await browser.request(`${b.baseUrl}/oauth1/authorize?oauth_token=${encodeURIComponent(requestToken)}`);
      t.equal(consent.status, 200, 'B shows the consent page for A\'s request token');
      const approved = await browser.request(`${a.baseUrl}/oauth1/authorize`, { form: { csrf_token: Browser.csrf(consent.body, 'csrf_token'), decision: 'approve' } });
      t.equal(approved.status, 303, 'A takes the decision B asked for');
      const verifier = new URL(approved.location ?? 'about:blank').searchParams.get('oauth_verifier') ?? '';
      t.ok(verifier);
      const access = await fetch(`${b.baseUrl}/oauth1/access_token`, {
        method: 'POST',
        headers: { authorization: sign('POST', '/oauth1/access_token', { token: requestToken, tokenSecret: temp.get('oauth_token_secret') ?? '', params: { oauth_verifier: verifier } }) },
      });
      t.equal(access.status, 200, 'B exchanges it for token credentials');
      const credentials = new URLSearchParams(await access.text());
      const signed = { token: credentials.get('oauth_token') ?? '', tokenSecret: credentials.get('oauth_token_secret') ?? '', nonce: 'used-once-across-instances', timestamp: Math.floor(Date.now() / 1000) };
      const onA = await fetch(`${a.baseUrl}/api/me`, { headers: { authorization: sign('GET', '/api/me', signed) } });
      t.equal(onA.status, 200, 'a signed request on A');
      // The same signed request, nonce and timestamp (a nonce is unique per timestamp, RFC 5849
      // section 3.3), sent to B: the nonce store is shared, so B refuses it.
      const onB = await fetch(`${b.baseUrl}/api/me`, { headers: { authorization: sign('GET', '/api/me', signed) } });
      t.equal(onB.status, 401, 'the nonce A recorded is refused by B');
      t.equal(((await onB.json()) as { error: string }).error, 'nonce_used');
    });

    await t.test('stopping one instance during a load loses no token that was handed out', async (t) => {
      const received: string[] = [];
      const failures: string[] = [];
      let sent = 0;
      const TOTAL = 240;
      let stopped: Promise<number | null> | null = null;
      let fromB = 0;
      let stopAt = 0;
      let stopTook = Infinity;
      let refusedByB = 0;
      // B's 503s and refused connections, and how many of them came before it was told to stop.
      let unansweredByB = 0;
      let unansweredBeforeStop = 0;
      const countUnansweredByB = () => {
        unansweredByB++;
        if (stopped === null) unansweredBeforeStop++;
      };
      const worker = async (index: number) => {
        while (sent < TOTAL) {
          const n = sent++;
          // Half of the requests go to B until it refuses a connection; then, as a load balancer
          // would, everything goes to A.
          const target = refusedByB === 0 && (n + index) % 2 === 0 ? b : a;
          // SIGTERM once B has handed out some tokens, with requests to it still in flight.
          if (stopped === null && fromB >= 10) {
            stopAt = Date.now();
            stopped = b.stop().then((code) => ((stopTook = Date.now() - stopAt), code));
          }
          try {
            const response = await postForm(`${target.baseUrl}/oauth/token`, { grant_type: 'client_credentials', scope: 'polls:read' }, client);
            if (response.status === 200) {
              received.push(String(response.json.access_token));
              if (target === b) fromB++;
            }
            else if (target === a || response.status !== 503) failures.push(`${target === a ? 'A' : 'B'} ${response.status} ${JSON.stringify(response.json)}`);
            else countUnansweredByB();
          } catch {
            // Connection refused or reset by the stopping instance: the client got no token.
            if (target === a) failures.push('A refused a connection');
            else {
              refusedByB++;
              countUnansweredByB();
            }
          }
        }
      };
      await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(worker));
      t.same(failures, [], 'the surviving instance answered every request; the stopping one only ever a token or nothing');
      t.equal(await stopped, 0, 'B stopped gracefully (exit code 0)');
      t.ok(stopTook < 5000, `and promptly, keep-alive connections notwithstanding (${stopTook} ms)`);
      // Every request got a token, except those B left unanswered (a 503 or a refused connection)
      // once it was stopping: how many depends on how long its graceful stop took, not a bound.
      t.equal(received.length + unansweredByB, TOTAL, `tokens handed out: ${received.length} of ${TOTAL}, ${fromB} of them by B`);
      t.equal(unansweredBeforeStop, 0, `B answered every request until it was stopped (${unansweredByB} unanswered after)`);
      t.ok(fromB >= 10, 'B handed out tokens before it stopped');
      t.ok(refusedByB > 0, `requests kept going to B after it stopped (${refusedByB} refused)`);
      const invalid: string[] = [];
      for (const token of received) {
        const response = await fetch(`${a.baseUrl}/api/polls`, { headers: { authorization: `Bearer ${token}` } });
        if (response.status !== 200) invalid.push(`${token.slice(0, 8)}…: ${response.status}`);
      }
      t.same(invalid, [], 'every token a client received is valid on the surviving instance');
      const [rows] = await admin.query(`SELECT COUNT(*) AS n FROM \`${database}\`.portcullis_access_tokens WHERE client_id = ?`, [clientId]);
      t.ok(Number((rows as { n: number }[])[0]?.n) >= received.length, 'and stored');
    });
  });
}
