import t from 'tap';
import type { Test } from 'tap';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { StorageFixtures } from '@portcullis/core/testing';
import { createDatabase, createKyselyStorage, listMigrationNames, migrate, rollback } from '@portcullis/kysely';
import type { AnyKysely, Database } from '@portcullis/kysely';
import { readMysqlCatalog, readPostgresCatalog, readSqliteCatalog } from './helpers/catalog.js';
import type { Catalog } from './helpers/catalog.js';
import { EXPECTED_SCHEMA, MIGRATION_TABLES, SCHEMA_WITH_FAMILY_INDEXES } from './helpers/expected-schema.js';
import {
  createMysqlTestDatabase,
  createPostgresTestDatabase,
  MIGRATIONS_AFTER_PROCEDURES,
  mysqlTest,
  openTempSqliteFile,
  postgresTest,
  PROCEDURE_MIGRATIONS,
} from './helpers/databases.js';

const OAUTH2_TABLES = [
  'portcullis_access_tokens',
  'portcullis_authorization_codes',
  'portcullis_clients',
  'portcullis_refresh_tokens',
  'portcullis_scopes',
];
const ALL_NAMES = ['0001_oauth2_schema', '0002_oauth1_schema', ...PROCEDURE_MIGRATIONS, ...MIGRATIONS_AFTER_PROCEDURES];
const REDEEM = 'portcullis_redeem_authorization_code';
const ONE_STEP = ['portcullis_redeem_authorization_code_by_digest', 'portcullis_rotate_refresh_token_by_digest'];
const NONCE = 'portcullis_find_oauth1_access_token_recording_nonce';
const GROUPED = ['portcullis_redeem_authorization_codes_by_digests', 'portcullis_rotate_refresh_tokens_by_digests'];
const GROUPED_NONCES = 'portcullis_find_oauth1_access_tokens_recording_nonces';
const PROCEDURES = [
  'portcullis_consume_authorization_code',
  GROUPED_NONCES,
  NONCE,
  REDEEM,
  // information_schema's collation sorts '_' after the letters.
  GROUPED[0]!,
  ONE_STEP[0]!,
  'portcullis_rotate_refresh_token',
  GROUPED[1]!,
  ONE_STEP[1]!,
  'portcullis_save_tokens',
];

type ReadCatalog = (db: AnyKysely) => Promise<Catalog>;
/** The stored procedures in the database, by name: MySQL has them at the latest migration, SQLite never. */
type ReadProcedures = (db: AnyKysely) => Promise<string[]>;

const noProcedures: ReadProcedures = async () => [];

async function readMysqlProcedures(db: AnyKysely): Promise<string[]> {
  const routines = await sql<{ name: string; type: string; security: string }>`
    SELECT ROUTINE_NAME AS name, ROUTINE_TYPE AS type, SECURITY_TYPE AS security FROM information_schema.ROUTINES
    WHERE ROUTINE_SCHEMA = DATABASE() ORDER BY ROUTINE_NAME`.execute(db);
  // Invoker rights: a procedure never does more than the account calling it may.
  return routines.rows.map((row) => `${row.name}${row.type === 'PROCEDURE' && row.security === 'INVOKER' ? '' : ` (${row.type}, ${row.security})`}`);
}

const tablesOf = (catalog: Catalog): string[] => Object.keys(catalog).filter((name) => !MIGRATION_TABLES.includes(name)).sort();

async function checkSchema(t: Test, db: Kysely<Database>, readCatalog: ReadCatalog, schema = EXPECTED_SCHEMA): Promise<void> {
  const catalog = await readCatalog(db);
  t.strictSame(Object.keys(catalog).sort(), [...Object.keys(schema), ...MIGRATION_TABLES].sort(), 'exactly the expected tables');
  for (const [table, expected] of Object.entries(schema)) {
    t.strictSame(catalog[table], expected, `${table}: columns, primary key and indexes`);
  }
}

