import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import t, { type Test } from 'tap';
import { buildApp } from '../src/app.js';
import { openDatabase } from '../src/db/database.js';
import { SESSION_SECRET } from './helpers.js';
import { runCliProcess } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'demo-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const env = { DATABASE_URL: `sqlite:${join(dir, 'cli.sqlite')}`, DATA_DIR: join(dir, 'data'), NODE_ENV: 'development' };
const cli = (...args: string[]) => runCliProcess(args, env);

/** Bad usage: exit code 2 and exactly one line on stderr. */
async function expectUsageError(t: Test, args: string[], message: RegExp, run: (...args: string[]) => ReturnType<typeof cli> = cli) {
  const result = await run(...args);
  t.equal(result.code, 2, `${args.join(' ')} exits with 2`);
  t.match(result.stderr, message);
  t.equal(result.stderr.trim().split('\n').length, 1, 'a one-line error');
  t.equal(result.stdout, '');
}

t.test('usage errors', async (t) => {
  const none = await cli();
  t.equal(none.code, 2);
  t.match(none.stdout, /usage: pnpm demo <command>/);
  await expectUsageError(t, ['frobnicate'], /^error: unknown command "frobnicate"/);
  await expectUsageError(t, ['user:create', '--username', 'bob'], /needs --password/);
  await expectUsageError(t, ['user:create', '--username', 'bob', '--password', 'long-enough', '--colour', 'red'], /Unknown option '--colour'/);
  await expectUsageError(t, ['user:create', '--username', 'bob', '--password', 'short'], /at least 8 characters/);
  await expectUsageError(t, ['client:create', '--redirect-uri', 'https://a.example/cb'], /needs --name/);
  await expectUsageError(t, ['client:create', '--name', 'X', '--grant-type', 'magic'], /unknown grant type "magic"/);
  await expectUsageError(t, ['client:create', '--name', 'X', '--grant-type', 'client_credentials', '--scope', 'polls:delete'], /unknown scope "polls:delete"/);
  await expectUsageError(t, ['client:create', '--name', 'X', '--redirect-uri', 'javascript:alert(1)'], /scheme javascript: is not allowed/);
  await expectUsageError(t, ['client:create', '--name', 'X', '--grant-type', 'client_credentials', '--public'], /public client/);
  await expectUsageError(t, ['client:list', 'extra'], /Unexpected argument 'extra'/);
  await expectUsageError(t, ['oauth1:sign', '--url', 'http://localhost/x', '--consumer-key', 'k'], /needs --consumer-secret/);
  await expectUsageError(t, ['oauth1:sign', '--url', 'not a url', '--consumer-key', 'k', '--consumer-secret', 's'], /absolute URL/);
  const signed = await cli('oauth1:sign', '--method', 'post', '--url', 'http://localhost/oauth1/request_token', '--consumer-key', 'k', '--consumer-secret', 's', '--callback', 'oob');
  t.equal(signed.code, 0, signed.stderr);
  t.match(signed.stdout, /^OAuth oauth_consumer_key="k", oauth_signature_method="HMAC-SHA1", oauth_timestamp="\d+", oauth_nonce="[0-9a-f]{32}", oauth_callback="oob", oauth_signature="[^"]+"\n$/);
  const list = await cli('client:list', '--json');
  t.equal(list.code, 0);
  t.same(JSON.parse(list.stdout), [], 'nothing was created by the refused commands');
});

t.test('a bad DATABASE_URL fails with one line and exit code 1', async (t) => {
  const result = await runCliProcess(['client:list'], { ...env, DATABASE_URL: 'mongodb://nope' });
  t.equal(result.code, 1);
  t.match(result.stderr, /^error: .*postgres:\/\/.*sqlite:/);
  t.equal(result.stderr.trim().split('\n').length, 1);
});

