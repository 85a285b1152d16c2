import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { runCliProcess, startServer } from './run.js';

const execFileAsync = promisify(execFile);
const CURL = '/usr/bin/curl';

/** The walk-through's commands, with curl's own flags; `-s -w` only adds the status code on a last line. */
async function curl(args: string[]): Promise<{ status: number; body: string }> {
  if (!existsSync(CURL)) throw new Error('curl is not installed');
  const { stdout } = await execFileAsync(CURL, ['-s', '-w', '\n%{http_code}', ...args]);
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

t.test('the password-grant walk-through as written, with curl, against the running demo', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'demo-walkthrough-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = { DATABASE_URL: `sqlite:${join(dir, 'demo.sqlite')}`, DATA_DIR: join(dir, 'data'), NODE_ENV: 'development', HOST: '127.0.0.1' };

  const server = await startServer(env);
  t.teardown(() => (server.child.exitCode === null ? server.stop() : undefined));
  const out = server.output();
  const admin = /admin password: (\S+)/.exec(out)?.[1];
  const clientId = /client_id: +(\S+)/.exec(out)?.[1];
  const clientSecret = /client_secret: +(\S+)/.exec(out)?.[1];
  t.ok(admin && clientId && clientSecret, 'the first start prints the admin and sample client credentials');
  t.equal(statSync(join(dir, 'data', 'secrets.json')).mode & 0o777, 0o600, 'generated secrets are kept, private');
  const base = server.baseUrl;
  // Started with PORT=0: the issuer names the port the demo listens on, not port 0.
  const metadata = await curl([`${base}/.well-known/oauth-authorization-server`]);
  t.equal(metadata.status, 200, metadata.body);
  t.equal(JSON.parse(metadata.body).issuer, base, 'the issuer is the address the demo listens on');

  // Step 2 of the password-grant walk-through: credentials in the body.
  const token = await curl(['-X', 'POST', '-d', `client_id=${clientId}&client_secret=${clientSecret}&grant_type=password&username=admin&password=${admin}`, `${base}/oauth2/access_token/`]);
  t.equal(token.status, 200, token.body);
  const body = JSON.parse(token.body);
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
  t.equal(body.token_type, 'Bearer');
  t.equal(body.expires_in, 3600);
  t.match(body.access_token, /^pca_/);
  t.match(body.refresh_token, /^pcr_/);

  // Step 3: the bearer token on the API.
  const api = await curl(['-H', `Authorization: Bearer ${body.access_token}`, `${base}/api/`]);
  t.equal(api.status, 200, api.body);
  t.match(JSON.parse(api.body), { client_id: clientId, user: { username: 'admin' } });
  const polls = await curl(['-H', `Authorization: Bearer ${body.access_token}`, `${base}/api/polls`]);
  t.equal(polls.status, 200);
  const poll = JSON.parse(polls.body).polls[0];
  t.equal(poll.question, "What's up?");
  const vote = await curl(['-X', 'POST', '-H', `Authorization: Bearer ${body.access_token}`, '-d', `choice_id=${poll.choices[2].id}`, `${base}/api/polls/${poll.id}/vote`]);
  t.equal(vote.status, 201, vote.body);
  const results = await curl(['-H', `Authorization: Bearer ${body.access_token}`, `${base}/api/polls/${poll.id}/results`]);
  t.equal(results.status, 200);
  t.equal(JSON.parse(results.body).results[2].votes, 1);
  const anonymous = await curl([`${base}/api/polls`]);
  t.equal(anonymous.status, 401);
  const wrong = await curl(['-X', 'POST', '-d', `client_id=${clientId}&client_secret=${clientSecret}&grant_type=password&username=admin&password=wrong`, `${base}/oauth2/access_token/`]);
  t.equal(wrong.status, 400);
  t.equal(JSON.parse(wrong.body).error, 'invalid_grant');

  // OAuth 1.0a, three legged, with curl and the CLI's signer (curl cannot sign); the user approves with an oob callback.
  const sign = async (...args: string[]) => {
    const result = await runCliProcess(['oauth1:sign', '--consumer-key', clientId!, '--consumer-secret', clientSecret!, ...args], env);
    t.equal(result.code, 0, result.stderr);
    return result.stdout.trim();
  };
  const temporary = await curl(['-X', 'POST', '-H', `Authorization: ${await sign('--method', 'POST', '--url', `${base}/oauth1/request_token`, '--callback', 'oob')}`, `${base}/oauth1/request_token`]);
  t.equal(temporary.status, 200, temporary.body);
  const temp = new URLSearchParams(temporary.body);
  const requestToken = temp.get('oauth_token')!;
  const verifier = await approveInBrowser(base, 'admin', admin!, `/oauth1/authorize?oauth_token=${encodeURIComponent(requestToken)}`);
  t.ok(verifier, 'the oob flow shows a verifier');
  const access = await curl([
    '-X', 'POST', '-H',
    `Authorization: ${await sign('--method', 'POST', '--url', `${base}/oauth1/access_token`, '--token', requestToken, '--token-secret', temp.get('oauth_token_secret')!, '--verifier', verifier)}`,
    `${base}/oauth1/access_token`,
  ]);
  t.equal(access.status, 200, access.body);
  const credentials = new URLSearchParams(access.body);
  const signedPolls = await curl(['-H', `Authorization: ${await sign('--url', `${base}/api/polls`, '--token', credentials.get('oauth_token')!, '--token-secret', credentials.get('oauth_token_secret')!)}`, `${base}/api/polls`]);
  t.equal(signedPolls.status, 200, signedPolls.body);
  t.equal(JSON.parse(signedPolls.body).polls.length, 2);

  // Graceful shutdown, then a restart keeps the data and prints no credentials again.
  t.equal(await server.stop(), 0, 'SIGTERM ends the demo cleanly');
  // At the same address: a token's audience is the issuer it was issued by (RFC 8707), its port included.
  const again = await startServer({ ...env, PORT: new URL(base).port });
  t.teardown(() => (again.child.exitCode === null ? again.stop() : undefined));
  t.notMatch(again.output(), /admin password/, 'credentials are printed on the first start only');
  const after = await curl(['-H', `Authorization: Bearer ${body.access_token}`, `${again.baseUrl}/api/me`]);
  t.equal(after.status, 200, 'the token survived the restart');
  const results2 = await curl(['-H', `Authorization: Bearer ${body.access_token}`, `${again.baseUrl}/api/polls/${poll.id}/results`]);
  t.equal(JSON.parse(results2.body).total_votes, 1, 'and so did the vote');
  t.equal(await again.stop(), 0);
});

