import t from 'tap';
import { Kysely, MysqlDialect, sql } from 'kysely';
import type { Database } from '@portcullis/kysely';
import { createDatabase, migrate } from '@portcullis/kysely';
import { PreparedStatement } from '../src/prepared-statement.js';

// Compiles only: the MySQL dialect never connects unless a query runs.
const mysql = new Kysely<Database>({ dialect: new MysqlDialect({ pool: async () => { throw new Error('no connection in this test'); } }) });

t.test('arguments go in the compiled placeholders\u2019 order, not the order the builder met them', async (t) => {
  const statement = new PreparedStatement<{ id: string; now: number }>((param) => {
    const id = param((args) => args.id);
    const now = param((args) => args.now);
    return mysql
      .updateTable('portcullis_refresh_tokens')
      .set({ consumed_at: now })
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .compile();
  });
  t.equal(
    statement.sql,
    'update `portcullis_refresh_tokens` set `consumed_at` = ? where `id` = ? and `consumed_at` is null',
    "the dialect's quoting and placeholders",
  );
  const first = statement.compile({ id: 'rt-1', now: 1000 });
  const second = statement.compile({ id: 'rt-2', now: 2000 });
  t.strictSame(first.parameters, [1000, 'rt-1']);
  t.strictSame(second.parameters, [2000, 'rt-2']);
  t.equal(first.sql, statement.sql);
  t.not(first.queryId, second.queryId, 'each run is its own query for plugins and logs');
});

t.test('one argument may fill several placeholders; raw SQL works the same', async (t) => {
  const statement = new PreparedStatement<{ key: string; now: number }>((param) => {
    const key = param((args) => args.key);
    return sql`call some_procedure(${sql.join([key, param((args) => args.now), key])})`.compile(mysql);
  });
  t.equal(statement.sql, 'call some_procedure(?, ?, ?)');
  t.strictSame(statement.compile({ key: 'k', now: 5 }).parameters, ['k', 5, 'k']);
});

t.test('a value that is not a param() is refused when the statement is built', async (t) => {
  t.throws(
    () =>
      new PreparedStatement<{ id: string }>((param) =>
        mysql.selectFrom('portcullis_clients').selectAll().where('id', '=', param((args) => args.id)).where('disabled', '=', 0).compile(),
      ),
    /Every value of a prepared statement must be a param\(\)/,
    'a constant would be frozen into every call',
  );
});

t.test('a prepared statement runs on SQLite with new arguments each time', async (t) => {
  const db = await createDatabase('sqlite::memory:');
  t.teardown(() => db.destroy());
  await migrate(db);
  const insert = new PreparedStatement<{ key: string; client: string; at: number }>((param) =>
    db
      .insertInto('portcullis_oauth1_nonces')
      .values({ nonce_key: param((args) => args.key), client_id: param((args) => args.client), expires_at: param((args) => args.at) })
      .compile(),
  );
  for (let i = 0; i < 3; i += 1) await db.executeQuery(insert.compile({ key: `n${i}`, client: 'c', at: i }));
  t.strictSame(
    await db.selectFrom('portcullis_oauth1_nonces').selectAll().orderBy('nonce_key').execute(),
    [0, 1, 2].map((i) => ({ nonce_key: `n${i}`, client_id: 'c', expires_at: i })),
  );
});
