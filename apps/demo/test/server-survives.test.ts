import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { answered, Browser, SECRET_KEY, SESSION_SECRET } from './helpers.js';
import { HttpBrowser, startServer } from './run.js';

const MODES = [
  { mode: 'development', env: { NODE_ENV: 'development' } },
  { mode: 'production', env: { NODE_ENV: 'production', SESSION_SECRET, PORTCULLIS_SECRET_KEY: SECRET_KEY } },
] as const;

for (const { mode, env: modeEnv } of MODES) {
  t.test(`the running demo (${mode}) answers return paths Node would refuse, and keeps running`, async (t) => {
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
    t.equal((await answered(browser.request(`${base}/login`))).status, 200, 'the demo still answers');
    t.equal(server.child.exitCode, null, 'the process is still running');
    t.equal(await server.stop(), 0, 'and stops cleanly');
    t.notMatch(server.output(), /unhandled|ERR_INVALID_CHAR/i, 'nothing unhandled was logged');
  });
}