t.test('user:create, client:create, client:list, scopes:sync, tokens:purge', async (t) => {
  const user = await cli('user:create', '--username', 'carol', '--password', 'carol-password', '--admin');
  t.equal(user.code, 0, user.stderr);
  t.match(user.stdout, /^created admin user carol \(id [\w-]+\)/);
  await expectUsageError(t, ['user:create', '--username', 'carol', '--password', 'another-one'], /taken/);

  const confidential = await cli(
    'client:create', '--name', 'CLI app', '--redirect-uri', 'https://cli.example/cb', '--redirect-uri', 'https://cli.example/cb2',
    '--scope', 'polls:read polls:vote', '--grant-type', 'authorization_code', '--grant-type', 'password', '--oauth1', '--json',
  );
  t.equal(confidential.code, 0, confidential.stderr);
  const created = JSON.parse(confidential.stdout);
  t.same(Object.keys(created).sort(), ['client_id', 'client_secret']);
  t.match(created.client_secret, /^pcs_/);

  const pub = await cli('client:create', '--name', 'SPA', '--redirect-uri', 'https://spa.example/', '--public', '--json');
  t.equal(pub.code, 0, pub.stderr);
  t.same(Object.keys(JSON.parse(pub.stdout)), ['client_id'], 'no secret for a public client');

  const text = await cli('client:create', '--name', 'Daemon', '--grant-type', 'client_credentials', '--scope', 'polls:stats');
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /^client_id: +\S+\nclient_secret: pcs_\S+\nThe secret is shown only this once/);

  // oauthost's register_client('My OAuth Client', '1234', 'http://myapp.com/', ...): a chosen client id.
  const chosen = await cli('client:create', '--name', 'My OAuth Client', '--client-id', '1234', '--redirect-uri', 'http://myapp.com/', '--scope', 'polls:vote polls:stats', '--json');
  t.equal(chosen.code, 0, chosen.stderr);
  t.equal(JSON.parse(chosen.stdout).client_id, '1234');

  const list = await cli('client:list', '--json');
  t.equal(list.code, 0);
  const clients = JSON.parse(list.stdout) as Record<string, unknown>[];
  t.equal(clients.length, 4);
  t.match(clients.find((c) => c.client_id === created.client_id), {
    name: 'CLI app', type: 'confidential', grant_types: ['authorization_code', 'password'],
    redirect_uris: ['https://cli.example/cb', 'https://cli.example/cb2'], scope: 'polls:read polls:vote', oauth1: true, disabled: false,
    origin: 'admin', last_used_at: null,
  });
  t.match(clients.find((c) => c.name === 'SPA'), { type: 'public', grant_types: ['authorization_code', 'refresh_token'] });
  t.notMatch(list.stdout, created.client_secret, 'the list never shows a secret');
  const plain = await cli('client:list');
  t.match(plain.stdout, new RegExp(`${created.client_id}  CLI app  confidential  origin=admin  grants=authorization_code,password  scope="polls:read polls:vote"  oauth1=on  last-used=never`));

  const sync = await cli('scopes:sync');
  t.equal(sync.code, 0, sync.stderr);
  t.equal(sync.stdout, 'synced 11 scopes: read write polls:read polls:vote polls:results polls:stats openid profile email address phone\n');

  const purge = await cli('tokens:purge');
  t.equal(purge.code, 0, purge.stderr);
  t.match(purge.stdout, /^purged 0 access tokens, 0 refresh tokens, 0 codes, 0 request tokens, 0 OAuth 1.0a tokens, 0 nonces, 0 unused registered clients, 0 signing keys, 0 device codes, 0 sessions\n$/);
});

t.test('keys:list and keys:rotate', async (t) => {
  await expectUsageError(t, ['keys:rotate', '--now'], /Unknown option '--now'/);
  t.equal((await cli('keys:rotate')).code, 0, 'a first rotation');
  const first = await cli('keys:list', '--json');
  t.equal(first.code, 0, first.stderr);
  const before = JSON.parse(first.stdout) as { kid: string; alg: string; state: string; retiresAt: string | null }[];
  t.equal(before.length, 3, 'its keys are listed');
  for (const key of before) t.equal(key.retiresAt, null);

  const rotated = await cli('keys:rotate');
  t.equal(rotated.code, 0, rotated.stderr);
  const lines = rotated.stdout.trim().split('\n');
  t.equal(lines.length, 3, 'a key per algorithm');
  t.match(lines[0], /^new ES256 key [\w-]{43}: published now, signs from \d{4}-\d\d-\d\dT/);
  t.match(lines[1], /^new EdDSA key [\w-]{43}: published now, signs from /);
  t.match(lines[2], /^new RS256 key [\w-]{43}: published now, signs from /, 'RS256 for OpenID Connect');
  const newKids = lines.map((line) => line.split(' ')[3]!.slice(0, -1));

  const listed = await cli('keys:list', '--json');
  t.equal(listed.code, 0, listed.stderr);
  const keys = JSON.parse(listed.stdout) as { kid: string; alg: string; state: string; retiresAt: string | null }[];
  t.equal(keys.length, before.length + 3);
  for (const kid of newKids) t.match(keys.find((key) => key.kid === kid), { state: 'pending', retiresAt: null }, 'the new keys wait for the lead time');
  for (const key of before) t.type(keys.find((found) => found.kid === key.kid)?.retiresAt, 'string', 'the keys before are retired at their successors\' activation');

  const text = await cli('keys:list');
  t.equal(text.code, 0, text.stderr);
  for (const kid of newKids) t.match(text.stdout, new RegExp(`^${kid}  (ES256|EdDSA|RS256)  pending  activates \\S+  retires -  expires -$`, 'm'));
});

