import { Kysely, PostgresDialect, sql } from 'kysely';
import { createDatabase, DEFAULT_NAMED_STATEMENT_LIMIT, PostgresStatementNames } from '@portcullis/kysely';
import type { AnyKysely } from '@portcullis/kysely';
import { createPostgresTestDatabase, postgresTest } from './helpers/databases.js';

// A type alias, not an interface: withTables wants a record type.
type Items = {
  items: { id: number; name: string; note: string | null };
};

/** The named statements the connection serving this query holds, by their SQL text. */
async function preparedOn(db: AnyKysely): Promise<Map<string, string>> {
  const { rows } = await sql<{ name: string; statement: string }>`SELECT name, statement FROM pg_prepared_statements`.execute(db);
  return new Map(rows.map((row) => [row.statement, row.name]));
}

await postgresTest('parameterized statements run as named statements, prepared once per connection', async (t) => {
  const database = await createPostgresTestDatabase();
  // One connection, so every query below meets the statements the earlier ones prepared.
  const db = await createDatabase(database.url, { connectionLimit: 1 });
  t.teardown(async () => {
    await db.destroy();
    await database.drop();
  });
  await sql`CREATE TABLE items (id INT PRIMARY KEY, name TEXT NOT NULL)`.execute(db);
  await sql`INSERT INTO items VALUES (1, 'one'), (2, 'two')`.execute(db);
  const items = db.withTables<Items>();
  const byId = (id: number) => items.selectFrom('items').select('name').where('id', '=', id);
  t.strictSame(await byId(1).execute(), [{ name: 'one' }]);
  t.strictSame(await byId(2).execute(), [{ name: 'two' }], 'the same statement with another value');
  t.strictSame(await byId(3).execute(), [], 'and one that finds nothing');
  const prepared = await preparedOn(db);
  const text = byId(1).compile().sql;
  t.match(prepared.get(text), /^portcullis_\d+$/, 'the lookup is a named statement');
  t.notOk([...prepared.keys()].some((statement) => /^(CREATE|INSERT|SELECT name, statement)/.test(statement)), 'texts without parameters stay unnamed');
  t.equal(DEFAULT_NAMED_STATEMENT_LIMIT, 256);

  const plain = await createDatabase(database.url, { connectionLimit: 1, namedStatements: false });
  t.teardown(() => plain.destroy());
  t.strictSame(await plain.withTables<Items>().selectFrom('items').select('name').where('id', '=', 1).execute(), [{ name: 'one' }]);
  t.equal((await preparedOn(plain)).size, 0, 'namedStatements: false prepares nothing');
});

await postgresTest('past its limit a text runs unnamed; a statement whose columns changed fails once', async (t) => {
  const database = await createPostgresTestDatabase();
  const pool = new PostgresStatementNames(database.pool({ max: 1 }), 2);
  const db = new Kysely<Items>({ dialect: new PostgresDialect({ pool }) });
  t.teardown(async () => {
    await db.destroy();
    await database.drop();
  });
  await sql`CREATE TABLE items (id INT PRIMARY KEY, name TEXT NOT NULL)`.execute(db);
  await sql`INSERT INTO items VALUES (1, 'one')`.execute(db);
  const star = () => db.selectFrom('items').selectAll().where('id', '=', 1).execute();
  t.strictSame(await star(), [{ id: 1, name: 'one' }]);
  t.strictSame(await db.selectFrom('items').select('name').where('id', '=', 1).execute(), [{ name: 'one' }]);
  t.equal(pool.size, 2);
  t.strictSame(await db.selectFrom('items').select('id').where('id', '=', 1).execute(), [{ id: 1 }], 'a third text still runs');
  t.equal(pool.size, 2, 'unnamed: the limit holds');

  await sql`ALTER TABLE items ADD COLUMN note TEXT`.execute(db);
  await t.rejects(star(), { code: '0A000' }, 'the prepared SELECT * no longer matches the table');
  t.strictSame(await star(), [{ id: 1, name: 'one', note: null }], 'the next call runs the text unnamed');
  t.equal(pool.size, 1);
  t.throws(() => new PostgresStatementNames(database.pool(), 0), RangeError);
});
