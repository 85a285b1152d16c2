import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAuthorizationHeader, signRequest } from '@portcullis/core';
import t from 'tap';
import { answered, Browser, SECRET_KEY, SESSION_SECRET } from './helpers.js';
import { HttpBrowser, startServer } from './run.js';

const MODES = [
  { mode: 'development', env: { NODE_ENV: 'development' } },
  { mode: 'production', env: { NODE_ENV: 'production', SESSION_SECRET, PORTCULLIS_SECRET_KEY: SECRET_KEY } },
] as const;

for (const { mode, env: modeEnv } of MODES) {
  t.test(`the running demo (${mode}) answers return paths and redirect URIs Node would refuse, and keeps running`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-survives-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    // Behind one proxy that terminates TLS, as production runs: the session cookie is Secure.
    const env = { ...modeEnv, DATABASE_URL: `sqlite:${join(dir, 'demo.sqlite')}`, DATA_DIR: join(dir, 'data'), HOST: '127.0.0.1', TRUST_PROXY: '1' };
    const server = await startServer(env);
    t.teardown(() => (server.child.exitCode === null ? server.stop() : undefined));
    const password = /admin password: (\S+)/.exec(server.output())?.[1];
    if (!password) return t.fail(`no admin password in the first start's output:\n${server.output()}`);
    const base = server.baseUrl;
    const browser = new HttpBrowser({ 'x-forwarded-proto': 'https' });

    for (const returnTo of ['/\u3002', '/\u2028x', '/a\r\nb']) {
      const page = await answered(browser.request(`${base}/login?returnTo=${encodeURIComponent(returnTo)}`));
      const login = await answered(browser.request(`${base}/login`, { form: { _csrf: Browser.csrf(page.body), username: 'admin', password, returnTo } }));
      t.equal(login.status, 303, `login with returnTo=${encodeURIComponent(returnTo)}: 303`);
      t.equal(login.location, '/', 'to the home page');
      const again = await answered(browser.request(`${base}/login?returnTo=${encodeURIComponent(returnTo)}`));
      t.equal(again.status, 303, 'GET /login while logged in: 303');
      t.equal(again.location, '/', 'to the home page');
      const logout = await answered(browser.request(`${base}/logout`, { form: { _csrf: Browser.csrf((await browser.request(`${base}/`)).body) } }));
      t.equal(logout.status, 303, 'logged out for the next round');
    }

    // Redirect URIs and callbacks no Location header can carry: refused where they come in.
    const home = await answered(browser.request(`${base}/login`));
    t.equal((await answered(browser.request(`${base}/login`, { form: { _csrf: Browser.csrf(home.body), username: 'admin', password } }))).status, 303, 'logged in as admin');
    const csrf = Browser.csrf((await answered(browser.request(`${base}/admin`))).body);
    const refused = await answered(
      browser.request(`${base}/admin/clients`, { form: { _csrf: csrf, name: 'Dotted', redirect_uris: 'https://client.example/cb\u3002', type: 'confidential', grant_types: 'authorization_code' } }),
    );
    t.equal(refused.location, '/admin', 'the admin form refuses a redirect URI holding U+3002');
    t.match((await answered(browser.request(`${base}/admin`))).body, /not registered/, 'and says so');
    const created = await answered(
      browser.request(`${base}/admin/clients`, { form: { _csrf: csrf, name: 'Printer', redirect_uris: '', type: 'confidential', grant_types: 'client_credentials', oauth1: 'on' } }),
    );
    t.equal(created.status, 303, 'a consumer without registered redirect URIs');
    const shown = (await answered(browser.request(`${base}${created.location}`))).body;
    const consumerKey = /client_id: (\S+?)</.exec(shown)?.[1] ?? '';
    const consumerSecret = /client_secret: (pcs_[\w-]+)/.exec(shown)?.[1] ?? '';
    t.ok(consumerKey && consumerSecret, 'its credentials are shown once');
    const sampleClientId = /client_id: +(\S+)/.exec(server.output())?.[1] ?? '';
    const authorize = await answered(
      browser.request(`${base}/oauth/authorize?response_type=code&client_id=${encodeURIComponent(sampleClientId)}&redirect_uri=${encodeURIComponent('https://client.example/cb\u3002')}`),
    );
    t.equal(authorize.status, 400, 'an authorization request naming such a redirect URI gets an error page');
    t.equal(authorize.location, null, 'and no redirect');
    // Clients sign for the issuer, which names https in production (behind the TLS proxy).
    const issuer = mode === 'production' ? base.replace(/^http:/, 'https:') : base;
    for (const callback of ['https://printer.example/cb\r\nSet-Cookie: x=1', 'https://printer.example/\u3002']) {
      const parameters = signRequest({
        method: 'POST',
        url: `${issuer}/oauth1/request_token`,
        consumerKey,
        signatureMethod: 'HMAC-SHA1',
        credentials: { consumerSecret, tokenSecret: '' },
        timestamp: Math.floor(Date.now() / 1000),
        nonce: `survives-${Math.random().toString(36).slice(2)}`,
        extra: { oauth_callback: callback },
      });
      const response = await fetch(`${base}/oauth1/request_token`, {
        method: 'POST',
        headers: { authorization: formatAuthorizationHeader(parameters), 'x-forwarded-proto': 'https' },
      });
      t.equal(response.status, 400, `oauth_callback ${JSON.stringify(callback)}: 400`);
      t.equal(((await response.json()) as { error: string }).error, 'parameter_rejected');
    }

    t.equal((await answered(browser.request(`${base}/`))).status, 200, 'the demo still answers');
    t.equal(server.child.exitCode, null, 'the process is still running');
    t.equal(await server.stop(), 0, 'and stops cleanly');
    t.notMatch(server.output(), /unhandled|ERR_INVALID_CHAR/i, 'nothing unhandled was logged');
  });
}
