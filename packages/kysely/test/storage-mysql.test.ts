import { CompiledQuery, sql } from 'kysely';
import { runStorageContract, StorageFixtures } from '@portcullis/core/testing';
import { createDatabase, createKyselyStorage, migrate } from '@portcullis/kysely';
import { revokeFamilyRows } from '../src/storage-statements.js';
import { createMysqlTestDatabase, mysqlFactory, mysqlTest } from './helpers/databases.js';

await mysqlTest('storage contract on MariaDB/MySQL', async (t) => {
  const database = await createMysqlTestDatabase();
  // A pool larger than the concurrency cases need, so their races are between connections.
  const db = await createDatabase(database.url, { connectionLimit: 20 });
  t.teardown(async () => {
    await db.destroy();
    await database.drop();
  });
  await migrate(db);

  await runStorageContract(t, `Kysely on MariaDB (${database.name})`, mysqlFactory(db));

  t.test('lookups by digest and token use their unique index', async (t) => {
    const fx = new StorageFixtures();
    const storage = createKyselyStorage(db);
    // Enough rows that a table scan would not be the optimizer's choice anyway.
    const probe = { access: '', refresh: '', code: '', request: '', oauth1: '' };
    // The one before the last of each, for the grouped lookups' `IN (...)`.
    let earlier = { ...probe };
    for (let i = 0; i < 20; i += 1) {
      earlier = { ...probe };
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
      Object.assign(probe, { access: access.digest, refresh: refresh.digest, code: code.digest, request: request.token, oauth1: oauth1.token });
    }
    const lookups = [
      ['portcullis_access_tokens', 'digest', 'portcullis_access_tokens_digest_uq', probe.access, earlier.access],
      ['portcullis_refresh_tokens', 'digest', 'portcullis_refresh_tokens_digest_uq', probe.refresh, earlier.refresh],
      ['portcullis_authorization_codes', 'digest', 'portcullis_authorization_codes_digest_uq', probe.code, earlier.code],
      ['portcullis_oauth1_request_tokens', 'token', 'portcullis_oauth1_request_tokens_token_uq', probe.request, earlier.request],
      ['portcullis_oauth1_access_tokens', 'token', 'portcullis_oauth1_access_tokens_token_uq', probe.oauth1, earlier.oauth1],
    ] as const;
    for (const [table, column, index, value, other] of lookups) {
      const plan = await sql<{ type: string; key: string | null }>`EXPLAIN SELECT * FROM ${sql.table(table)} WHERE ${sql.ref(column)} = ${value}`.execute(db);
      const row = plan.rows[0];
      t.ok(row && ['const', 'ref', 'eq_ref'].includes(row.type), `${table}.${column}: access type ${row?.type}`);
      t.equal(row?.key, index, `${table}.${column} uses ${index}`);
      // What the grouped lookups send: a range of point lookups on the same index.
      const grouped = await sql<{ type: string; key: string | null }>`EXPLAIN SELECT * FROM ${sql.table(table)} WHERE ${sql.ref(column)} IN (${value}, ${other})`.execute(db);
      t.equal(grouped.rows[0]?.key, index, `${table}.${column} IN (...) uses ${index} (access type ${grouped.rows[0]?.type})`);
    }
    // Replay revocation has no family index: it reaches the family through its owner's (which
    // of the two the optimizer picks depends on the rows; never a scan of the table).
    for (const table of ['portcullis_access_tokens', 'portcullis_refresh_tokens'] as const) {
      for (const user of ['user-9', null]) {
        // The store's own statement, explained.
        const revocation = revokeFamilyRows(db, table, { familyId: 'f', clientId: 'client-z', userId: user }, 1);
        const plan = await db.executeQuery<{ type: string; key: string | null }>(CompiledQuery.raw(`EXPLAIN ${revocation.sql}`, [...revocation.parameters]));
        const row = plan.rows[0];
        t.ok(
          row && [`${table}_client_id_user_id_idx`, `${table}_user_id_idx`].includes(row.key ?? '') && row.type !== 'ALL',
          `${table}: family revocation (user ${user}) uses an owner's index (${row?.key}, ${row?.type})`,
        );
      }
    }
  });
});
