import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { checkClientSettings, ClientSettingsError, responseTypesFor } from '../src/client-form.js';
import { createConcurrencyGate } from '../src/concurrency-gate.js';
import { resolveDatabaseUrl, DEMO_ROOT, readConfig } from '../src/config.js';
import { asDemoDb, openDatabase } from '../src/db/database.js';
import { migrateDemo, rollbackDemo } from '../src/db/migrations.js';
import { escapeHtml, html, raw } from '../src/html.js';
import { redactUrl } from '../src/log-redaction.js';
import { safeReturnTo } from '../src/pages/respond.js';
import { hashPassword, verifyPassword } from '../src/passwords.js';
import { castVote, createPoll, getResults, getStats, listPolls } from '../src/polls.js';
import { createDemoScopes } from '../src/scopes.js';
import { loadSecrets } from '../src/secrets.js';
import { DatabaseSessionStore } from '../src/session-store.js';
import { createUser, findUserByUsername, UserInputError, verifyUserCredentials } from '../src/users.js';

const FAST = { N: 1024, r: 8, p: 1 };

t.test('the concurrency gate runs at most its limit at once, in arrival order', async (t) => {
  const gate = createConcurrencyGate(2);
  let running = 0;
  let peak = 0;
  const started: number[] = [];
  const releases: (() => void)[] = [];
  const task = (index: number) =>
    gate(async () => {
      started.push(index);
      running += 1;
      peak = Math.max(peak, running);
      await new Promise<void>((resolve) => releases.push(resolve));
      running -= 1;
      return index;
    });
  const all = Promise.all([0, 1, 2, 3, 4].map(task));
  await new Promise((resolve) => setImmediate(resolve));
  t.same(started, [0, 1], 'two start, three wait');
  // Free one slot and, in the same turn, knock on the gate again: the newcomer queues behind the waiters.
  releases.shift()!();
  const late = task(5);
  await new Promise((resolve) => setImmediate(resolve));
  t.same(started, [0, 1, 2], 'the freed slot went to the first waiter');
  while (started.length < 6) {
    releases.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  releases.forEach((release) => release());
  t.same(await all, [0, 1, 2, 3, 4]);
  t.equal(await late, 5);
  t.same(started, [0, 1, 2, 3, 4, 5], 'arrival order');
  t.equal(peak, 2, 'never more than the limit');
  t.throws(() => createConcurrencyGate(0), RangeError);
});

t.test('passwords: scrypt, self-describing, salted, constant-time verify', async (t) => {
  const hash = await hashPassword('correct horse', FAST);
  t.match(hash, /^scrypt\$1024\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
  t.not(await hashPassword('correct horse', FAST), hash, 'a random salt makes every hash differ');
  t.equal(await verifyPassword('correct horse', hash), true);
  t.equal(await verifyPassword('correct horsE', hash), false);
  t.equal(await verifyPassword('x', 'plain-text'), false, 'a malformed hash is a mismatch, not a throw');
  t.equal(await verifyPassword('x', 'scrypt$0$8$1$abc$def'), false);
  t.equal(await verifyPassword('x', 'scrypt$1024$8$1$$'), false);
  const stored = await hashPassword('default cost');
  t.match(stored, /^scrypt\$32768\$8\$1\$/, 'the default cost is N=2^15');
  t.equal(await verifyPassword('default cost', stored), true);
});

t.test('html escapes every interpolation unless it is SafeHtml', async (t) => {
  t.equal(escapeHtml(`<a href="x" onclick='y'>&</a>`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  const name = '<script>alert(1)</script>';
  t.equal(html`<p title="${name}">${name}</p>`.value, '<p title="&lt;script&gt;alert(1)&lt;/script&gt;">&lt;script&gt;alert(1)&lt;/script&gt;</p>');
  t.equal(html`<ul>${['<a>', 'b'].map((x) => html`<li>${x}</li>`)}</ul>`.value, '<ul><li>&lt;a&gt;</li><li>b</li></ul>');
  t.equal(html`${raw('<b>')}${null}${undefined}${false}${0}`.value, '<b>0');
});

t.test('returnTo accepts same-site relative paths only', async (t) => {
  t.equal(safeReturnTo('/oauth/authorize?client_id=a&x=1'), '/oauth/authorize?client_id=a&x=1');
  for (const bad of ['https://evil.example/', '//evil.example/', '/\\evil.example', 'javascript:alert(1)', 'relative', '/a\nb', undefined, 42, ['/a']]) {
    t.equal(safeReturnTo(bad), '/', `refuses ${JSON.stringify(bad)}`);
  }
});

t.test('client settings are checked before anything is stored', async (t) => {
  const scopes = createDemoScopes();
  const good = {
    name: ' App ',
    redirectUris: ['https://app.example/cb', 'https://app.example/cb', 'com.example.app:/cb'],
    scopes: ['polls:read', 'read'],
    grantTypes: ['authorization_code' as const, 'refresh_token' as const],
    type: 'confidential' as const,
    oauth1Enabled: false,
    rsaPublicKey: '  ',
  };
  t.same(checkClientSettings(good, scopes, { enforceSecure: true }), { ...good, name: 'App', rsaPublicKey: null, redirectUris: ['https://app.example/cb', 'com.example.app:/cb'], postLogoutRedirectUris: [] });
  const cases: [string, Partial<typeof good> & Record<string, unknown>, RegExp][] = [
    ['empty name', { name: '  ' }, /name/],
    ['fragment', { redirectUris: ['https://app.example/cb#x'] }, /fragment/],
    ['relative', { redirectUris: ['/cb'] }, /absolute/],
    ['javascript', { redirectUris: ['javascript:alert(1)'] }, /scheme javascript: is not allowed/],
    ['http off loopback', { redirectUris: ['http://app.example/cb'] }, /must use https/],
    ['unknown scope', { scopes: ['polls:delete'] }, /unknown scope/],
    ['unknown grant', { grantTypes: ['magic' as never] }, /unknown grant type/],
    ['code without redirect', { redirectUris: [] }, /redirect URI/],
    ['public client_credentials', { type: 'public' as never, grantTypes: ['client_credentials' as never] }, /public client/],
    ['public oauth1', { type: 'public' as never, oauth1Enabled: true }, /public client/],
    ['bad pem', { rsaPublicKey: 'not a key' }, /PEM/],
  ];
  for (const [label, change, message] of cases) {
    t.throws(() => checkClientSettings({ ...good, ...change } as typeof good, scopes, { enforceSecure: true }), { name: ClientSettingsError.name, message }, label);
  }
  t.same(responseTypesFor(['implicit', 'authorization_code', 'password']), ['code', 'token']);
});

t.test('scopes: the seed defaults and the polls scopes with descriptions', async (t) => {
  const scopes = createDemoScopes();
  t.same(scopes.list().map((s) => s.name), ['read', 'write', 'polls:read', 'polls:vote', 'polls:results', 'polls:stats', 'openid', 'profile', 'email']);
  t.ok(scopes.check('read', 'write'), 'write includes read');
  for (const s of scopes.list().filter((s) => s.name.startsWith('polls:'))) t.ok(s.description, `${s.name} has words for the consent page`);
});

t.test('config resolves relative sqlite paths from the demo folder', async (t) => {
  t.equal(resolveDatabaseUrl('sqlite:data/x.sqlite'), `sqlite:${join(DEMO_ROOT, 'data/x.sqlite')}`);
  t.equal(resolveDatabaseUrl('sqlite::memory:'), 'sqlite::memory:');
  t.equal(resolveDatabaseUrl('sqlite:/abs/x.sqlite'), 'sqlite:/abs/x.sqlite');
  t.equal(resolveDatabaseUrl('mysql://root@127.0.0.1/test'), 'mysql://root@127.0.0.1/test');
  t.equal(readConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/polls' }).databaseUrl, 'postgres://postgres@127.0.0.1:5432/polls');
  t.equal(readConfig({ DATABASE_URL: 'postgresql://postgres@127.0.0.1/polls' }).databaseUrl, 'postgresql://postgres@127.0.0.1/polls');
  const config = readConfig({});
  t.same(
    { host: config.host, port: config.port, development: config.development, databaseUrl: config.databaseUrl },
    { host: '127.0.0.1', port: 3000, development: true, databaseUrl: `sqlite:${join(DEMO_ROOT, 'data/portcullis.sqlite')}` },
  );
  t.equal(readConfig({ NODE_ENV: 'production' }).development, false);
  t.throws(() => readConfig({ PORT: 'eighty' }), /PORT/);
  await t.rejects(openDatabase('mongodb://x'), /postgres:\/\/.*mysql:\/\/.*sqlite:path/);
});

t.test('secrets: from the environment, or generated once into the data folder with mode 0600', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'demo-secrets-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const first = loadSecrets({ dataDir: dir, development: true, env: {} });
  t.match(first.secretKey, /^[0-9a-f]{64}$/);
  t.ok(first.sessionSecret.length >= 32);
  t.equal(statSync(join(dir, 'secrets.json')).mode & 0o777, 0o600);
  t.same(loadSecrets({ dataDir: dir, development: true, env: {} }), first, 'a restart gets the same secrets');
  t.same(JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8')), first);
  const fromEnv = { SESSION_SECRET: 's'.repeat(40), PORTCULLIS_SECRET_KEY: 'ab'.repeat(32) };
  t.same(loadSecrets({ dataDir: dir, development: false, env: fromEnv }), { sessionSecret: fromEnv.SESSION_SECRET, secretKey: fromEnv.PORTCULLIS_SECRET_KEY });
  t.throws(() => loadSecrets({ dataDir: dir, development: false, env: {} }), /production/);
  t.throws(() => loadSecrets({ dataDir: dir, development: true, env: { SESSION_SECRET: 'short' } }), /SESSION_SECRET/);
  t.throws(() => loadSecrets({ dataDir: dir, development: true, env: { PORTCULLIS_SECRET_KEY: 'nope' } }), /PORTCULLIS_SECRET_KEY/);
});

t.test('demo tables: migrations, users, polls, one vote per user per poll, sessions', async (t) => {
  const raw = await openDatabase('sqlite::memory:');
  t.teardown(() => raw.destroy());
  const db = asDemoDb(raw);
  await migrateDemo(raw);
  const again = await migrateDemo(raw);
  t.same(again.results, [], 'a second run has nothing to do');
  const tables = await raw.introspection.getTables({ withInternalKyselyTables: true });
  t.same(tables.map((x) => x.name).sort(), ['demo_choices', 'demo_migration', 'demo_migration_lock', 'demo_polls', 'demo_sessions', 'demo_users', 'demo_votes']);

  const alice = await createUser(db, { username: 'alice', password: 'wonderland', isAdmin: true });
  t.match(alice, { username: 'alice', isAdmin: true });
  const row = await db.selectFrom('demo_users').selectAll().where('id', '=', alice.id).executeTakeFirstOrThrow();
  t.match(row.password_hash, /^scrypt\$/, 'only a hash is stored');
  t.notMatch(row.password_hash, /wonderland/);
  await t.rejects(createUser(db, { username: 'alice', password: 'another one' }), { name: UserInputError.name, message: /taken/ });
  await t.rejects(createUser(db, { username: 'bad name', password: 'whatever1' }), /username/);
  await t.rejects(createUser(db, { username: 'bob', password: 'short' }), /8 characters/);
  t.equal((await db.selectFrom('demo_users').selectAll().execute()).length, 1, 'refused users are not stored');
  t.match(await verifyUserCredentials(db, 'alice', 'wonderland'), { id: alice.id });
  t.equal(await verifyUserCredentials(db, 'alice', 'wrong'), null);
  t.equal(await verifyUserCredentials(db, 'nobody', 'wonderland'), null);
  t.match(await findUserByUsername(db, 'alice'), { id: alice.id });

  const pollId = await createPoll(db, 'Tea or coffee?', ['Tea', 'Coffee']);
  const [poll] = await listPolls(db);
  t.match(poll, { id: pollId, question: 'Tea or coffee?', choices: [{ label: 'Tea' }, { label: 'Coffee' }] });
  const [tea, coffee] = poll!.choices;
  t.equal(await castVote(db, { pollId, choiceId: 9999, userId: alice.id, clientId: 'c1' }), 'no_such_choice');
  const votes = await Promise.all([1, 2, 3].map(() => castVote(db, { pollId, choiceId: coffee!.id, userId: alice.id, clientId: 'c1' })));
  t.same(votes.sort(), ['already_voted', 'already_voted', 'recorded'], 'exactly one of concurrent votes lands');
  t.equal(await castVote(db, { pollId, choiceId: tea!.id, userId: alice.id, clientId: 'c2' }), 'already_voted');
  const results = await getResults(db, poll!);
  t.same(results, { poll_id: pollId, question: 'Tea or coffee?', total_votes: 1, results: [{ choice_id: tea!.id, label: 'Tea', votes: 0 }, { choice_id: coffee!.id, label: 'Coffee', votes: 1 }] });
  const stats = await getStats(db, pollId);
  t.match(stats, { poll_id: pollId, total_votes: 1, clients: [{ client_id: 'c1', votes: 1 }] });
  t.match(stats.first_vote_at, /^\d{4}-/);

  let now = new Date('2030-01-01T00:00:00Z');
  const store = new DatabaseSessionStore(db, { clock: () => now });
  const call = <T>(fn: (cb: (error: unknown, value?: T) => void) => void) => new Promise<T | undefined>((res, rej) => fn((e, v) => (e ? rej(e) : res(v))));
  const session = { userId: alice.id, cookie: { originalMaxAge: 1000, expires: new Date(now.getTime() + 1000) } } as never;
  await call((cb) => store.set('s1', session, cb));
  await call((cb) => store.set('s1', { ...(session as object), csrfToken: 'x' } as never, cb));
  t.match(await call((cb) => store.get('s1', cb)), { userId: alice.id, csrfToken: 'x' }, 'set twice updates the row');
  now = new Date(now.getTime() + 2000);
  t.equal(await call((cb) => store.get('s1', cb)), null, 'an expired session is not returned');
  t.equal(await store.purgeExpired(), 1);
  await call((cb) => store.destroy('s1', cb));

  await rollbackDemo(raw);
  const left = await raw.introspection.getTables();
  t.same(left.map((x) => x.name).filter((n) => !n.startsWith('demo_migration')), [], 'rollback drops the demo tables');
});

t.test('request logs never hold a credential from the query', async (t) => {
  t.equal(redactUrl('/callback?code=pcc_abc&state=xyz'), '/callback?code=[redacted]&state=xyz');
  t.equal(redactUrl('/api/polls?access_token=pca_x'), '/api/polls?access_token=[redacted]');
  t.equal(redactUrl('/cb?oauth_token=pcq_1&oauth_verifier=pcv_2'), '/cb?oauth_token=[redacted]&oauth_verifier=[redacted]');
  t.equal(redactUrl('/oauth1/authorize?oauth_token=pcq_1'), '/oauth1/authorize?oauth_token=[redacted]', 'request-token ids too');
  t.equal(redactUrl('/x?%63ode=pcc_1'), '/x?%63ode=[redacted]', 'encoded names too');
  t.equal(redactUrl('/login?returnTo=%2F'), '/login?returnTo=%2F');
  t.equal(redactUrl('/plain'), '/plain');
});
