import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';
import type { FastifyInstance } from 'fastify';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

t.test("the README's app hands out tokens and protects its route", async (t) => {
  const readme = await readFile(join(packageRoot, 'README.md'), 'utf8');
  const example = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (example === undefined) throw new Error('the README has no ts example');
  t.match(example, /await app\.listen\(\{ port: 3000 \}\);/);
  // The same code, on a database in memory, without listening, on this package's source.
  const code = example
    .replace("from '@portcullis/fastify'", `from '${pathToFileURL(join(packageRoot, 'src', 'index.ts')).href}'`)
    .replace("'sqlite:portcullis.sqlite'", "'sqlite::memory:'")
    .replace('await app.listen({ port: 3000 });', 'export { app, db };');
  // Under node_modules, so the package's dependencies resolve and git never sees the file.
  const directory = join(packageRoot, 'node_modules', '.cache', 'portcullis-readme');
  await mkdir(directory, { recursive: true });
  const file = join(directory, `app-${process.pid}.mts`);
  await writeFile(file, code);
  t.teardown(() => rm(file, { force: true }));
  const { app, db } = (await import(pathToFileURL(file).href)) as { app: FastifyInstance; db: { destroy(): Promise<void> } };
  t.teardown(async () => {
    await app.close();
    await db.destroy();
  });

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
  const accessToken = token.json().access_token as string;
  const voted = await app.inject({
    method: 'POST',
    url: '/polls/1/vote',
    headers: { authorization: `Bearer ${accessToken}` },
  });
  t.equal(voted.statusCode, 200);
  t.same(voted.json(), { voted: true, client: client.id });
  const refused = await app.inject({ method: 'POST', url: '/polls/1/vote' });
  t.equal(refused.statusCode, 401);
  t.equal(refused.headers['www-authenticate'], 'Bearer realm="http://localhost:3000"');
  const anonymous = await app.inject({
    method: 'GET',
    url: `/oauth/authorize?response_type=code&client_id=${client.id}`,
  });
  t.equal(anonymous.statusCode, 400, 'the bot may not use the code grant: an error page, no redirect');
});