/** Logs in and approves an OAuth 1.0a request with plain HTTP requests, as a browser would; returns the oob verifier. */
async function approveInBrowser(base: string, username: string, password: string, path: string): Promise<string> {
  const cookies = new Map<string, string>();
  const send = async (url: string, init: RequestInit = {}) => {
    const response = await fetch(`${base}${url}`, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, ...value] = pair!.split('=');
      cookies.set(name!, value.join('='));
    }
    return response;
  };
  const csrfOf = (body: string, field = '_csrf') => new RegExp(`name="${field}" value="([^"]+)"`).exec(body)?.[1] ?? '';
  const login = await (await send(`/login?returnTo=${encodeURIComponent(path)}`)).text();
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  await send('/login', { method: 'POST', headers: form, body: new URLSearchParams({ _csrf: csrfOf(login), username, password, returnTo: path }).toString() });
  const consent = await (await send(path)).text();
  // The plugin's consent page: its own CSRF field; the request waits in the session.
  const page = await (await send('/oauth1/authorize', { method: 'POST', headers: form, body: new URLSearchParams({ csrf_token: csrfOf(consent, 'csrf_token'), decision: 'approve' }).toString() })).text();
  return /id="oauth_verifier">([^<]+)</.exec(page)?.[1] ?? '';
}
