// Faults on MariaDB, over real HTTP: every connection of the database killed several times
// under a steady load, and a row lock held by another connection. Answers are successes or
// well-formed 503s, service comes back within five seconds, nothing handed out is lost, and no
// half-written grant is left in the database. (The server itself is never stopped: other
// engineers' tests share it.)
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { sql, type Kysely } from 'kysely';
import { tokenDigest } from '@portcullis/core';
import type { Database } from '@portcullis/kysely';
import {
  announceMysqlSkip,
  basicAuthHeader,
  buildReliabilityApp,
  checkErrorBody,
  createMysqlDatabase,
  createPkce,
  mintCode,
  mysqlRequired,
  openMysqlAdmin,
  REDIRECT_URI,
} from './reliability-helpers.js';

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | null;
  text: string;
}

async function send(url: string, init: RequestInit): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: Record<string, unknown> | null = null;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = null;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** Why an answer is neither a success nor a well-formed 503, or null. */
function checkFaultAnswer(answer: Answer): string | null {
  if (answer.status === 200) return null;
  if (answer.status !== 503) return `status ${answer.status}: ${answer.text.slice(0, 200)}`;
  if (!(answer.headers.get('content-type') ?? '').startsWith('application/json')) return '503 without JSON';
  if (answer.body?.error !== 'temporarily_unavailable') return `503 with ${answer.text.slice(0, 200)}`;
  if (checkErrorBody(answer.body) !== null) return `503 body not RFC-shaped: ${answer.text}`;
  if (answer.headers.get('retry-after') === null) return '503 without Retry-After';
  if (/portcullis_|SELECT|INSERT|UPDATE|ECONN|PROTOCOL/.test(answer.text)) return `503 leaks driver details: ${answer.text}`;
  return null;
}

async function killConnections(admin: Kysely<Database>, name: string): Promise<number> {
  const { rows } = await sql<{ id: number }>`SELECT id FROM information_schema.PROCESSLIST WHERE db = ${name}`.execute(admin);
  let killed = 0;
  for (const { id } of rows) {
    // A connection may end by itself between the two statements.
    await sql`KILL ${sql.raw(String(Number(id)))}`.execute(admin).then(
      () => (killed += 1),
      () => {},
    );
  }
  return killed;
}

