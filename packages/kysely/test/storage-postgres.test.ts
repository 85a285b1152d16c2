import { Kysely, PostgresDialect } from 'kysely';
import { runStorageContract } from '@portcullis/core/testing';
import { migrate } from '@portcullis/kysely';
import type { Database } from '@portcullis/kysely';
import { createPostgresTestDatabase, mysqlFactory, openMigratedPostgres, postgresTest } from './helpers/databases.js';

await postgresTest('storage contract on PostgreSQL through createDatabase', async (t) => {
  // A pool larger than the concurrency cases need, so their races are between connections.
  const { database, db } = await openMigratedPostgres(t, { connectionLimit: 20 });
  await runStorageContract(t, `Kysely on PostgreSQL (${database.name}, createDatabase)`, mysqlFactory(db));
});

await postgresTest('storage contract on PostgreSQL through a plain Kysely instance', async (t) => {
  const database = await createPostgresTestDatabase();
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: database.pool({ max: 20 }) }) });
  t.teardown(async () => {
    await db.destroy();
    await database.drop();
  });
  await migrate(db);
  await runStorageContract(t, `Kysely on PostgreSQL (${database.name}, new Kysely)`, mysqlFactory(db));
});