t.test('client:list shows origin and last use; client:delete deletes a dynamic client after revoking its tokens', async (t) => {
  const databaseUrl = `sqlite:${join(dir, 'clients.sqlite')}`;
  const clientsEnv = { ...env, DATABASE_URL: databaseUrl };
  const run = (...args: string[]) => runCliProcess(args, clientsEnv);
  const created = await run('client:create', '--name', 'Admin app', '--grant-type', 'client_credentials', '--json');
  t.equal(created.code, 0, created.stderr);
  const adminId = JSON.parse(created.stdout).client_id as string;

  // A client registers itself (RFC 7591) and obtains a token, on the same database.
  const app = await buildApp({ databaseUrl, development: true, sessionSecret: SESSION_SECRET });
  const registered = await app.inject({
    method: 'POST',
    url: '/oauth/register',
    payload: { client_name: 'Dynamic app', grant_types: ['client_credentials'], response_types: [], token_endpoint_auth_method: 'client_secret_post', scope: 'polls:read' },
  });
  t.equal(registered.statusCode, 201);
  const dynamic = registered.json() as { client_id: string; client_secret: string };
  const token = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: dynamic.client_id, client_secret: dynamic.client_secret }).toString(),
  });
  t.equal(token.statusCode, 200);
  await app.close();

  const list = await run('client:list', '--json');
  t.equal(list.code, 0, list.stderr);
  const clients = JSON.parse(list.stdout) as Record<string, unknown>[];
  t.match(clients.find((c) => c.client_id === adminId), { origin: 'admin', last_used_at: null });
  const listed = clients.find((c) => c.client_id === dynamic.client_id);
  t.match(listed, { name: 'Dynamic app', origin: 'dynamic', last_used_at: /^\d{4}-\d\d-\d\dT/ });
  const onlyDynamic = await run('client:list', '--origin', 'dynamic');
  t.equal(onlyDynamic.code, 0, onlyDynamic.stderr);
  t.equal(onlyDynamic.stdout.trim().split('\n').length, 1, 'the filter keeps the dynamic client only');
  t.match(onlyDynamic.stdout, new RegExp(`^${dynamic.client_id}  Dynamic app  confidential  origin=dynamic  .*  last-used=${String(listed!.last_used_at).replace(/\./g, '\\.')}\\n$`));
  t.match((await run('client:list', '--origin', 'admin')).stdout, /origin=admin .* last-used=never/);
  t.equal((await run('client:list', '--origin', 'document')).stdout, 'no clients\n');

  await expectUsageError(t, ['client:list', '--origin', 'martian'], /unknown origin "martian"/, run);
  await expectUsageError(t, ['client:delete'], /needs --client-id/, run);
  await expectUsageError(t, ['client:delete', '--client-id', 'no-such-client'], /no client "no-such-client"/, run);
  await expectUsageError(t, ['client:delete', '--client-id', adminId], /registered by an administrator; add --force/, run);

  const db = await openDatabase(databaseUrl);
  t.teardown(() => db.destroy());
  const clientRows = async (id: string) => (await sql<{ id: string }>`select id from portcullis_clients where id = ${id}`.execute(db)).rows.length;
  t.equal(await clientRows(adminId), 1, 'the refused delete kept the admin client');

  const deleted = await run('client:delete', '--client-id', dynamic.client_id);
  t.equal(deleted.code, 0, deleted.stderr);
  t.equal(deleted.stdout, `deleted client ${dynamic.client_id} (Dynamic app); its tokens are revoked\n`);
  t.equal(await clientRows(dynamic.client_id), 0, 'the client row is gone');
  const tokens = (await sql<{ revoked_at: unknown }>`select revoked_at from portcullis_access_tokens where client_id = ${dynamic.client_id}`.execute(db)).rows;
  t.equal(tokens.length, 1);
  t.not(tokens[0]!.revoked_at, null, 'its token was revoked');

  const forced = await run('client:delete', '--client-id', adminId, '--force');
  t.equal(forced.code, 0, forced.stderr);
  t.equal(await clientRows(adminId), 0, '--force deletes an administrator\'s client');
});