const admin = await openMysqlAdmin();
if (typeof admin === 'string') {
  if (mysqlRequired) t.fail(`MariaDB is required (REQUIRE_MYSQL=1): ${admin}`);
  else t.test('faults on MariaDB', { skip: announceMysqlSkip(admin) }, async () => {});
} else {
  const database = await createMysqlDatabase(admin, { lockWaitTimeout: 1, connectionLimit: 10 });
  const app = await buildReliabilityApp(database.storage);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const origin = typeof address === 'object' && address !== null ? `http://127.0.0.1:${address.port}` : '';
  const { db } = database;
  t.teardown(async () => {
    await app.close();
    await database.drop();
    await admin.destroy();
  });

  const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
  const worker = await app.oauth.registerClient({ name: 'Worker', grantTypes: ['client_credentials'], scopes: ['read'] });
  const workerAuth = basicAuthHeader(worker.client.id, worker.clientSecret!);
  const web = await app.oauth.registerClient({
    name: 'Web',
    redirectUris: [REDIRECT_URI],
    scopes: ['read'],
    grantTypes: ['authorization_code', 'refresh_token'],
  });
  const webAuth = basicAuthHeader(web.client.id, web.clientSecret!);

  const requestToken = () =>
    send(`${origin}/oauth/token`, { method: 'POST', headers: { ...FORM, authorization: workerAuth }, body: 'grant_type=client_credentials&scope=read' });
  const callProtected = (token: string) => send(`${origin}/api/me`, { headers: { authorization: `Bearer ${token}` } });

  t.test('connections killed under load: successes or 503s, back within 5 s, nothing lost or half-written', async (t) => {
    // Tokens handed out before the fault.
    const before: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const answer = await requestToken();
      t.equal(answer.status, 200);
      before.push(answer.body!.access_token as string);
    }

    const answers: Answer[] = [];
    const received: string[] = [];
    const redemptions: { code: string; answer: Answer }[] = [];
    let mintFailures = 0;
    let stop = false;
    const load = async (kind: number): Promise<void> => {
      for (let i = 0; !stop && i < 10_000; i += 1) {
        if (kind === 0) {
          const answer = await requestToken();
          answers.push(answer);
          if (answer.status === 200) received.push(answer.body!.access_token as string);
        } else if (kind === 1) {
          answers.push(await callProtected(before[i % before.length]!));
        } else {
          // A whole code flow: mint (in process) and redeem over HTTP.
          const { verifier, challenge } = createPkce();
          const code = await mintCode(app, web.client.id, challenge).catch(() => null);
          if (code === null) {
            mintFailures += 1;
            continue;
          }
          const answer = await send(`${origin}/oauth/token`, {
            method: 'POST',
            headers: { ...FORM, authorization: webAuth },
            body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }).toString(),
          });
          answers.push(answer);
          redemptions.push({ code, answer });
          if (answer.status === 200) received.push(answer.body!.access_token as string);
        }
      }
    };
    const workers = Array.from({ length: 9 }, (_, index) => load(index % 3));

    let killed = 0;
    for (let round = 0; round < 4; round += 1) {
      await sleep(400);
      killed += await killConnections(admin, database.name!);
    }
    t.ok(killed > 0, `killed ${killed} connections in four rounds`);
    const lastKill = Date.now();
    // Service is back once a token request and a protected call both succeed.
    let recoveredAfter = Number.POSITIVE_INFINITY;
    while (Date.now() - lastKill < 6000) {
      const [token, resource] = await Promise.all([requestToken(), callProtected(before[0]!)]);
      if (token.status === 200 && resource.status === 200) {
        recoveredAfter = Date.now() - lastKill;
        received.push(token.body!.access_token as string);
        break;
      }
      await sleep(100);
    }
    stop = true;
    await Promise.all(workers);
    t.ok(recoveredAfter < 5000, `served successes again ${recoveredAfter} ms after the last kill`);

    const problems = answers.map(checkFaultAnswer).filter((problem) => problem !== null);
    t.same(problems.slice(0, 5), [], `every one of ${answers.length} answers is a success or a well-formed 503`);
    const unavailable = answers.filter((answer) => answer.status === 503).length;
    t.comment(`${answers.length} answers: ${answers.length - unavailable} successes, ${unavailable} x 503, ${mintFailures} code mints failed`);
    t.ok(answers.length - unavailable > 0, 'the load got successes');

    // Nothing handed out was lost: every token a client received works afterwards.
    for (const token of [...before, ...received]) {
      const answer = await callProtected(token);
      if (answer.status !== 200) t.fail(`a received token no longer works: ${answer.status} ${answer.text}`);
    }
    t.pass(`${before.length + received.length} received tokens all still valid`);
    const stored = await db.selectFrom('portcullis_access_tokens').select(['digest', 'revoked_at']).execute();
    const digests = new Map(stored.map((row) => [row.digest, row.revoked_at]));
    t.ok([...before, ...received].every((token) => digests.has(tokenDigest(token)) && digests.get(tokenDigest(token)) === null), 'each is stored, live');

    // No half-written grant: saveTokens is all or none, so every refresh token has the access
    // token issued with it, and every code redeemed with a 200 has exactly its tokens.
    const refreshRows = await db.selectFrom('portcullis_refresh_tokens').select(['family_id', 'issued_at']).execute();
    const accessRows = await db.selectFrom('portcullis_access_tokens').select(['family_id', 'issued_at', 'client_id']).execute();
    const accessKeys = new Set(accessRows.map((row) => `${row.family_id}@${Number(row.issued_at)}`));
    t.ok(refreshRows.every((row) => accessKeys.has(`${row.family_id}@${Number(row.issued_at)}`)), `${refreshRows.length} refresh tokens, each with its access token`);
    const codes = await db.selectFrom('portcullis_authorization_codes').select(['digest', 'family_id', 'consumed_at']).execute();
    const codeByDigest = new Map(codes.map((row) => [row.digest, row]));
    const familiesWithAccess = new Map<string, number>();
    for (const row of accessRows) familiesWithAccess.set(row.family_id, (familiesWithAccess.get(row.family_id) ?? 0) + 1);
    for (const { code, answer } of redemptions) {
      const row = codeByDigest.get(tokenDigest(code));
      if (answer.status === 200) {
        t.ok(row?.consumed_at !== null && row?.consumed_at !== undefined, 'a redeemed code is consumed');
        t.equal(familiesWithAccess.get(row!.family_id), 1, 'a redeemed code has exactly one access token');
      }
    }
    // No tokens from a code that was never consumed.
    for (const row of codes) {
      if (row.consumed_at === null) t.notOk(familiesWithAccess.has(row.family_id), 'no tokens for an unconsumed code');
    }
    const refreshFamilies = new Set(refreshRows.map((row) => row.family_id));
    const webAccess = accessRows.filter((row) => row.client_id === web.client.id);
    t.ok(webAccess.every((row) => refreshFamilies.has(row.family_id)), 'every code-flow access token has its refresh token');
  });

  t.test('a row lock held elsewhere: requests answer 503 after the bound instead of piling up', async (t) => {
    const { verifier, challenge } = createPkce();
    const code = await mintCode(app, web.client.id, challenge);
    const issued = await send(`${origin}/oauth/token`, {
      method: 'POST',
      headers: { ...FORM, authorization: webAuth },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }).toString(),
    });
    t.equal(issued.status, 200);
    const refreshToken = issued.body!.refresh_token as string;
    const row = await db.selectFrom('portcullis_refresh_tokens').select('id').where('digest', '=', tokenDigest(refreshToken)).executeTakeFirstOrThrow();

    // Another connection holds the row the rotation must update.
    await db.connection().execute(async (connection) => {
      await sql`START TRANSACTION`.execute(connection);
      await sql`SELECT id FROM portcullis_refresh_tokens WHERE id = ${row.id} FOR UPDATE`.execute(connection);
      try {
        const started = Date.now();
        const refreshes = await Promise.all(
          Array.from({ length: 12 }, async () => {
            const begin = Date.now();
            const answer = await send(`${origin}/oauth/token`, {
              method: 'POST',
              headers: { ...FORM, authorization: webAuth },
              body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
            });
            return { answer, took: Date.now() - begin };
          }),
        );
        const elapsed = Date.now() - started;
        for (const { answer, took } of refreshes) {
          t.equal(answer.status, 503, 'temporarily unavailable');
          t.equal(checkFaultAnswer(answer), null, 'a well-formed 503');
          t.ok(took < 4000, `answered in ${took} ms`);
        }
        t.ok(elapsed < 6000, `all twelve answered within ${elapsed} ms (bound 1 s per wait)`);
        // Other requests are served meanwhile: the pool did not fill up with waiters for long.
        const other = await callProtected(issued.body!.access_token as string);
        t.equal(other.status, 200, 'a protected call still succeeds while the lock is held');
      } finally {
        await sql`ROLLBACK`.execute(connection);
      }
    });

    const stored = await db.selectFrom('portcullis_refresh_tokens').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
    t.equal(stored.consumed_at, null, 'the timed-out rotations changed nothing');
    t.equal(stored.revoked_at, null);
    const after = await send(`${origin}/oauth/token`, {
      method: 'POST',
      headers: { ...FORM, authorization: webAuth },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
    });
    t.equal(after.status, 200, 'the refresh works once the lock is released');
  });
}
