// The plugin on the Kysely store over each database it supports, for the tests whose rules meet
// the storage: a SQLite file, and fresh MariaDB and PostgreSQL databases of their own.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import t, { type Test } from 'tap';
import { createDatabase } from '@portcullis/kysely';

/** Runs `statement` on a server's administrative database; false when the server does not answer. */
async function onServer(url: string, statement: string): Promise<boolean> {
  let db;
  try {
    db = await createDatabase(url, { connectTimeout: 2000 });
    await sql.raw(statement).execute(db);
    return true;
  } catch (error) {
    if (statement.startsWith('DROP')) throw error;
    return false;
  } finally {
    await db?.destroy();
  }
}

/**
 * `body` on a fresh SQLite file, MariaDB database and PostgreSQL database of its own, each dropped
 * at teardown. A server that does not answer skips its run with a loud notice, or fails it under
 * REQUIRE_MYSQL=1 / REQUIRE_POSTGRES=1.
 */
export function onEachDatabase(name: string, body: (t: Test, databaseUrl: string) => Promise<void>): void {
  t.test(`${name} (SQLite)`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-fastify-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    await body(t, `sqlite:${join(dir, 'test.sqlite')}`);
  });
  const servers = [
    { kind: 'MariaDB', admin: 'mysql://root@127.0.0.1:3306/test', url: (db: string) => `mysql://root@127.0.0.1:3306/${db}`, quote: '`' },
    { kind: 'PostgreSQL', admin: 'postgres://postgres@127.0.0.1:5432/postgres', url: (db: string) => `postgres://postgres@127.0.0.1:5432/${db}`, quote: '"' },
  ];
  for (const server of servers) {
    t.test(`${name} (${server.kind})`, async (t) => {
      const database = `fastify_test_${randomBytes(6).toString('hex')}`;
      const quoted = `${server.quote}${database}${server.quote}`;
      if (!(await onServer(server.admin, `CREATE DATABASE ${quoted}`))) {
        const variable = server.kind === 'MariaDB' ? 'REQUIRE_MYSQL' : 'REQUIRE_POSTGRES';
        const message = `${server.kind.toUpperCase()} TESTS SKIPPED: the server is not answering; set ${variable}=1 to make this a failure`;
        console.error(`\n${'!'.repeat(message.length)}\n${message}\n${'!'.repeat(message.length)}\n`);
        if (process.env[variable] === '1') t.fail(message);
        else t.comment(message);
        return;
      }
      // Registered first, so it runs last: after the app's pool is closed.
      t.teardown(() => onServer(server.admin, `DROP DATABASE IF EXISTS ${quoted}`));
      await body(t, server.url(database));
    });
  }
}
