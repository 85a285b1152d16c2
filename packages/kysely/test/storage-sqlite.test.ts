import t from 'tap';
import { runStorageContract } from '@portcullis/core/testing';
import { sqliteFileFactory, sqliteMemoryFactory } from './helpers/databases.js';

await runStorageContract(t, 'Kysely on sqlite::memory:', sqliteMemoryFactory);
await runStorageContract(t, 'Kysely on a SQLite file (WAL)', sqliteFileFactory);

t.test('the one-step nonce record is MySQL only: on SQLite a refused request writes nothing', async (t) => {
  const { storage, close } = await sqliteMemoryFactory();
  t.teardown(close);
  t.equal(storage.findOAuth1AccessTokenRecordingNonce, undefined);
  t.equal(storage.forgetNonce, undefined);
});
