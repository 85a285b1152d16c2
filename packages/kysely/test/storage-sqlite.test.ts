import t from 'tap';
import { CompiledQuery } from 'kysely';
import { createDatabase, migrate } from '@portcullis/kysely';
import { revokeFamilyRows } from '../src/storage-statements.js';
import { runStorageContract } from '@portcullis/core/testing';
import { sqliteFileFactory, sqliteMemoryFactory } from './helpers/databases.js';

await runStorageContract(t, 'Kysely on sqlite::memory:', sqliteMemoryFactory);
await runStorageContract(t, 'Kysely on a SQLite file (WAL)', sqliteFileFactory);

t.test('replay revocation reaches a family through its owner\'s index, with or without a user', async (t) => {
  const db = await createDatabase('sqlite::memory:');
  t.teardown(() => db.destroy());
  await migrate(db);
  for (const table of ['portcullis_access_tokens', 'portcullis_refresh_tokens'] as const) {
    for (const user of ['user-1', null]) {
      // The store's own statement, planned.
      const revocation = revokeFamilyRows(db, table, { familyId: 'f', clientId: 'client-a', userId: user }, 1);
      const plan = await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`EXPLAIN QUERY PLAN ${revocation.sql}`, [...revocation.parameters]));
      t.match(
        plan.rows.map((row) => row.detail).join('\n'),
        `USING INDEX ${table}_client_id_user_id_idx (client_id=? AND user_id=?)`,
        `${table}, user ${user}`,
      );
    }
  }
});
