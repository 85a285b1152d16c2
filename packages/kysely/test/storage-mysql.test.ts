import { randomBytes } from 'node:crypto';
import { createPool } from 'mysql2';
import { createConnection } from 'mysql2/promise';
import { Kysely, MysqlDialect, sql } from 'kysely';
import { runStorageContract, StorageFixtures } from '@portcullis/core/testing';
import { createDatabase, createKyselyStorage, listMigrationNames, migrate } from '@portcullis/kysely';
import type { Database } from '@portcullis/kysely';
import { createMysqlTestDatabase, MYSQL_SERVER, mysqlFactory, mysqlTest } from './helpers/databases.js';

await mysqlTest('storage contract on MariaDB/MySQL through createDatabase', async (t) => {
  const database = await createMysqlTestDatabase();
  // A pool larger than the concurrency cases need, so their races are between connections.
  const db = await createDatabase(database.url, { connectionLimit: 20 });
  t.teardown(async () => {
    await db.destroy();
    await database.drop();
  });
  await migrate(db);

  await runStorageContract(t, `Kysely on MariaDB (${database.name}, createDatabase)`, mysqlFactory(db));

  t.test('lookups by digest and token use their unique index', async (t) => {
    const fx = new StorageFixtures();
    const storage = createKyselyStorage(db);
    // Enough rows that a table scan would not be the optimizer's choice anyway.
    const probe = { access: '', refresh: '', code: '', request: '', oauth1: '', family: '' };
    for (let i = 0; i < 20; i += 1) {
      const { access, refresh } = fx.tokenPair();
      const code = fx.authorizationCode();
      const request = fx.requestToken();
      const oauth1 = fx.oauth1AccessToken();
      await storage.saveTokens(access, refresh);
      await storage.saveAuthorizationCode(code);
      await storage.saveRequestToken(request);
      await storage.saveOAuth1AccessToken(oauth1);
      // Probe with stored values: for a value absent from a unique index, MySQL answers
      // "impossible WHERE" without naming a key.
      Object.assign(probe, { family: access.familyId, access: access.digest, refresh: refresh.digest, code: code.digest, request: request.token, oauth1: oauth1.token });
    }
    const lookups = [
      ['portcullis_access_tokens', 'digest', 'portcullis_access_tokens_digest_uq', probe.access],
      ['portcullis_refresh_tokens', 'digest', 'portcullis_refresh_tokens_digest_uq', probe.refresh],
      ['portcullis_authorization_codes', 'digest', 'portcullis_authorization_codes_digest_uq', probe.code],
      ['portcullis_oauth1_request_tokens', 'token', 'portcullis_oauth1_request_tokens_token_uq', probe.request],
      ['portcullis_oauth1_access_tokens', 'token', 'portcullis_oauth1_access_tokens_token_uq', probe.oauth1],
    ] as const;
    for (const [table, column, index, value] of lookups) {
      const plan = await sql<{ type: string; key: string | null }>`EXPLAIN SELECT * FROM ${sql.table(table)} WHERE ${sql.ref(column)} = ${value}`.execute(db);
      const row = plan.rows[0];
      t.ok(row && ['const', 'ref', 'eq_ref'].includes(row.type), `${table}.${column}: access type ${row?.type}`);
      t.equal(row?.key, index, `${table}.${column} uses ${index}`);
    }
    // Replay revocation finds the family through its family_id index (a family of this test's
    // own: the contract's last case may have left a large one behind).
    const family = probe.family;
    for (const table of ['portcullis_access_tokens', 'portcullis_refresh_tokens'] as const) {
      // The store's statement (revokeFamily), explained.
      const plan = await sql<{ type: string; key: string | null }>`EXPLAIN UPDATE ${sql.table(table)} SET revoked_at = 1 WHERE family_id = ${family} AND revoked_at IS NULL`.execute(db);
      t.equal(plan.rows[0]?.key, `${table}_family_id_idx`, `${table}: family revocation uses the family_id index`);
    }
  });
});

await mysqlTest('storage contract on MariaDB/MySQL through a plain Kysely instance', async (t) => {
  const database = await createMysqlTestDatabase();
  const { host, port, user, password } = MYSQL_SERVER;
  const pool = createPool({ host, port, user, password, database: database.name, connectionLimit: 20 });
  const db = new Kysely<Database>({ dialect: new MysqlDialect({ pool }) });
  t.teardown(async () => {
    await db.destroy();
    await database.drop();
  });
  await migrate(db);
  await runStorageContract(t, `Kysely on MariaDB (${database.name}, new Kysely)`, mysqlFactory(db));
});

await mysqlTest('storage contract on MariaDB as a user without CREATE ROUTINE and ALTER ROUTINE', async (t) => {
  const database = await createMysqlTestDatabase('portcullis_noroutine');
  const user = database.name;
  const password = randomBytes(12).toString('hex');
  const admin = await createConnection(MYSQL_SERVER);
  t.teardown(async () => {
    await admin.query(`DROP USER IF EXISTS '${user}'@'%'`);
    await admin.end();
    await database.drop();
  });
  await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
  await admin.query(
    `GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, REFERENCES ON \`${database.name}\`.* TO '${user}'@'%'`,
  );
  const db = await createDatabase(`mysql://${user}:${password}@${MYSQL_SERVER.host}:${MYSQL_SERVER.port}/${database.name}`, {
    connectionLimit: 20,
  });
  t.teardown(() => db.destroy());
  await t.rejects(
    sql`CREATE PROCEDURE portcullis_probe() SELECT 1`.execute(db),
    { code: 'ER_DBACCESS_DENIED_ERROR' },
    'the user may not create routines',
  );
  t.strictSame(await migrate(db), { executed: await listMigrationNames() }, 'the migrations run as that user');
  await runStorageContract(t, `Kysely on MariaDB without routines (${database.name})`, mysqlFactory(db));
});
