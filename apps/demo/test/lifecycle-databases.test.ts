// Remembered consent, per-client lifetimes, refresh rotation, the device grant and the audit
// events, over HTTP with oauth4webapi on each database the demo runs on. The events are collected
// from the audit log (onEvent) and searched for every credential the flows issued: client secrets,
// codes, access and refresh tokens, device and user codes, and a registration access token.
import { Writable } from 'node:stream';
import * as oauth from 'oauth4webapi';
import { ALICE_PASSWORD, Browser, buildTestApp, TEST_ISSUER } from './helpers.js';
import { onEachDatabase } from './databases.js';

const REDIRECT_URI = 'https://client.example/cb';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const insecure = { [oauth.allowInsecureRequests]: true };

await onEachDatabase('consent, lifetimes, rotation, device grant and events over HTTP', async (t, database) => {
  const audit: ({ type: string } & Record<string, unknown>)[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line === '') continue;
        const entry = JSON.parse(line) as { audit?: boolean; event?: { type: string } & Record<string, unknown> };
        if (entry.audit === true && entry.event) audit.push(entry.event);
      }
      done();
    },
  });
  const { app } = await buildTestApp({ databaseUrl: database.url, logger: { level: 'info', stream } });
  t.teardown(() => app.close());
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const as: oauth.AuthorizationServer = {
    issuer: TEST_ISSUER,
    token_endpoint: `${base}/oauth/token`,
    introspection_endpoint: `${base}/oauth/introspect`,
    revocation_endpoint: `${base}/oauth/revoke`,
    device_authorization_endpoint: `${base}/oauth/device_authorization`,
  };
  audit.length = 0; // the helper's own client

  // Issued credentials, all of which the event payloads must not contain.
  const credentials: string[] = [ALICE_PASSWORD];
  const registered = await app.oauth.registerClient({
    name: 'Lifecycle app',
    redirectUris: [REDIRECT_URI],
    scopes: ['polls:read', 'polls:vote'],
    grantTypes: ['authorization_code', 'refresh_token'],
    type: 'confidential',
    accessTokenTtl: 300,
    refreshTokenTtl: 7200,
  });
  credentials.push(registered.clientSecret!);
  const client: oauth.Client = { client_id: registered.client.id };
  const auth = oauth.ClientSecretBasic(registered.clientSecret!);

  const browser = new Browser(app);
  t.equal((await browser.login('alice', ALICE_PASSWORD)).statusCode, 303);

  /** An authorization request; the page's status, and the code once approved (or already given). */
  async function authorize(scope: string, extra: Record<string, string> = {}, as_ = { client, auth }) {
    const { client, auth } = as_;
    const verifier = oauth.generateRandomCodeVerifier();
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: REDIRECT_URI,
      scope,
      state: 'st',
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...extra,
    });
    const first = await browser.get(`/oauth/authorize?${query}`);
    let redirect = first;
    if (first.statusCode === 200) {
      redirect = await browser.post('/oauth/authorize', { csrf_token: Browser.csrf(first.body, 'csrf_token'), decision: 'approve' });
    }
    const callback = new URL(String(redirect.headers.location));
    credentials.push(callback.searchParams.get('code')!);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, auth, oauth.validateAuthResponse(as, client, callback, 'st'), REDIRECT_URI, verifier, insecure),
    );
    credentials.push(tokens.access_token, ...(tokens.refresh_token === undefined ? [] : [tokens.refresh_token]));
    return { status: first.statusCode, page: first.body, tokens };
  }

  const asked = await authorize('polls:read');
  t.equal(asked.status, 200, 'the first request asks');
  t.equal(asked.tokens.expires_in, 300, 'expires_in follows the client lifetime');
  const introspected = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, asked.tokens.access_token, insecure));
  t.equal(introspected.active, true);
  t.equal(introspected.exp! - introspected.iat!, 300, 'introspection reports the client lifetime');

  t.equal((await authorize('polls:read')).status, 302, 'remembered: the same scope skips the page');
  const escalated = await authorize('polls:read polls:vote');
  t.equal(escalated.status, 200, 'escalated: a new scope asks again');
  t.equal((await authorize('polls:read', { prompt: 'consent' })).status, 200, 'forced: prompt=consent asks again');

  // Skipped: a first-party client is not asked, even the first time.
  const firstParty = await app.oauth.registerClient({
    name: 'First party',
    redirectUris: [REDIRECT_URI],
    scopes: ['polls:read'],
    grantTypes: ['authorization_code'],
    type: 'confidential',
    skipConsent: true,
  });
  credentials.push(firstParty.clientSecret!);
  const skipped = await authorize('polls:read', {}, { client: { client_id: firstParty.client.id }, auth: oauth.ClientSecretBasic(firstParty.clientSecret!) });
  t.equal(skipped.status, 302, 'skipConsent: no page');

  // Rotation with no reuse interval: the spent refresh token replayed is refused and ends the family.
  const rotated = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, auth, escalated.tokens.refresh_token!, insecure));
  credentials.push(rotated.access_token, rotated.refresh_token!);
  t.equal(rotated.expires_in, 300, 'a refresh keeps the client lifetime');
  await t.rejects(
    oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, auth, escalated.tokens.refresh_token!, insecure)),
    { cause: { error: 'invalid_grant' } },
  );
  const afterReplay = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, rotated.refresh_token!, insecure));
  t.equal(afterReplay.active, false, 'the replay revoked the family');

  // Revoked: /account/apps forgets the approval; the app must ask again.
  const apps = await browser.get('/account/apps');
  t.equal((await browser.post('/account/apps/revoke', { _csrf: Browser.csrf(apps.body), client_id: client.client_id })).statusCode, 303);
  const again = await browser.get(`/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT_URI, scope: 'polls:read', state: 'st', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`);
  t.equal(again.statusCode, 200, 'revoked: the page again');

  // The device grant (RFC 8628) with oauth4webapi's device functions.
  const { client: tv } = await app.oauth.registerClient({ name: 'TV', type: 'public', grantTypes: [DEVICE_GRANT, 'refresh_token'], scopes: ['polls:read'] });
  const device: oauth.Client = { client_id: tv.id };
  const started = await oauth.processDeviceAuthorizationResponse(as, device, await oauth.deviceAuthorizationRequest(as, device, oauth.None(), new URLSearchParams({ scope: 'polls:read' }), insecure));
  credentials.push(started.device_code, started.user_code);
  await t.rejects(
    oauth.processDeviceCodeResponse(as, device, await oauth.deviceCodeGrantRequest(as, device, oauth.None(), started.device_code, insecure)),
    { cause: { error: 'authorization_pending' } },
  );
  const entry = await browser.get('/oauth/device');
  t.equal(entry.statusCode, 200);
  const wrong = await browser.post('/oauth/device', { csrf_token: Browser.csrf(entry.body, 'csrf_token'), user_code: 'BCDF-GHJK' });
  t.equal(wrong.statusCode, 400, 'a wrong user code is refused');
  let consent = await browser.post('/oauth/device', { csrf_token: Browser.csrf(wrong.body, 'csrf_token'), user_code: started.user_code });
  if (consent.statusCode === 303) consent = await browser.get(String(consent.headers.location));
  t.equal(consent.statusCode, 200, 'the consent page for the device');
  const done = await browser.post('/oauth/device', { csrf_token: Browser.csrf(consent.body, 'csrf_token'), decision: 'approve' });
  t.equal(done.statusCode, 200);
  const deviceTokens = await oauth.processDeviceCodeResponse(as, device, await oauth.deviceCodeGrantRequest(as, device, oauth.None(), started.device_code, insecure));
  credentials.push(deviceTokens.access_token, deviceTokens.refresh_token!);
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, device, oauth.None(), deviceTokens.access_token, insecure));

  // A brute-forced user code is stopped: past the bound the right code is refused too.
  const second = await oauth.processDeviceAuthorizationResponse(as, device, await oauth.deviceAuthorizationRequest(as, device, oauth.None(), new URLSearchParams({ scope: 'polls:read' }), insecure));
  credentials.push(second.device_code, second.user_code);
  const guesser = new Browser(app);
  t.equal((await guesser.login('alice', ALICE_PASSWORD)).statusCode, 303);
  let page = await guesser.get('/oauth/device');
  for (let attempt = 1; attempt <= 5; attempt += 1) {
    page = await guesser.post('/oauth/device', { csrf_token: Browser.csrf(page.body, 'csrf_token'), user_code: 'BCDF-GHJK' });
    t.equal(page.statusCode, 400, `wrong code ${attempt}`);
  }
  const stopped = await guesser.post('/oauth/device', { csrf_token: Browser.csrf(page.body, 'csrf_token'), user_code: second.user_code });
  t.equal(stopped.statusCode, 429, 'the right code after too many wrong ones is refused');
  t.ok(stopped.headers['retry-after']);
  await t.rejects(
    oauth.processDeviceCodeResponse(as, device, await oauth.deviceCodeGrantRequest(as, device, oauth.None(), second.device_code, insecure)),
    { cause: { error: 'authorization_pending' } },
    'and the device is still waiting',
  );

  // Dynamic registration (RFC 7591): its client secret and registration access token, then a token.
  const dynamic = await fetch(`${base}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'Registered itself', grant_types: ['client_credentials'], response_types: [], token_endpoint_auth_method: 'client_secret_basic', scope: 'polls:read' }),
  });
  t.equal(dynamic.status, 201);
  const metadata = (await dynamic.json()) as { client_id: string; client_secret: string; registration_access_token: string };
  credentials.push(metadata.client_secret, metadata.registration_access_token);
  const machine: oauth.Client = { client_id: metadata.client_id };
  const machineTokens = await oauth.processClientCredentialsResponse(
    as,
    machine,
    await oauth.clientCredentialsGrantRequest(as, machine, oauth.ClientSecretBasic(metadata.client_secret), new URLSearchParams({ scope: 'polls:read' }), insecure),
  );
  credentials.push(machineTokens.access_token);

  const lifecycle = registered.client.id;
  const expected = [
    { type: 'client.registered', clientId: lifecycle },
    { type: 'consent.granted', clientId: lifecycle, remembered: false, scope: ['polls:read'] },
    { type: 'token.issued', clientId: lifecycle, grantType: 'authorization_code' },
    { type: 'consent.granted', clientId: lifecycle, remembered: true },
    { type: 'token.issued', clientId: lifecycle },
    { type: 'consent.granted', clientId: lifecycle, remembered: false, scope: ['polls:read', 'polls:vote'] },
    { type: 'token.issued', clientId: lifecycle },
    { type: 'consent.granted', clientId: lifecycle, remembered: false },
    { type: 'token.issued', clientId: lifecycle },
    { type: 'client.registered', clientId: firstParty.client.id },
    { type: 'consent.granted', clientId: firstParty.client.id, remembered: false },
    { type: 'token.issued', clientId: firstParty.client.id },
    { type: 'token.refreshed', clientId: lifecycle },
    { type: 'refresh_token.replay_detected', clientId: lifecycle },
    { type: 'token.refused', clientId: lifecycle, error: 'invalid_grant' },
    { type: 'token.revoked', clientId: lifecycle, revokedBy: 'user' },
    { type: 'consent.revoked', clientId: lifecycle, revokedBy: 'user' },
    { type: 'client.registered', clientId: tv.id },
    { type: 'token.refused', clientId: tv.id, error: 'authorization_pending' },
    { type: 'device_code.approved', clientId: tv.id },
    { type: 'token.issued', clientId: tv.id, grantType: DEVICE_GRANT },
    { type: 'token.revoked', clientId: tv.id, revokedBy: 'revocation_endpoint' },
    { type: 'token.refused', clientId: tv.id, error: 'authorization_pending' },
    { type: 'client.registered', clientId: metadata.client_id, via: 'registration' },
    { type: 'token.issued', clientId: metadata.client_id, grantType: 'client_credentials' },
  ];
  expected.forEach((event, index) => t.match(audit[index], event, `event ${index + 1}: ${event.type}`));
  t.equal(audit.length, expected.length, 'each action emitted its events once, and nothing else');
  const text = JSON.stringify(audit);
  t.equal(credentials.length, 28, 'every credential issued is searched for');
  t.same(credentials.filter((credential) => text.includes(credential)), [], 'no credential in any event');
});
