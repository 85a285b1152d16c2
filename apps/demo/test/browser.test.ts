import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { formatAuthorizationHeader, signRequest } from '@portcullis/core';
import { DEMO_DIR } from './run.js';
import { ADMIN_PASSWORD, ALICE_PASSWORD, buildTestApp, TEST_ISSUER } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = join(DEMO_DIR, 'test-output');

if (!existsSync(CHROMIUM)) {
  const message = `BROWSER TESTS SKIPPED: ${CHROMIUM} is missing (apt-get install -y chromium); set REQUIRE_BROWSER=1 to make this a failure`;
  console.error(`\n${'!'.repeat(message.length)}\n${message}\n${'!'.repeat(message.length)}\n`);
  if (process.env.REQUIRE_BROWSER === '1') t.fail(message);
  else t.test('browser tests', { skip: message }, async () => {});
} else {
  await runBrowserTests();
}

async function runBrowserTests(): Promise<void> {
  const { chromium } = await import('playwright-core');
  const { app, client: _unused } = await buildTestApp();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const base = `http://127.0.0.1:${port}`;
  // Another origin than the server's, so the consent form's redirect crosses origins as a real client's would.
  const redirectUri = `http://localhost:${port}/callback`;
  const registered = await app.oauth.registerClient({
    name: 'Browser Test Client',
    redirectUris: [redirectUri],
    scopes: ['polls:read', 'polls:vote'],
    grantTypes: ['authorization_code', 'implicit', 'refresh_token'],
    type: 'confidential',
    oauth1Enabled: true,
  });
  const clientId = registered.client.id;
  const clientSecret = registered.clientSecret!;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(async () => {
    await browser.close();
    await app.close();
  });

  const authorizeUrl = (state: string) =>
    `${base}/oauth/authorize?response_type=code&client_id=${encodeURIComponent(clientId)}&redirect_uri=${encodeURIComponent(redirectUri)}&scope=${encodeURIComponent('polls:read polls:vote')}&state=${state}`;

  /** A fresh browser context per test; a screenshot in test-output/ when the test fails. */
  async function withPage(t: Test, name: string, body: (page: Page) => Promise<void>): Promise<void> {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    try {
      await body(page);
    } catch (error) {
      mkdirSync(OUTPUT, { recursive: true });
      const path = join(OUTPUT, `${name}.png`);
      await page.screenshot({ path, fullPage: true }).catch(() => undefined);
      t.comment(`screenshot of the failure: ${path}`);
      throw error;
    } finally {
      await context.close();
    }
  }

  async function logIn(page: Page, username: string, password: string): Promise<void> {
    await page.fill('input[name=username]', username);
    await page.fill('input[name=password]', password);
    await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
  }

  async function exchange(code: string): Promise<{ access_token: string }> {
    const response = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, client_secret: clientSecret }),
    });
    if (response.status !== 200) throw new Error(`token endpoint answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as { access_token: string };
  }

  await t.test('log in, approve, land on the redirect URI with a code; revoke from /account/apps', async (t) => {
    await withPage(t, 'approve-and-revoke', async (page) => {
      await page.goto(authorizeUrl('s1'));
      t.match(page.url(), `${base}/login?returnTo=`, 'an anonymous user is sent to log in');
      await logIn(page, 'alice', ALICE_PASSWORD);
      t.equal(page.url(), authorizeUrl('s1'), 'back at the authorization request');
      t.match(await page.textContent('body'), /Browser Test Client/);
      t.match(await page.textContent('body'), /Vote in polls in your name/);
      await Promise.all([page.waitForURL(`${redirectUri}?**`), page.click('button[value=approve]')]);
      const landed = new URL(page.url());
      t.equal(`${landed.origin}${landed.pathname}`, redirectUri);
      t.equal(landed.searchParams.get('state'), 's1');
      const code = landed.searchParams.get('code');
      t.match(code, /^pcc_/);
      t.equal(await page.textContent('code[data-param=code]'), code, 'the callback page shows the code');
      const { access_token } = await exchange(code!);
      const me = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${access_token}` } });
      t.equal(me.status, 200);

      await page.goto(`${base}/account/apps`);
      const row = page.locator(`tr[data-client-id="${clientId}"]`);
      t.match(await row.textContent(), /Browser Test Client/);
      await Promise.all([page.waitForURL(`${base}/account/apps`), row.locator('button').click()]);
      t.match(await page.textContent('.flash'), /Access revoked for Browser Test Client/);
      t.equal(await page.locator(`tr[data-client-id="${clientId}"]`).count(), 0, 'the app is gone from the list');
      const refused = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${access_token}` } });
      t.equal(refused.status, 401, 'its token is refused');
      t.match(refused.headers.get('www-authenticate'), /invalid_token/);
    });
  });

  await t.test('deny: the client gets access_denied and no code', async (t) => {
    await withPage(t, 'deny', async (page) => {
      await page.goto(authorizeUrl('s2'));
      await logIn(page, 'alice', ALICE_PASSWORD);
      await Promise.all([page.waitForURL(`${redirectUri}?**`), page.click('button[value=deny]')]);
      const landed = new URL(page.url());
      t.equal(landed.searchParams.get('error'), 'access_denied');
      t.equal(landed.searchParams.get('state'), 's2');
      t.equal(landed.searchParams.get('code'), null);
    });
  });

  await t.test('implicit grant: the token arrives in the fragment, shown by the callback page', async (t) => {
    await withPage(t, 'implicit', async (page) => {
      await page.goto(authorizeUrl('s3').replace('response_type=code', 'response_type=token'));
      await logIn(page, 'alice', ALICE_PASSWORD);
      await Promise.all([page.waitForURL(`${redirectUri}#**`), page.click('button[value=approve]')]);
      const fragment = new URLSearchParams(new URL(page.url()).hash.slice(1));
      const token = fragment.get('access_token');
      t.match(token, /^pca_/);
      t.equal(fragment.get('state'), 's3');
      t.equal(await page.textContent('#fragment code[data-param=access_token]'), token, 'callback.js ran under the page CSP');
      const polls = await fetch(`${base}/api/polls`, { headers: { authorization: `Bearer ${token}` } });
      t.equal(polls.status, 200);
    });
  });

  await t.test('OAuth 1.0a: approve in the browser, land on the callback with a verifier, sign a request', async (t) => {
    await withPage(t, 'oauth1', async (page) => {
      let nonce = 0;
      // Signed for the test app's issuer (RFC 5849 section 3.4.1.2), and sent to the port it listens on.
      const signed = (method: string, path: string, extra: { token?: string; tokenSecret?: string; params?: Record<string, string> } = {}) =>
        formatAuthorizationHeader(
          signRequest({
            method,
            url: `${TEST_ISSUER}${path}`,
            consumerKey: clientId,
            signatureMethod: 'HMAC-SHA1',
            credentials: { consumerSecret: clientSecret, tokenSecret: extra.tokenSecret ?? '' },
            ...(extra.token ? { token: extra.token } : {}),
            timestamp: Math.floor(Date.now() / 1000),
            nonce: `browser-${++nonce}-${Date.now()}`,
            ...(extra.params ? { extra: extra.params } : {}),
          }),
        );
      const temporary = await fetch(`${base}/oauth1/request_token`, { method: 'POST', headers: { authorization: signed('POST', '/oauth1/request_token', { params: { oauth_callback: redirectUri } }) } });
      t.equal(temporary.status, 200);
      const temp = new URLSearchParams(await temporary.text());
      const requestToken = temp.get('oauth_token')!;
      await page.goto(`${base}/oauth1/authorize?oauth_token=${encodeURIComponent(requestToken)}`);
      await logIn(page, 'alice', ALICE_PASSWORD);
      t.match(await page.textContent('body'), /Browser Test Client/);
      await Promise.all([page.waitForURL(`${redirectUri}?**`), page.click('button[value=approve]')]);
      const landed = new URL(page.url());
      t.equal(landed.searchParams.get('oauth_token'), requestToken);
      const verifier = landed.searchParams.get('oauth_verifier')!;
      t.ok(verifier);
      const access = await fetch(`${base}/oauth1/access_token`, {
        method: 'POST',
        headers: { authorization: signed('POST', '/oauth1/access_token', { token: requestToken, tokenSecret: temp.get('oauth_token_secret')!, params: { oauth_verifier: verifier } }) },
      });
      t.equal(access.status, 200);
      const credentials = new URLSearchParams(await access.text());
      const me = await fetch(`${base}/api/me`, { headers: { authorization: signed('GET', '/api/me', { token: credentials.get('oauth_token')!, tokenSecret: credentials.get('oauth_token_secret')! }) } });
      t.equal(me.status, 200);
      t.equal(((await me.json()) as { protocol: string }).protocol, 'oauth1');
    });
  });

  await t.test('register a client in /admin; the secret is shown once', async (t) => {
    await withPage(t, 'admin-register', async (page) => {
      await page.goto(`${base}/admin`);
      await logIn(page, 'admin', ADMIN_PASSWORD);
      t.equal(page.url(), `${base}/admin`);
      const form = page.locator('#register-client');
      await form.locator('input[name=name]').fill('Made in the browser');
      await form.locator('textarea[name=redirect_uris]').fill('https://browser.example/cb');
      await form.locator('input[name=grant_types][value=client_credentials]').check();
      await form.locator('input[name=scopes][value="polls:read"]').check();
      await Promise.all([page.waitForURL(`${base}/admin/clients/**`), form.locator('button[type=submit]').click()]);
      const line = await page.locator('.flash div', { hasText: 'client_secret:' }).textContent();
      const secret = /^client_secret: (pcs_[\w-]+)$/.exec(line ?? '')?.[1];
      t.ok(secret, 'the secret is on the page');
      const id = await page.textContent('#client-id');
      const stored = await app.demo.storage.findClient(id!);
      t.match(stored, { name: 'Made in the browser', redirectUris: ['https://browser.example/cb'], grantTypes: ['authorization_code', 'client_credentials', 'refresh_token'], scopes: ['polls:read'] });
      const token = await fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id!, client_secret: secret! }),
      });
      t.equal(token.status, 200, 'the new client works with its secret');
      await page.reload();
      t.equal(await page.locator('.flash').count(), 0, 'a reload does not show the secret again');
    });
  });
}
