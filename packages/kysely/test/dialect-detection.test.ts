import { rmSync } from 'node:fs';
import { cp, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { createPool } from 'mysql2';
import t, { type Test } from 'tap';
import * as ownKysely from 'kysely';
import type { Kysely, KyselyPlugin } from 'kysely';
import { StorageError } from '@portcullis/core';
import { StorageFixtures } from '@portcullis/core/testing';
import { createKyselyStorage, listMigrationNames, migrate, MIGRATION_TABLE, PORTCULLIS_TABLES } from '@portcullis/kysely';
import type { Database } from '@portcullis/kysely';
import { createMysqlTestDatabase, createPostgresTestDatabase, MYSQL_SERVER, mysqlTest, postgresTest } from './helpers/databases.js';

type KyselyModule = typeof ownKysely;

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * A second copy of kysely, loaded from its own files: its classes are other classes than the ones
 * @portcullis/kysely imports, as when an application depends on another kysely version.
 */
async function loadOtherKysely(): Promise<KyselyModule> {
  // The package folder: its CommonJS entry is dist/cjs/index.js.
  const installed = join(dirname(createRequire(import.meta.url).resolve('kysely')), '..', '..');
  const copy = join(packageRoot, 'node_modules', '.cache', `kysely-copy-${process.pid}`);
  await mkdir(copy, { recursive: true });
  await cp(installed, copy, { recursive: true });
  // Removed when the process ends: every test below uses it.
  process.once('exit', () => rmSync(copy, { recursive: true, force: true }));
  return (await import(pathToFileURL(join(copy, 'dist', 'esm', 'index.js')).href)) as KyselyModule;
}

const other = await loadOtherKysely();
const own = ownKysely;

t.test('the copy really is another kysely', async (t) => {
  t.not(other.MysqlAdapter, own.MysqlAdapter);
  t.notOk(new other.MysqlAdapter() instanceof own.MysqlAdapter);
});

/** Saves the scopes twice: the second call must take the upsert path of the server's SQL. */
async function checkUpsert(t: Test, db: Kysely<Database>): Promise<void> {
  const storage = createKyselyStorage(db);
  await storage.saveScopes([{ name: 'read', description: 'Read' }]);
  await storage.saveScopes([{ name: 'read', description: 'Read your data' }]);
  t.strictSame(await storage.listScopes(), [{ name: 'read', description: 'Read your data' }], 'the upsert updated the row');
  const fx = new StorageFixtures();
  const { access, refresh } = fx.tokenPair();
  await storage.saveTokens(access, refresh);
  t.strictSame(await storage.findAccessToken(access.digest), access, 'the store works');
}

await mysqlTest('MySQL through another kysely copy: InnoDB utf8mb4_bin tables and ON DUPLICATE KEY upserts', async (t) => {
  // A latin1 database: only the migration's own table options make the tables utf8mb4_bin.
  const database = await createMysqlTestDatabase('portcullis_copy', 'latin1 COLLATE latin1_swedish_ci');
  const db = new other.Kysely<Database>({
    dialect: new other.MysqlDialect({ pool: createPool({ ...MYSQL_SERVER, database: database.name, charset: 'utf8mb4' }) }),
  });
  t.teardown(async () => {
    await db.destroy();
    await database.drop();
  });
  t.strictSame((await migrate(db)).executed, await listMigrationNames());
  const tables = await db
    .selectFrom('information_schema.tables' as never)
    .select(['table_name as name', 'engine', 'table_collation as collation'] as never[])
    .where('table_schema' as never, '=', database.name as never)
    .where('table_name' as never, 'like', 'portcullis\\_%' as never)
    .where('table_name' as never, 'not like', 'portcullis\\_migration%' as never)
    .execute() as unknown as { name: string; engine: string; collation: string }[];
  t.equal(tables.length, PORTCULLIS_TABLES.length, 'every table');
  for (const table of tables) t.strictSame([table.engine, table.collation], ['InnoDB', 'utf8mb4_bin'], table.name);
  await checkUpsert(t, db);
});

await postgresTest('PostgreSQL through another kysely copy: smallint flags and ON CONFLICT upserts', async (t) => {
  const database = await createPostgresTestDatabase('portcullis_copy');
  const db = new other.Kysely<Database>({ dialect: new other.PostgresDialect({ pool: database.pool() }) });
  t.teardown(async () => {
    await db.destroy();
    await database.drop();
  });
  await migrate(db);
  const { rows } = await own.sql<{ data_type: string }>`
    select data_type from information_schema.columns
    where table_name = 'portcullis_clients' and column_name in ('disabled', 'oauth1_enabled')`.execute(db);
  t.strictSame(rows.map((row) => row.data_type), ['smallint', 'smallint']);
  await checkUpsert(t, db);
});

t.test('SQLite through another kysely copy', async (t) => {
  const db = new other.Kysely<Database>({ dialect: new other.SqliteDialect({ database: new BetterSqlite3(':memory:') }) });
  t.teardown(() => db.destroy());
  await migrate(db);
  await checkUpsert(t, db);
});

t.test('a dialect whose SQL is none of the three is refused by name, not guessed', async (t) => {
  const db = new own.Kysely<Database>({
    dialect: {
      createAdapter: () => new own.MssqlAdapter(),
      createDriver: () => new own.DummyDriver(),
      createIntrospector: (db) => new own.MssqlIntrospector(db),
      createQueryCompiler: () => new own.MssqlQueryCompiler(),
    },
  });
  t.throws(() => createKyselyStorage(db), { name: 'UnsupportedDialectError', message: /PostgreSQL, MySQL and SQLite/ });
});

/** A plugin that sends one table's CREATE TABLE elsewhere, as a misapplied renaming plugin would. */
function renameTable(from: string, to: string): KyselyPlugin {
  return {
    transformQuery({ node }) {
      if (own.CreateTableNode.is(node) && node.table.table.identifier.name === from) {
        return { ...node, table: own.TableNode.create(to) };
      }
      return node;
    },
    transformResult: async ({ result }) => result,
  };
}

t.test('a migration that did not create its tables fails, names what is missing, and is not recorded', async (t) => {
  const plain = new own.Kysely<Database>({ dialect: new own.SqliteDialect({ database: new BetterSqlite3(':memory:') }) });
  t.teardown(() => plain.destroy());
  const db = plain.withPlugin(renameTable('portcullis_scopes', 'elsewhere_scopes'));
  const error = await migrate(db).then(
    () => null,
    (error: unknown) => error,
  );
  t.type(error, StorageError);
  t.match((error as Error).message, /^Portcullis migration failed at 0001_oauth2_schema: .*no table portcullis_scopes;.*It was not recorded as applied\.$/);
  const recorded = await plain.selectFrom(MIGRATION_TABLE as never).select('name' as never).execute();
  t.strictSame(recorded, [], 'no migration recorded');
});
