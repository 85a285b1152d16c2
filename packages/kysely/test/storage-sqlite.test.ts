import t from 'tap';
import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect } from 'kysely';
import { createDatabase, createKyselyStorage, migrate } from '@portcullis/kysely';
import type { Database } from '@portcullis/kysely';
import { runStorageContract } from '@portcullis/core/testing';
import { dumpTables, sqliteFileFactory, sqliteMemoryFactory } from './helpers/databases.js';

await runStorageContract(t, 'Kysely on sqlite::memory: (createDatabase)', sqliteMemoryFactory);
await runStorageContract(t, 'Kysely on a SQLite file (WAL, createDatabase)', sqliteFileFactory);
await runStorageContract(t, 'Kysely on SQLite (new Kysely over better-sqlite3)', async () => {
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }) });
  await migrate(db);
  return { storage: createKyselyStorage(db), dump: () => dumpTables(db), close: () => db.destroy() };
});

t.test('replay revocation finds a family through its family_id index', async (t) => {
  const db = await createDatabase('sqlite::memory:');
  t.teardown(() => db.destroy());
  await migrate(db);
  for (const table of ['portcullis_access_tokens', 'portcullis_refresh_tokens'] as const) {
    // The store's statement (revokeFamily), planned.
    const revocation = db.updateTable(table).set({ revoked_at: 1 }).where('family_id', '=', 'f').where('revoked_at', 'is', null).compile();
    const plan = await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`EXPLAIN QUERY PLAN ${revocation.sql}`, [...revocation.parameters]));
    t.match(plan.rows.map((row) => row.detail).join('\n'), `USING INDEX ${table}_family_id_idx (family_id=?)`, table);
  }
});
