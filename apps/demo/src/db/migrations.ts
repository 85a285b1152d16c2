import type { AnyDb } from './database.js';
import { Migrator, NO_MIGRATIONS, PostgresAdapter, type ColumnDefinitionBuilder, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';

/**
 * An integer primary key the database numbers: an identity column on PostgreSQL, which has no
 * AUTO_INCREMENT; `AUTO_INCREMENT` on MySQL/MariaDB and `AUTOINCREMENT` on SQLite. The schema's
 * only dialect difference, kept here so the migrations import nothing from run-time code.
 */
function numberedKey(db: AnyDb): (col: ColumnDefinitionBuilder) => ColumnDefinitionBuilder {
  return db.getExecutor().adapter instanceof PostgresAdapter
    ? (col) => col.primaryKey().generatedByDefaultAsIdentity()
    : (col) => col.primaryKey().autoIncrement();
}

/**
 * The demo's migrations, in code (no folder read at run time) and in their own migration tables,
 * so they never collide with @portcullis/kysely's. Frozen once released: change the schema with a
 * new entry, never by editing one.
 */
const migrations: Record<string, Migration> = {
  '2026_11_22_001_users_polls_votes': {
    async up(db: AnyDb) {
      await db.schema
        .createTable('demo_users')
        .addColumn('id', 'varchar(64)', (col) => col.primaryKey())
        .addColumn('username', 'varchar(150)', (col) => col.notNull().unique())
        .addColumn('password_hash', 'varchar(255)', (col) => col.notNull())
        .addColumn('is_admin', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .execute();
      await db.schema
        .createTable('demo_polls')
        .addColumn('id', 'integer', numberedKey(db))
        .addColumn('question', 'varchar(255)', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .execute();
      await db.schema
        .createTable('demo_choices')
        .addColumn('id', 'integer', numberedKey(db))
        .addColumn('poll_id', 'integer', (col) => col.notNull().references('demo_polls.id').onDelete('cascade'))
        .addColumn('label', 'varchar(255)', (col) => col.notNull())
        .addColumn('position', 'integer', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('demo_choices_poll_id').on('demo_choices').column('poll_id').execute();
      await db.schema
        .createTable('demo_votes')
        .addColumn('poll_id', 'integer', (col) => col.notNull().references('demo_polls.id').onDelete('cascade'))
        .addColumn('user_id', 'varchar(64)', (col) => col.notNull().references('demo_users.id').onDelete('cascade'))
        .addColumn('choice_id', 'integer', (col) => col.notNull().references('demo_choices.id').onDelete('cascade'))
        .addColumn('client_id', 'varchar(128)', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        // One vote per user per poll, enforced by the database rather than a read-then-write.
        .addPrimaryKeyConstraint('demo_votes_pk', ['poll_id', 'user_id'])
        .execute();
      await db.schema.createIndex('demo_votes_choice_id').on('demo_votes').column('choice_id').execute();
      await db.schema
        .createTable('demo_sessions')
        .addColumn('id', 'varchar(128)', (col) => col.primaryKey())
        .addColumn('data', 'text', (col) => col.notNull())
        .addColumn('expires_at', 'bigint', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('demo_sessions_expires_at').on('demo_sessions').column('expires_at').execute();
    },
    async down(db: AnyDb) {
      for (const table of ['demo_sessions', 'demo_votes', 'demo_choices', 'demo_polls', 'demo_users']) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  },
  // OpenID Connect: the claims of the `email` and `profile` scopes. Nullable, so the users that
  // exist keep working: their username stands in for the name, and they have no email.
  '2026_12_04_001_user_claims': {
    async up(db: AnyDb) {
      await db.schema.alterTable('demo_users').addColumn('email', 'varchar(254)').execute();
      await db.schema.alterTable('demo_users').addColumn('name', 'varchar(200)').execute();
    },
    async down(db: AnyDb) {
      await db.schema.alterTable('demo_users').dropColumn('name').execute();
      await db.schema.alterTable('demo_users').dropColumn('email').execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

function createDemoMigrator(db: AnyDb): Migrator {
  return new Migrator({
    db,
    provider,
    migrationTableName: 'demo_migration',
    migrationLockTableName: 'demo_migration_lock',
  });
}

/** Brings the demo tables to the latest migration; throws with the failing migration's name. */
export async function migrateDemo(db: AnyDb): Promise<MigrationResultSet> {
  const result = await createDemoMigrator(db).migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`demo migration ${failed} failed`, { cause: result.error });
  }
  return result;
}

/** Undoes every demo migration (tests). */
export async function rollbackDemo(db: AnyDb): Promise<void> {
  const result = await createDemoMigrator(db).migrateTo(NO_MIGRATIONS);
  if (result.error) throw new Error('demo rollback failed', { cause: result.error });
}

export const demoMigrationNames: readonly string[] = Object.keys(migrations);
