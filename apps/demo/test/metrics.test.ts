// /metrics and the audit log, after real token flows over HTTP driven by oauth4webapi.
import { Writable } from 'node:stream';
import * as oauth from 'oauth4webapi';
import t from 'tap';
import { readConfig } from '../src/config.js';
import { ADMIN_PASSWORD, ALICE_PASSWORD, Browser, buildTestApp } from './helpers.js';

const METRICS_TOKEN = 'a-metrics-token-of-at-least-32-characters';

/** The value of one sample of the exposition text, 0 when absent. */
function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((row) => row.startsWith(`${name}{${labels}} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

t.test('/metrics counts real flows; the audit log has a line per event; strangers are refused', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const { app, client } = await buildTestApp({ metricsToken: METRICS_TOKEN, logger: { level: 'info', stream } });
  t.teardown(() => app.close());
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const scrape = async (headers: Record<string, string> = { authorization: `Bearer ${METRICS_TOKEN}` }) => {
    const response = await fetch(`${base}/metrics`, { headers });
    return { status: response.status, headers: response.headers, text: await response.text() };
  };

  const before = await scrape();
  t.equal(before.status, 200);
  t.match(before.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  t.equal(before.headers.get('cache-control'), 'no-store');
  t.equal(sample(before.text, 'portcullis_tokens_issued_total', 'grant_type="client_credentials"'), 0);

  // Real clients at the real endpoints.
  const as: oauth.AuthorizationServer = { issuer: base, token_endpoint: `${base}/oauth/token` };
  const options = { [oauth.allowInsecureRequests]: true };
  const confidential: oauth.Client = { client_id: client.id };
  const auth = oauth.ClientSecretBasic(client.secret);
  const credentials = await oauth.processClientCredentialsResponse(
    as,
    confidential,
    await oauth.clientCredentialsGrantRequest(as, confidential, auth, new URLSearchParams({ scope: 'read' }), options),
  );
  t.ok(credentials.access_token);
  const password = await oauth.processGenericTokenEndpointResponse(
    as,
    confidential,
    await oauth.genericTokenEndpointRequest(as, confidential, auth, 'password', new URLSearchParams({ username: 'alice', password: ALICE_PASSWORD, scope: 'read' }), options),
  );
  const firstRefresh = password.refresh_token!;
  const refreshed = await oauth.processRefreshTokenResponse(as, confidential, await oauth.refreshTokenGrantRequest(as, confidential, auth, firstRefresh, options));
  t.ok(refreshed.refresh_token);
  // The spent refresh token again: a replay, refused with invalid_grant.
  await t.rejects(
    oauth.processRefreshTokenResponse(as, confidential, await oauth.refreshTokenGrantRequest(as, confidential, auth, firstRefresh, options)),
    { name: 'ResponseBodyError', cause: { error: 'invalid_grant' } },
  );
  // A wrong secret.
  await t.rejects(
    oauth.processClientCredentialsResponse(
      as,
      confidential,
      await oauth.clientCredentialsGrantRequest(as, confidential, oauth.ClientSecretBasic('not-the-secret'), new URLSearchParams(), options),
    ),
    { name: 'WWWAuthenticateChallengeError', response: { status: 401 } },
  );

  const after = await scrape();
  t.equal(after.status, 200);
  const delta = (name: string, labels: string) => sample(after.text, name, labels) - sample(before.text, name, labels);
  t.equal(delta('portcullis_tokens_issued_total', 'grant_type="client_credentials"'), 1);
  t.equal(delta('portcullis_tokens_issued_total', 'grant_type="password"'), 1);
  t.equal(delta('portcullis_tokens_issued_total', 'grant_type="refresh_token"'), 1);
  t.equal(delta('portcullis_token_refusals_total', 'error="invalid_grant"'), 1);
  t.equal(delta('portcullis_token_refusals_total', 'error="invalid_client"'), 1);
  t.equal(delta('portcullis_client_authentication_failures_total', 'reason="invalid_secret"'), 1);
  t.equal(delta('portcullis_replays_detected_total', 'credential="refresh_token"'), 1);
  t.equal(delta('http_request_duration_seconds_count', 'method="POST",route="/oauth/token",status_code="200"'), 3);
  t.equal(delta('http_request_duration_seconds_count', 'method="POST",route="/oauth/token",status_code="400"'), 1);
  t.equal(delta('http_request_duration_seconds_count', 'method="POST",route="/oauth/token",status_code="401"'), 1);
  t.equal(sample(after.text, 'http_request_duration_seconds_count', 'method="GET",route="/metrics",status_code="200"'), 1, 'the first scrape was timed');

  // The audit trail: one line per event, marked, and no token or secret in any of them.
  const audit = lines.filter((line) => line['audit'] === true);
  const types = audit.map((line) => (line['event'] as { type: string }).type);
  t.same(types, [
    'client.registered',
    'token.issued',
    'token.issued',
    'token.refreshed',
    'refresh_token.replay_detected',
    'token.refused',
    'client.authentication_failed',
    'token.refused',
  ]);
  t.match(audit[1], { level: 30, msg: 'audit: token.issued', event: { type: 'token.issued', grantType: 'client_credentials', clientId: client.id, userId: null } });
  t.match(audit[2], { event: { grantType: 'password', scope: ['read'] } });
  const text = JSON.stringify(audit);
  for (const secret of [client.secret, credentials.access_token, password.access_token, firstRefresh, refreshed.access_token, refreshed.refresh_token!, ALICE_PASSWORD]) {
    t.notOk(text.includes(secret), 'no token or secret in the audit log');
  }

  // Nobody else reads the metrics.
  const anonymous = await scrape({});
  t.equal(anonymous.status, 401);
  t.equal(anonymous.headers.get('www-authenticate'), 'Bearer realm="metrics"');
  t.notMatch(anonymous.text, /portcullis_/);
  const wrongToken = await scrape({ authorization: 'Bearer not-the-metrics-token' });
  t.equal(wrongToken.status, 401);
  t.notMatch(wrongToken.text, /portcullis_/);

  const alice = new Browser(app);
  t.equal((await alice.login('alice', ALICE_PASSWORD)).statusCode, 303);
  const forbidden = await alice.get('/metrics');
  t.equal(forbidden.statusCode, 403);
  t.notMatch(forbidden.body, /portcullis_/);

  const admin = new Browser(app);
  t.equal((await admin.login('admin', ADMIN_PASSWORD)).statusCode, 303);
  const page = await admin.get('/metrics');
  t.equal(page.statusCode, 200);
  t.match(page.body, /portcullis_tokens_issued_total\{grant_type="password"\} 1/);
});

t.test('without METRICS_TOKEN a bearer token is refused; two apps count apart', async (t) => {
  const first = await buildTestApp();
  const second = await buildTestApp();
  t.teardown(async () => {
    await first.app.close();
    await second.app.close();
  });
  const refused = await first.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  t.equal(refused.statusCode, 401);
  const response = await first.app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${first.client.id}:${first.client.secret}`).toString('base64')}` },
    payload: 'grant_type=client_credentials',
  });
  t.equal(response.statusCode, 200);
  const admin = new Browser(second.app);
  await admin.login('admin', ADMIN_PASSWORD);
  const page = await admin.get('/metrics');
  t.equal(page.statusCode, 200);
  t.equal(sample(page.body, 'portcullis_tokens_issued_total', 'grant_type="client_credentials"'), 0, 'the other app issued it');
  t.throws(() => readConfig({ METRICS_TOKEN: 'short' }), /METRICS_TOKEN must be at least 32 characters/);
  t.equal(readConfig({ METRICS_TOKEN }).metricsToken, METRICS_TOKEN);
});
