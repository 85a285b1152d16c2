import * as oauth from 'oauth4webapi';
import t, { type Test } from 'tap';
import { DEVICE_CODE_GRANT_TYPE } from '@portcullis/core';
import { DEVICE_FIELDS, type DevicePageContext } from '../src/index.js';
import { Browser, buildTestApp, findFreePort, FORM, form, readCsrfToken } from './helpers.js';

const insecure = { [oauth.allowInsecureRequests]: true };

/** The error code a poll was answered with, or `tokens`. */
async function pollOnce(as: oauth.AuthorizationServer, client: oauth.Client, deviceCode: string): Promise<string> {
  const response = await oauth.deviceCodeGrantRequest(as, client, oauth.None(), deviceCode, insecure);
  try {
    await oauth.processDeviceCodeResponse(as, client, response);
    return 'tokens';
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) return error.error;
    throw error;
  }
}

async function startServer(t: Test, plugin: Record<string, unknown> = {}) {
  const port = await findFreePort();
  const origin = `http://127.0.0.1:${port}`;
  const { app, storage, close } = await buildTestApp({ plugin: { issuer: origin, deviceCodeInterval: 1, ...plugin } });
  t.teardown(close);
  await app.listen({ port, host: '127.0.0.1' });
  const { client: registered } = await app.oauth.registerClient({
    name: 'Living room TV',
    type: 'public',
    grantTypes: [DEVICE_CODE_GRANT_TYPE, 'refresh_token'],
    scopes: ['read', 'polls:results'],
  });
  const issuer = new URL(origin);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oauth2' }));
  const client: oauth.Client = { client_id: registered.id };
  return { app, storage, origin, as, client };
}

async function signIn(browser: Browser, origin: string, user = 'alice'): Promise<void> {
  const response = await browser.fetch(`${origin}/login?user=${user}`, { method: 'POST' });
  if (response.status !== 200) throw new Error(`login answered ${response.status}`);
}

t.test('oauth4webapi runs the device flow; the user signs in, enters the code and approves', async (t) => {
  const { app, origin, as, client } = await startServer(t);
  t.equal(as.device_authorization_endpoint, `${origin}/oauth/device_authorization`);
  t.ok(as.grant_types_supported?.includes(DEVICE_CODE_GRANT_TYPE));

  const started = await oauth.processDeviceAuthorizationResponse(
    as,
    client,
    await oauth.deviceAuthorizationRequest(as, client, oauth.None(), new URLSearchParams({ scope: 'read' }), insecure),
  );
  t.match(started, { user_code: /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/, verification_uri: `${origin}/oauth/device`, interval: 1, expires_in: 600 });
  t.equal(await pollOnce(as, client, started.device_code), 'authorization_pending');
  t.equal(await pollOnce(as, client, started.device_code), 'slow_down', 'polling again at once is too fast');

  const browser = new Browser();
  const complete = started.verification_uri_complete!;
  const anonymous = await browser.fetch(complete);
  t.equal(anonymous.status, 302, 'an anonymous user is sent to log in');
  const login = new URL(anonymous.headers.get('location')!, origin);
  t.equal(login.pathname, '/login');
  const next = login.searchParams.get('next')!;
  t.equal(next, `/oauth/device?user_code=${encodeURIComponent(started.user_code)}`, 'and comes back to the page with the code');

  await signIn(browser, origin);
  const entry = await browser.fetch(new URL(next, origin));
  t.equal(entry.status, 200);
  t.equal(entry.headers.get('x-frame-options'), 'DENY');
  t.equal(entry.headers.get('cache-control'), 'no-store');
  const entryPage = await entry.text();
  t.match(entryPage, `value="${started.user_code}"`, 'the code from verification_uri_complete is filled in');
  const entryCsrf = readCsrfToken(entryPage);

  const forged = await browser.fetch(`${origin}/oauth/device`, {
    method: 'POST',
    headers: FORM,
    body: form({ user_code: started.user_code, csrf_token: 'forged' }),
  });
  t.equal(forged.status, 403, 'a code posted without the page token is refused');

  const typed = started.user_code.toLowerCase().replace('-', ' ');
  const consentPage = await browser.fetch(`${origin}/oauth/device`, {
    method: 'POST',
    headers: FORM,
    body: form({ user_code: typed, csrf_token: entryCsrf }),
  });
  t.equal(consentPage.status, 200, 'the code, typed in lower case with a space, finds the request');
  const consentHtml = await consentPage.text();
  t.match(consentHtml, 'Living room TV');
  t.match(consentHtml, '<code>read</code>');
  t.match(consentPage.headers.get('content-security-policy') ?? '', /form-action 'self'$/, 'the form leads back here only');
  t.match(await pollOnce(as, client, started.device_code), /^(authorization_pending|slow_down)$/, 'no tokens while the user reads');

  const done = await browser.fetch(`${origin}/oauth/device`, {
    method: 'POST',
    headers: FORM,
    body: form({ decision: 'approve', csrf_token: readCsrfToken(consentHtml), narrow_scope: '1', granted_scope: 'read' }),
  });
  t.equal(done.status, 200);
  t.match(await done.text(), 'Device connected');

  await new Promise((resolve) => setTimeout(resolve, 1100));
  const response = await oauth.deviceCodeGrantRequest(as, client, oauth.None(), started.device_code, insecure);
  const tokens = await oauth.processDeviceCodeResponse(as, client, response);
  t.match(tokens, { token_type: 'bearer', scope: 'read' });
  t.type(tokens.refresh_token, 'string');
  const introspected = await app.oauth.server.verifyAccessToken(tokens.access_token);
  t.match(introspected, { clientId: client.client_id, userId: 'alice', scope: ['read'] });

  await new Promise((resolve) => setTimeout(resolve, 1100));
  t.equal(await pollOnce(as, client, started.device_code), 'invalid_grant', 'a poll after success');

  const replay = await browser.fetch(`${origin}/oauth/device`, {
    method: 'POST',
    headers: FORM,
    body: form({ decision: 'approve', csrf_token: readCsrfToken(consentHtml) }),
  });
  t.equal(replay.status, 400, 'the consent form cannot be posted twice');
});

