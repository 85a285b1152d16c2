// The device flow end to end: the CLI's `login` in a child process against a listening demo, the
// user's steps (log in, enter the code, approve) in Chromium through the real pages.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import t from 'tap';
import { CLI_CLIENT_ID, CLI_CLIENT_NAME } from '../src/bootstrap.js';
import { ALICE_PASSWORD, buildTestApp } from './helpers.js';
import { DEMO_DIR, freePort } from './run.js';

const CHROMIUM = '/usr/bin/chromium';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

if (!existsSync(CHROMIUM)) {
  const message = `BROWSER TESTS SKIPPED: ${CHROMIUM} is missing (apt-get install -y chromium); set REQUIRE_BROWSER=1 to make this a failure`;
  if (process.env.REQUIRE_BROWSER === '1') t.fail(message);
  else t.test('device login', { skip: message }, async () => {});
} else {
  await runDeviceLoginTests();
}

/** `pnpm demo login ...` as a child process; resolves each stdout line as it comes. */
function startLogin(args: string[]) {
  const child = spawn(process.execPath, [join(DEMO_DIR, 'dist', 'cli.js'), 'login', ...args], { cwd: DEMO_DIR, env: process.env });
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: (match: RegExpExecArray) => void }[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const waiter of [...waiters]) {
      const match = waiter.pattern.exec(stdout);
      if (match) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
      const found = pattern.exec(stdout);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} in the CLI output:\n${stdout}\n${stderr}`)), timeoutMs);
        waiters.push({ pattern, resolve: (match) => (clearTimeout(timer), resolve(match)) });
      });
    },
  };
}


async function runDeviceLoginTests(): Promise<void> {
  const { chromium } = await import('playwright-core');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { app, pollId } = await buildTestApp({ issuer: base });
  await app.listen({ host: '127.0.0.1', port });
  // The client the first start registers for the CLI.
  await app.oauth.registerClient({
    name: CLI_CLIENT_NAME,
    clientId: CLI_CLIENT_ID,
    scopes: ['polls:read', 'polls:vote'],
    grantTypes: [DEVICE_GRANT, 'refresh_token'],
    type: 'public',
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(async () => {
    await browser.close();
    await app.close();
  });

  async function withPage(body: (page: Page) => Promise<void>): Promise<void> {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    try {
      await body(page);
    } finally {
      await context.close();
    }
  }

  async function logIn(page: Page): Promise<void> {
    await page.fill('input[name=username]', 'alice');
    await page.fill('input[name=password]', ALICE_PASSWORD);
    await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
  }

  /** Submits the code form; resolves with the status of the page that answers. */
  async function enterCode(page: Page, code: string): Promise<number> {
    await page.fill('input[name=user_code]', code);
    const [response] = await Promise.all([
      page.waitForResponse((candidate) => candidate.request().method() === 'POST' && new URL(candidate.url()).pathname === '/oauth/device'),
      page.click('button[type=submit]'),
    ]);
    await page.waitForLoadState('load');
    return response.status();
  }

  await t.test('pnpm demo login: the code on the terminal, approval in the browser, then the polls', async (t) => {
    const login = startLogin(['--server', base, '--client-id', CLI_CLIENT_ID]);
    t.teardown(() => void login.child.kill());
    const [, verificationUri, userCode] = await login.waitFor(/open (\S+) and enter the code ([A-Z]{4}-[A-Z]{4})\n/);
    t.equal(verificationUri, `${base}/oauth/device`, 'the verification URI');

    await withPage(async (page) => {
      await page.goto(verificationUri!);
      t.match(page.url(), `${base}/login?returnTo=`, 'an anonymous user is sent to log in');
      await logIn(page);
      t.equal(page.url(), `${base}/oauth/device`, 'and comes back to the code page');
      // Typed as a person might: lower case, without the dash.
      t.equal(await enterCode(page, userCode!.toLowerCase().replace('-', '')), 200);
      t.match(await page.textContent('body'), new RegExp(`Authorize ${CLI_CLIENT_NAME}`), 'the consent page names the client');
      t.match(await page.textContent('body'), /polls:read/);
      await Promise.all([page.waitForLoadState('load'), page.click('button[value=approve]')]);
      t.match(await page.textContent('h1'), /Device connected/);
    });

    t.equal(await login.exited, 0, 'the CLI exits 0');
    const { stdout, stderr } = login.output();
    t.equal(stderr, '');
    t.match(stdout, /Signed in \(scope: polls:read\)\./);
    t.match(stdout, new RegExp(`#${pollId} Tea or coffee\\? \\(Tea / Coffee\\)`), 'it lists the polls with its token');
    const tokens = await app.demo.storage.listAccessTokens({ clientId: CLI_CLIENT_ID });
    t.equal(tokens.length, 1, 'one token issued');
  });

  await t.test('wrong codes: after 5 in a session the page refuses, even the right code', async (t) => {
    const login = startLogin(['--server', base]);
    t.teardown(() => void login.child.kill());
    const [, userCode] = await login.waitFor(/enter the code ([A-Z]{4}-[A-Z]{4})\n/);
    await withPage(async (page) => {
      await page.goto(`${base}/oauth/device`);
      await logIn(page);
      for (let attempt = 1; attempt <= 5; attempt += 1) {
        t.equal(await enterCode(page, 'BCDF-GHJK'), 400, `wrong code ${attempt}`);
        t.match(await page.textContent('[role=alert]'), /not recognised/);
      }
      t.equal(await enterCode(page, userCode!), 429, 'refused');
      t.match(await page.textContent('body'), /Too many wrong codes/);
    });
    login.child.kill();
    await login.exited;
  });
}
