import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import type { Test } from 'tap';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The README's app, on a database in memory, without listening, on this package's source. */
async function loadReadmeApp(t: Test): Promise<FastifyInstance> {
  const readme = await readFile(join(packageRoot, 'README.md'), 'utf8');
  const example = /<!-- example: app -->\s*```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (example === undefined) throw new Error('the README has no <!-- example: app --> block');
  t.match(example, /await app\.listen\(\{ port \}\);/);
  t.match(example, /await app\.register\(formbody\)/);
  t.match(example, /saveUninitialized: false/);
  const code = example
    .replace("from '@portcullis/fastify'", `from '${pathToFileURL(join(packageRoot, 'src', 'index.ts')).href}'`)
    .replace('Fastify({ logger: true })', 'Fastify()')
    .replace('await app.listen({ port });', 'export { app, db };');
  process.env.DATABASE_URL = 'sqlite::memory:';
  process.env.ALICE_PASSWORD = 'correct horse';
  // Under node_modules, so the package's dependencies resolve and git never sees the file.
  const directory = join(packageRoot, 'node_modules', '.cache', 'portcullis-readme');
  await mkdir(directory, { recursive: true });
  const file = join(directory, `app-${process.pid}-${Math.random().toString(36).slice(2)}.mts`);
  await writeFile(file, code);
  t.teardown(() => rm(file, { force: true }));
  const { app, db } = (await import(pathToFileURL(file).href)) as { app: FastifyInstance; db: { destroy(): Promise<void> } };
  t.teardown(async () => {
    await app.close();
    await db.destroy();
  });
  return app;
}

t.test("the README's app hands out tokens and protects its route, storing no session for them", async (t) => {
  const app = await loadReadmeApp(t);
  const { client, clientSecret } = await app.oauth.registerClient({
    name: 'Poll bot',
    grantTypes: ['client_credentials'],
    scopes: ['polls:vote'],
  });
  const token = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.id}:${clientSecret}`).toString('base64')}`,
    },
    payload: 'grant_type=client_credentials&scope=polls:vote',
  });
  t.equal(token.statusCode, 200);
  t.equal(token.headers['set-cookie'], undefined, 'no session for a token request');
  const accessToken = token.json().access_token as string;
  const voted = await app.inject({
    method: 'POST',
    url: '/polls/1/vote',
    headers: { authorization: `Bearer ${accessToken}` },
  });
  t.equal(voted.statusCode, 200);
  t.same(voted.json(), { voted: true, client: client.id });
  t.equal(voted.headers['set-cookie'], undefined, 'no session for an API request');
  const refused = await app.inject({ method: 'POST', url: '/polls/1/vote' });
  t.equal(refused.statusCode, 401);
  t.equal(
    refused.headers['www-authenticate'],
    'Bearer realm="http://localhost:3000", scope="polls:vote", resource_metadata="http://localhost:3000/.well-known/oauth-protected-resource"',
  );
  const anonymous = await app.inject({
    method: 'GET',
    url: `/oauth/authorize?response_type=code&client_id=${client.id}`,
  });
  t.equal(anonymous.statusCode, 400, 'the bot may not use the code grant: an error page, no redirect');
});

t.test("the README's login page logs in and goes back to the authorization request, and only to a local path", async (t) => {
  const app = await loadReadmeApp(t);
  const { client } = await app.oauth.registerClient({
    name: 'Polls web app', type: 'public', redirectUris: ['http://127.0.0.1/callback'], scopes: ['polls:vote'],
  });
  const authorize = `/oauth/authorize?response_type=code&client_id=${client.id}&scope=polls:vote&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`;
  const anonymous = await app.inject({ method: 'GET', url: authorize });
  t.equal(anonymous.statusCode, 302);
  const login = new URL(anonymous.headers.location as string, 'http://localhost:3000');
  t.equal(login.pathname, '/login');
  const next = login.searchParams.get('next');
  t.equal(next, authorize, 'next is the authorization request');

  const page = await app.inject({ method: 'GET', url: `/login?next=${encodeURIComponent(next!)}` });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.match(page.body, `name="next" value="${next!.replaceAll('&', '&amp;')}"`);

  const form = (fields: Record<string, string>) => ({
    method: 'POST' as const,
    url: '/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(fields).toString(),
  });
  const wrong = await app.inject(form({ username: 'alice', password: 'wrong', next: next! }));
  t.equal(wrong.statusCode, 401);
  t.equal(wrong.headers['set-cookie'], undefined, 'no session for a failed login');

  const loggedIn = await app.inject(form({ username: 'alice', password: 'correct horse', next: next! }));
  t.equal(loggedIn.statusCode, 303);
  t.equal(loggedIn.headers.location, authorize);
  const cookie = String(loggedIn.headers['set-cookie']).split(';')[0]!;
  t.match(cookie, /^sessionId=/);
  const consent = await app.inject({ method: 'GET', url: authorize, headers: { cookie } });
  t.equal(consent.statusCode, 200, 'the logged-in user sees the consent page');
  t.match(consent.body, 'Polls web app');

  for (const hostile of ['//evil.example/x', '/\\evil.example/x', 'https://evil.example/x', 'evil', '']) {
    const answer = await app.inject(form({ username: 'alice', password: 'correct horse', next: hostile }));
    t.equal(answer.statusCode, 303, JSON.stringify(hostile));
    t.equal(answer.headers.location, '/', `${JSON.stringify(hostile)} goes home, not away`);
  }
});
