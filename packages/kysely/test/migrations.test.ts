import t from 'tap';
import type { Test } from 'tap';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { StorageFixtures } from '@portcullis/core/testing';
import { createDatabase, createKyselyStorage, listMigrationNames, migrate, rollback } from '@portcullis/kysely';
import type { AnyKysely, Database } from '@portcullis/kysely';
import { readMysqlCatalog, readPostgresCatalog, readSqliteCatalog } from './helpers/catalog.js';
import type { Catalog } from './helpers/catalog.js';
import { EXPECTED_SCHEMA, MIGRATION_TABLES } from './helpers/expected-schema.js';
import { createMysqlTestDatabase, createPostgresTestDatabase, mysqlTest, openTempSqliteFile, postgresTest } from './helpers/databases.js';

const OAUTH2_TABLES = [
  'portcullis_access_tokens',
  'portcullis_authorization_codes',
  'portcullis_clients',
  'portcullis_refresh_tokens',
  'portcullis_scopes',
];
const ALL_NAMES = ['0001_oauth2_schema', '0002_oauth1_schema', '0003_client_registration', '0004_signing_keys', '0005_openid_connect', '0006_grant_lifecycle', '0007_device_authorization'];

type ReadCatalog = (db: AnyKysely) => Promise<Catalog>;

const tablesOf = (catalog: Catalog): string[] => Object.keys(catalog).filter((name) => !MIGRATION_TABLES.includes(name)).sort();

async function checkSchema(t: Test, db: Kysely<Database>, readCatalog: ReadCatalog): Promise<void> {
  const catalog = await readCatalog(db);
  t.strictSame(Object.keys(catalog).sort(), [...Object.keys(EXPECTED_SCHEMA), ...MIGRATION_TABLES].sort(), 'exactly the expected tables');
  for (const [table, expected] of Object.entries(EXPECTED_SCHEMA)) {
    t.strictSame(catalog[table], expected, `${table}: columns, primary key and indexes`);
  }
}

async function upDownUp(t: Test, db: Kysely<Database>, readCatalog: ReadCatalog): Promise<void> {
  t.strictSame(await listMigrationNames(), ALL_NAMES);
  t.strictSame(tablesOf(await readCatalog(db)), [], 'an empty database has no Portcullis table');

  t.strictSame(await migrate(db), { executed: ALL_NAMES }, 'up: every migration runs');
  await checkSchema(t, db, readCatalog);
  t.strictSame(await migrate(db), { executed: [] }, 'running it again does nothing');

  // Data written at the latest schema survives until its table is dropped.
  const fx = new StorageFixtures();
  const storage = createKyselyStorage(db);
  const { access, refresh } = fx.tokenPair();
  await storage.saveTokens(access, refresh);

  const device = fx.deviceCode();
  t.equal(await storage.saveDeviceCode(device), true);
  t.strictSame(await storage.findDeviceCode(device.digest), device, 'a device code at the latest schema');
  t.strictSame(await rollback(db), { executed: ['0007_device_authorization'] }, 'down one step: the device codes');
  t.notOk(tablesOf(await readCatalog(db)).includes('portcullis_device_codes'), 'their table is gone');
  const client = fx.client({ origin: 'dynamic', unusedExpiresAt: new Date(Date.UTC(2030, 0, 1)), skipConsent: true, accessTokenTtl: 60 });
  await storage.createClient(client);
  await storage.saveConsent(fx.consent());
  t.strictSame(await rollback(db), { executed: ['0006_grant_lifecycle'] }, 'down another step: the grant lifecycle');
  t.notOk(tablesOf(await readCatalog(db)).includes('portcullis_consents'), 'the consents table is gone');
  const [refreshRow] = await sql<Record<string, unknown>>`SELECT * FROM portcullis_refresh_tokens`.execute(db).then((result) => result.rows);
  t.notOk('family_issued_at' in (refreshRow ?? {}), 'the refresh token stays, without its family start');
  t.strictSame(await migrate(db), { executed: ['0006_grant_lifecycle', '0007_device_authorization'] }, 'up again');
  t.strictSame(await storage.findRefreshToken(refresh.digest), refresh, 'a refresh token from before starts its family at its issue time');
  t.match(await storage.findClient(client.id), { skipConsent: false, accessTokenTtl: null }, 'a client from before has the defaults');
  t.strictSame(await rollback(db), { executed: ['0007_device_authorization'] }, 'and down');
  t.strictSame(await rollback(db), { executed: ['0006_grant_lifecycle'] }, 'and down again');
  t.strictSame(await rollback(db), { executed: ['0005_openid_connect'] }, 'down another step: the OpenID Connect columns');
  t.strictSame(await storage.findAccessToken(access.digest), access, 'the access token stays');

  t.strictSame(await rollback(db), { executed: ['0004_signing_keys'] }, 'down another step: the signing keys table');
  t.notOk(tablesOf(await readCatalog(db)).includes('portcullis_signing_keys'), 'the signing keys table is gone');

  t.strictSame(await rollback(db), { executed: ['0003_client_registration'] }, 'down another step: the registration columns');
  const [row] = await sql<Record<string, unknown>>`SELECT * FROM portcullis_clients`.execute(db).then((result) => result.rows);
  t.strictSame(Object.keys(row ?? {}).sort(), [...(EXPECTED_SCHEMA.portcullis_clients?.columns ?? [])].slice(0, 16).sort(), 'the client stays, without them');
  await sql`DELETE FROM portcullis_clients`.execute(db);

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

  t.strictSame(await rollback(db, { all: true }), { executed: [...ALL_NAMES].reverse() }, 'all the way down');
  t.strictSame(tablesOf(await readCatalog(db)), []);
  t.strictSame(await migrate(db), { executed: ALL_NAMES }, 'and up once more');
  await checkSchema(t, db, readCatalog);
}

t.test('SQLite in memory: up, down, up, and the exact schema', async (t) => {
  const db = await createDatabase('sqlite::memory:');
  t.teardown(() => db.destroy());
  await upDownUp(t, db, readSqliteCatalog);
});

t.test('SQLite file: up, down, up, and the exact schema', async (t) => {
  const file = await openTempSqliteFile();
  const db = await createDatabase(file.url);
  t.teardown(async () => {
    await db.destroy();
    await file.remove();
  });
  await upDownUp(t, db, readSqliteCatalog);
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
  await upDownUp(t, db, readMysqlCatalog);
  const routines = await sql<{ name: string }>`
    SELECT ROUTINE_NAME AS name FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()`.execute(db);
  t.strictSame(routines.rows, [], 'no stored routine: servers without CREATE ROUTINE take the schema');

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
  await upDownUp(t, db, readPostgresCatalog);

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