async function upDownUp(
  t: Test,
  db: Kysely<Database>,
  readCatalog: ReadCatalog,
  readProcedures: ReadProcedures,
  allProcedures: string[],
): Promise<void> {
  let procedures = allProcedures;
  t.strictSame(await listMigrationNames(), ALL_NAMES);
  t.strictSame(tablesOf(await readCatalog(db)), [], 'an empty database has no Portcullis table');

  t.strictSame(await migrate(db), { executed: ALL_NAMES }, 'up: every migration runs');
  await checkSchema(t, db, readCatalog);
  t.strictSame(await readProcedures(db), procedures, 'the write procedures exist, with invoker rights');
  t.strictSame(await migrate(db), { executed: [] }, 'running it again does nothing');

  // Data written at the latest schema survives until its table is dropped.
  const fx = new StorageFixtures();
  const storage = createKyselyStorage(db);
  const { access, refresh } = fx.tokenPair();
  await storage.saveTokens(access, refresh);

  t.strictSame(await rollback(db), { executed: ['0009_drop_family_indexes'] }, 'down one step');
  await checkSchema(t, db, readCatalog, SCHEMA_WITH_FAMILY_INDEXES);
  t.strictSame(await storage.findAccessToken(access.digest), access, 'and the rows kept');
  t.strictSame(await rollback(db), { executed: ['0008_mysql_grouped_nonce_records'] }, 'down another');
  procedures = procedures.filter((name) => name !== GROUPED_NONCES);
  t.strictSame(await readProcedures(db), procedures, "0003's to 0007's procedures stay");
  t.strictSame(await rollback(db), { executed: ['0007_mysql_grouped_exchanges'] }, 'down another');
  procedures = procedures.filter((name) => !GROUPED.includes(name));
  t.strictSame(await readProcedures(db), procedures, "0003's to 0006's procedures stay");
  t.strictSame(await rollback(db), { executed: ['0006_mysql_oauth1_nonce_procedure'] }, 'down another');
  t.strictSame(await readProcedures(db), procedures.filter((name) => name !== NONCE), "0003's to 0005's procedures stay");
  t.strictSame(await rollback(db), { executed: ['0005_mysql_one_step_exchanges'] }, 'down another');
  t.strictSame(
    await readProcedures(db),
    procedures.filter((name) => name !== NONCE && !ONE_STEP.includes(name)),
    "0003's and 0004's procedures stay",
  );
  t.strictSame(await rollback(db), { executed: ['0004_mysql_redeem_procedure'] }, 'down another');
  t.strictSame(
    await readProcedures(db),
    procedures.filter((name) => name !== NONCE && name !== REDEEM && !ONE_STEP.includes(name)),
    "0003's procedures stay",
  );
  t.strictSame(await rollback(db), { executed: ['0003_mysql_write_procedures'] }, 'down another');
  t.strictSame(await readProcedures(db), [], 'the procedures are gone');
  await checkSchema(t, db, readCatalog, SCHEMA_WITH_FAMILY_INDEXES);
  t.strictSame(await storage.findAccessToken(access.digest), access, 'tables and data untouched');
  t.strictSame(await migrate(db), { executed: [...PROCEDURE_MIGRATIONS, ...MIGRATIONS_AFTER_PROCEDURES] }, 'and up again');
  t.strictSame(await readProcedures(db), allProcedures);
  await checkSchema(t, db, readCatalog);
  for (let step = 0; step < PROCEDURE_MIGRATIONS.length + MIGRATIONS_AFTER_PROCEDURES.length - 1; step += 1) await rollback(db);
  t.strictSame(await rollback(db), { executed: ['0003_mysql_write_procedures'] });

  t.strictSame(await rollback(db), { executed: ['0002_oauth1_schema'] }, 'down another step');
  t.strictSame(tablesOf(await readCatalog(db)), OAUTH2_TABLES, 'the OAuth 1.0a tables are gone');
  t.strictSame(await storage.findAccessToken(access.digest), access, 'OAuth 2 data untouched');

  t.strictSame(await rollback(db), { executed: ['0001_oauth2_schema'] }, 'down again');
  t.strictSame(tablesOf(await readCatalog(db)), [], 'no Portcullis table left');
  t.strictSame(await rollback(db), { executed: [] }, 'nothing left to undo');

  t.strictSame(await migrate(db), { executed: ALL_NAMES }, 'up again');
  await checkSchema(t, db, readCatalog);
  t.equal(await storage.findAccessToken(access.digest), null, 'a fresh schema is empty');
  await storage.saveTokens(access, refresh);
  t.strictSame(await storage.findRefreshToken(refresh.digest), refresh, 'and works');

  t.strictSame(await readProcedures(db), allProcedures);
  const another = fx.tokenPair();
  await storage.saveTokens(another.access, another.refresh);
  t.strictSame(await storage.findRefreshToken(another.refresh.digest), another.refresh, 'the procedures work again');

  t.strictSame(
    await rollback(db, { all: true }),
    { executed: [...PROCEDURE_MIGRATIONS, ...MIGRATIONS_AFTER_PROCEDURES].reverse().concat(['0002_oauth1_schema', '0001_oauth2_schema']) },
    'all the way down',
  );
  t.strictSame(tablesOf(await readCatalog(db)), []);
  t.strictSame(await readProcedures(db), [], 'no procedure left');
  t.strictSame(await migrate(db), { executed: ALL_NAMES }, 'and up once more');
  t.strictSame(await readProcedures(db), allProcedures);
}

