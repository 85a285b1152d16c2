import { Migrator, NO_MIGRATIONS } from 'kysely';
import type { MigrationResult } from 'kysely';
import type { AnyKysely } from './dialect.js';
import { StorageError } from '@portcullis/core';
import { migrationProvider } from './migrations/index.js';
import { MigrationIncompleteError } from './migrations/schema-writer.js';

export const MIGRATION_TABLE = 'portcullis_migration';
export const MIGRATION_LOCK_TABLE = 'portcullis_migration_lock';

export interface MigrationReport {
  /** The migrations that ran (up or down), in order. */
  executed: string[];
}

function createMigrator(db: AnyKysely): Migrator {
  return new Migrator({
    db,
    provider: migrationProvider,
    // Own table names, so Portcullis shares a database with an application's own Kysely migrations.
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
}

function report(action: string, outcome: { error?: unknown; results?: MigrationResult[] }): MigrationReport {
  const failed = outcome.results?.find((result) => result.status === 'Error');
  if (outcome.error !== undefined) {
    const name = failed ? ` at ${failed.migrationName}` : '';
    // The check's own words say what is missing; a driver's error stays in the cause, for logs.
    const why = outcome.error instanceof MigrationIncompleteError ? `: ${outcome.error.message}` : '; see the cause';
    throw new StorageError(`Portcullis ${action} failed${name}${why}. It was not recorded as applied.`, { cause: outcome.error });
  }
  return { executed: (outcome.results ?? []).map((result) => result.migrationName) };
}

/** Brings the schema to the latest migration. Safe to run on every start: done ones are skipped. */
export async function migrate(db: AnyKysely): Promise<MigrationReport> {
  return report('migration', await createMigrator(db).migrateToLatest());
}

/**
 * Undoes the last migration, or every one with `{ all: true }` (which drops every Portcullis table
 * and its data).
 */
export async function rollback(db: AnyKysely, options: { all?: boolean } = {}): Promise<MigrationReport> {
  const migrator = createMigrator(db);
  return report('rollback', options.all ? await migrator.migrateTo(NO_MIGRATIONS) : await migrator.migrateDown());
}

/** The names of every migration this version knows, oldest first. */
export async function listMigrationNames(): Promise<string[]> {
  return Object.keys(await migrationProvider.getMigrations()).sort();
}