t.test('a denial reaches the device as access_denied', async (t) => {
  const { origin, as, client } = await startServer(t);
  const started = await oauth.processDeviceAuthorizationResponse(
    as,
    client,
    await oauth.deviceAuthorizationRequest(as, client, oauth.None(), new URLSearchParams(), insecure),
  );
  const browser = new Browser();
  await signIn(browser, origin, 'bob');
  const entry = await (await browser.fetch(`${origin}/oauth/device`)).text();
  const consent = await (
    await browser.fetch(`${origin}/oauth/device`, { method: 'POST', headers: FORM, body: form({ user_code: started.user_code, csrf_token: readCsrfToken(entry) }) })
  ).text();
  const denied = await browser.fetch(`${origin}/oauth/device`, {
    method: 'POST',
    headers: FORM,
    body: form({ decision: 'deny', csrf_token: readCsrfToken(consent) }),
  });
  t.equal(denied.status, 200);
  t.match(await denied.text(), 'Device refused');
  t.equal(await pollOnce(as, client, started.device_code), 'access_denied');
});

t.test('wrong codes are counted per session and per address; past the bound the page answers 429', async (t) => {
  const { origin, as, client } = await startServer(t, { userCodeAttempts: { perSession: 3, perAddress: 5, lockout: 600 } });
  const started = await oauth.processDeviceAuthorizationResponse(
    as,
    client,
    await oauth.deviceAuthorizationRequest(as, client, oauth.None(), new URLSearchParams(), insecure),
  );

  async function tryCode(browser: Browser, code: string): Promise<Response> {
    const entry = await (await browser.fetch(`${origin}/oauth/device`)).text();
    return browser.fetch(`${origin}/oauth/device`, { method: 'POST', headers: FORM, body: form({ user_code: code, csrf_token: readCsrfToken(entry) }) });
  }

  const first = new Browser();
  await signIn(first, origin);
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const wrong = await tryCode(first, 'BBBB-BBBB');
    t.equal(wrong.status, 400, `wrong code ${attempt}`);
    t.match(await wrong.text(), 'not recognised');
  }
  const refused = await tryCode(first, started.user_code);
  t.equal(refused.status, 429, 'the session is refused, even the right code');
  t.ok(Number(refused.headers.get('retry-after')) > 0, 'with Retry-After');

  const second = new Browser();
  await signIn(second, origin);
  for (let attempt = 1; attempt <= 2; attempt += 1) t.equal((await tryCode(second, 'CCCC-CCCC')).status, 400, `a new session: wrong code ${attempt}`);
  t.equal((await tryCode(second, started.user_code)).status, 429, 'the address has used up its wrong codes');
});

t.test('the device endpoints exist only with the browser endpoints', async (t) => {
  const { app, close } = await buildTestApp({ plugin: { authorizationEndpoint: false } as Record<string, unknown> });
  t.teardown(close);
  const response = await app.inject({ method: 'POST', url: '/oauth/device_authorization', headers: FORM, payload: form({ client_id: 'x' }) });
  t.equal(response.statusCode, 404);
  const page = await app.inject({ method: 'GET', url: '/oauth/device' });
  t.equal(page.statusCode, 404);
  const metadata = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
  t.notOk('device_authorization_endpoint' in metadata.json());
});

t.test('renderDevicePage draws the page; a reflected user code is escaped by the built-in one', async (t) => {
  const seen: DevicePageContext[] = [];
  const custom = await buildTestApp({
    plugin: {
      renderDevicePage: (_request, reply, context) => {
        seen.push(context);
        return reply.send(`<p>custom ${context.kind}</p>`);
      },
    },
  });
  t.teardown(custom.close);
  const login = await custom.app.inject({ method: 'POST', url: '/login?user=carol' });
  const cookie = login.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const page = await custom.app.inject({ method: 'GET', url: '/oauth/device?user_code=BCDF-GHJK', headers: { cookie } });
  t.equal(page.statusCode, 200);
  t.equal(page.body, '<p>custom entry</p>');
  t.equal(page.headers['x-frame-options'], 'DENY', 'the page headers are set for a custom page too');
  t.match(seen[0], { kind: 'entry', user: { id: 'carol' }, action: '/oauth/device', userCode: 'BCDF-GHJK', error: null, fields: DEVICE_FIELDS });

  const builtIn = await buildTestApp();
  t.teardown(builtIn.close);
  const login2 = await builtIn.app.inject({ method: 'POST', url: '/login?user=dave' });
  const cookie2 = login2.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const reflected = await builtIn.app.inject({ method: 'GET', url: `/oauth/device?user_code=${encodeURIComponent('"><script>x</script>')}`, headers: { cookie: cookie2 } });
  t.equal(reflected.statusCode, 200);
  t.notMatch(reflected.body, '<script>');
  t.match(reflected.body, 'value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
});
