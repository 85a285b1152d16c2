import { MysqlAdapter, PostgresAdapter, sql } from 'kysely';
import type { CreateTableBuilder, Kysely, Migration } from 'kysely';

// FROZEN once released: a schema change is a new migration, never an edit here. Self-contained:
// nothing is imported from the store or from another migration, so neither can change it.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyKysely = Kysely<any>;

/**
 * InnoDB for transactions and row locks; utf8mb4 for every character; the binary collation so
 * tokens and digests (base64url, case matters) compare exactly, in the unique keys too.
 */
function tableOptions<T extends string, C extends string>(db: AnyKysely, table: CreateTableBuilder<T, C>) {
  return db.getExecutor().adapter instanceof MysqlAdapter ? table.modifyEnd(sql`engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin`) : table;
}

/**
 * Flags are stored as 0/1 (see row-mapping.ts). MySQL's BOOLEAN is TINYINT(1) and SQLite's has
 * numeric affinity, so both take the integers; PostgreSQL's boolean does not, so it gets smallint.
 */
function flagType(db: AnyKysely): 'boolean' | 'smallint' {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'smallint' : 'boolean';
}

export const oauth2Schema: Migration = {
  async up(db) {
    await tableOptions(
      db,
      db.schema
        .createTable('portcullis_clients')
        .addColumn('id', 'varchar(128)', (col) => col.primaryKey())
        .addColumn('name', 'varchar(255)', (col) => col.notNull())
        .addColumn('type', 'varchar(16)', (col) => col.notNull())
        .addColumn('secret_digest', 'varchar(64)')
        .addColumn('redirect_uris', 'text', (col) => col.notNull())
        .addColumn('scopes', 'text', (col) => col.notNull())
        .addColumn('grant_types', 'text', (col) => col.notNull())
        .addColumn('response_types', 'text', (col) => col.notNull())
        .addColumn('owner_id', 'varchar(255)')
        .addColumn('oauth1_enabled', flagType(db), (col) => col.notNull().defaultTo(0))
        .addColumn('oauth1_secret_encrypted', 'text')
        .addColumn('rsa_public_key', 'text')
        .addColumn('disabled', flagType(db), (col) => col.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('updated_at', 'bigint', (col) => col.notNull()),
    ).execute();
    await db.schema
      .createIndex('portcullis_clients_created_at_idx')
      .on('portcullis_clients')
      .column('created_at')
      .execute();

    await tableOptions(
      db,
      db.schema
        .createTable('portcullis_scopes')
        .addColumn('name', 'varchar(128)', (col) => col.primaryKey())
        .addColumn('description', 'text'),
    ).execute();

    await tableOptions(
      db,
      db.schema
        .createTable('portcullis_authorization_codes')
        .addColumn('id', 'varchar(64)', (col) => col.primaryKey())
        .addColumn('digest', 'varchar(64)', (col) => col.notNull())
        .addColumn('client_id', 'varchar(128)', (col) => col.notNull())
        .addColumn('user_id', 'varchar(255)', (col) => col.notNull())
        .addColumn('redirect_uri', 'text')
        .addColumn('scope', 'text', (col) => col.notNull())
        .addColumn('code_challenge', 'varchar(128)')
        .addColumn('code_challenge_method', 'varchar(8)')
        .addColumn('family_id', 'varchar(64)', (col) => col.notNull())
        .addColumn('issued_at', 'bigint', (col) => col.notNull())
        .addColumn('expires_at', 'bigint', (col) => col.notNull())
        .addColumn('consumed_at', 'bigint'),
    ).execute();
    await addTokenIndexes(db, 'portcullis_authorization_codes', { family: false });

    for (const table of ['portcullis_access_tokens', 'portcullis_refresh_tokens'] as const) {
      let builder = db.schema
        .createTable(table)
        .addColumn('id', 'varchar(64)', (col) => col.primaryKey())
        .addColumn('digest', 'varchar(64)', (col) => col.notNull())
        .addColumn('client_id', 'varchar(128)', (col) => col.notNull())
        // Null for client_credentials tokens.
        .addColumn('user_id', 'varchar(255)')
        .addColumn('scope', 'text', (col) => col.notNull())
        .addColumn('family_id', 'varchar(64)', (col) => col.notNull())
        .addColumn('issued_at', 'bigint', (col) => col.notNull())
        .addColumn('expires_at', 'bigint', (col) => col.notNull());
      if (table === 'portcullis_refresh_tokens') builder = builder.addColumn('consumed_at', 'bigint');
      await tableOptions(db, builder.addColumn('revoked_at', 'bigint')).execute();
      await addTokenIndexes(db, table, { family: true });
    }
  },

  async down(db) {
    for (const table of [
      'portcullis_refresh_tokens',
      'portcullis_access_tokens',
      'portcullis_authorization_codes',
      'portcullis_scopes',
      'portcullis_clients',
    ]) {
      await db.schema.dropTable(table).execute();
    }
  },
};

/**
 * Every lookup by digest is a unique-index lookup; the family index serves replay revocation,
 * (client, user) the per-app listings and revocations, user the account page, expires_at the purge.
 */
async function addTokenIndexes(db: AnyKysely, table: string, options: { family: boolean }): Promise<void> {
  await db.schema.createIndex(`${table}_digest_uq`).on(table).column('digest').unique().execute();
  if (options.family) await db.schema.createIndex(`${table}_family_id_idx`).on(table).column('family_id').execute();
  await db.schema.createIndex(`${table}_client_id_user_id_idx`).on(table).columns(['client_id', 'user_id']).execute();
  await db.schema.createIndex(`${table}_user_id_idx`).on(table).column('user_id').execute();
  await db.schema.createIndex(`${table}_expires_at_idx`).on(table).column('expires_at').execute();
}