t.test('SQLite in memory: up, down, up, and the exact schema', async (t) => {
  const db = await createDatabase('sqlite::memory:');
  t.teardown(() => db.destroy());
  await upDownUp(t, db, readSqliteCatalog, noProcedures, []);
});

t.test('SQLite file: up, down, up, and the exact schema', async (t) => {
  const file = await openTempSqliteFile();
  const db = await createDatabase(file.url);
  t.teardown(async () => {
    await db.destroy();
    await file.remove();
  });
  await upDownUp(t, db, readSqliteCatalog, noProcedures, []);
  const mode = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(db);
  t.equal(mode.rows[0]?.journal_mode, 'wal', 'a file database runs in WAL mode');
  const busy = await sql<{ timeout: number }>`PRAGMA busy_timeout`.execute(db);
  t.equal(busy.rows[0]?.timeout, 5000, 'with a busy timeout');
});

await mysqlTest('MariaDB: up, down, up, and the exact schema', async (t) => {
  const database = await createMysqlTestDatabase();
  const db = await createDatabase(database.url);
  t.teardown(async () => {
    await db.destroy();
    await database.drop();
  });
  await upDownUp(t, db, readMysqlCatalog, readMysqlProcedures, PROCEDURES);

  const tables = await sql<{ table_name: string; engine: string; table_collation: string }>`
    SELECT TABLE_NAME AS table_name, ENGINE AS engine, TABLE_COLLATION AS table_collation
    FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (${sql.join(Object.keys(EXPECTED_SCHEMA))})
    ORDER BY TABLE_NAME`.execute(db);
  t.equal(tables.rows.length, Object.keys(EXPECTED_SCHEMA).length);
  for (const row of tables.rows) {
    t.strictSame(
      { engine: row.engine, collation: row.table_collation },
      { engine: 'InnoDB', collation: 'utf8mb4_bin' },
      `${row.table_name}: InnoDB, utf8mb4, binary collation (case-sensitive tokens)`,
    );
  }
});

await postgresTest('PostgreSQL: up, down, up, and the exact schema', async (t) => {
  const database = await createPostgresTestDatabase();
  const db = await createDatabase(database.url);
  t.teardown(async () => {
    await db.destroy();
    await database.drop();
  });
  // The MySQL procedure migrations run and record themselves, creating nothing.
  await upDownUp(t, db, readPostgresCatalog, noProcedures, []);

  const flags = await sql<{ column_name: string; data_type: string }>`
    SELECT column_name, data_type FROM information_schema.columns
    WHERE table_schema = current_schema() AND table_name = 'portcullis_clients' AND column_name IN ('oauth1_enabled', 'disabled')
    ORDER BY column_name`.execute(db);
  t.strictSame(
    flags.rows,
    [
      { column_name: 'disabled', data_type: 'smallint' },
      { column_name: 'oauth1_enabled', data_type: 'smallint' },
    ],
    'the client flags hold 0/1 as smallint',
  );
});
