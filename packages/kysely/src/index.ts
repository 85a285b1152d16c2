export { createKyselyStorage } from './kysely-storage.js';
export { createDatabase, DatabaseUrlError, ACCEPTED_URL_FORMS } from './create-database.js';
export type { CreateDatabaseOptions } from './create-database.js';
export { migrate, rollback, listMigrationNames, MIGRATION_TABLE, MIGRATION_LOCK_TABLE } from './migrate.js';
export type { MigrationReport } from './migrate.js';
export { migrationProvider } from './migrations/index.js';
export { PORTCULLIS_TABLES } from './database.js';
export type { AnyKysely } from './dialect.js';
export type * from './database.js';
