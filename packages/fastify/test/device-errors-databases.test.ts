// Every RFC 8628 error over HTTP with oauth4webapi, on the Kysely store over SQLite, MariaDB and
// PostgreSQL: at the device authorization endpoint (section 3.1, RFC 6749 section 5.2) and at the
// token endpoint while polling (section 3.5).
import * as oauth from 'oauth4webapi';
import { DEVICE_CODE_GRANT_TYPE } from '@portcullis/core';
import { onEachDatabase } from './databases.js';
import { Browser, buildTestApp, FORM, form, readCsrfToken } from './helpers.js';

const insecure = { [oauth.allowInsecureRequests]: true };

/** The RFC 6749 section 5.2 error of a refused response, with its status. */
async function refusal(response: Promise<unknown>): Promise<{ error: string; status: number } | 'accepted'> {
  try {
    await response;
    return 'accepted';
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) return { error: error.error, status: error.status };
    if (error instanceof oauth.WWWAuthenticateChallengeError) return { error: String(error.cause[0]?.parameters.error), status: error.status };
    throw error;
  }
}

onEachDatabase('RFC 8628 errors over HTTP', async (t, databaseUrl) => {
  let now = Date.now();
  const { app, close } = await buildTestApp({ databaseUrl, plugin: { deviceCodeInterval: 5, deviceCodeTtl: 600, clock: () => new Date(now) } });
  t.teardown(close);
  const origin = await app.listen({ port: 0, host: '127.0.0.1' });
  const as: oauth.AuthorizationServer = { issuer: origin, token_endpoint: `${origin}/oauth/token`, device_authorization_endpoint: `${origin}/oauth/device_authorization` };
  const { client: registered } = await app.oauth.registerClient({ name: 'TV', type: 'public', grantTypes: [DEVICE_CODE_GRANT_TYPE], scopes: ['read'] });
  const { client: registeredOther } = await app.oauth.registerClient({ name: 'Radio', type: 'public', grantTypes: [DEVICE_CODE_GRANT_TYPE], scopes: ['read'] });
  const { client: codeOnly } = await app.oauth.registerClient({ name: 'Web', type: 'public', redirectUris: [`${origin}/cb`], scopes: ['read'] });
  const tv: oauth.Client = { client_id: registered.id };
  const radio: oauth.Client = { client_id: registeredOther.id };

  const start = async (client: oauth.Client, scope = 'read') =>
    oauth.processDeviceAuthorizationResponse(as, client, await oauth.deviceAuthorizationRequest(as, client, oauth.None(), new URLSearchParams({ scope }), insecure));
  const poll = async (client: oauth.Client, deviceCode: string) =>
    refusal(oauth.deviceCodeGrantRequest(as, client, oauth.None(), deviceCode, insecure).then((response) => oauth.processDeviceCodeResponse(as, client, response)));

  // Section 3.1: the request for codes.
  t.same(await refusal(start(tv, 'admin')), { error: 'invalid_scope', status: 400 }, 'an unknown scope');
  t.same(await refusal(start({ client_id: 'pci_nobody' })), { error: 'invalid_client', status: 401 }, 'an unknown client');
  t.same(await refusal(start({ client_id: codeOnly.id })), { error: 'unauthorized_client', status: 400 }, 'a client without the grant');

  // Section 3.5: polling.
  const pending = await start(tv);
  t.equal(pending.interval, 5);
  t.same(await poll(tv, pending.device_code), { error: 'authorization_pending', status: 400 });
  now += 2000;
  t.same(await poll(tv, pending.device_code), { error: 'slow_down', status: 400 }, 'polled faster than the interval');
  t.same(await poll(radio, pending.device_code), { error: 'invalid_grant', status: 400 }, "another client's device code");
  t.same(await poll(tv, 'pcd_unknown'), { error: 'invalid_grant', status: 400 }, 'an unknown device code');

  const browser = new Browser();
  t.equal((await browser.fetch(`${origin}/login?user=bob`, { method: 'POST' })).status, 200);
  const entry = await (await browser.fetch(`${origin}/oauth/device`)).text();
  const consent = await (
    await browser.fetch(`${origin}/oauth/device`, { method: 'POST', headers: FORM, body: form({ user_code: pending.user_code, csrf_token: readCsrfToken(entry) }) })
  ).text();
  const denied = await browser.fetch(`${origin}/oauth/device`, { method: 'POST', headers: FORM, body: form({ decision: 'deny', csrf_token: readCsrfToken(consent) }) });
  t.equal(denied.status, 200);
  now += 20_000;
  t.same(await poll(tv, pending.device_code), { error: 'access_denied', status: 400 }, 'the user refused');

  const late = await start(tv);
  now += 601_000;
  t.same(await poll(tv, late.device_code), { error: 'expired_token', status: 400 }, 'past expires_in');
});
