import type { Migration } from 'kysely';
import type { AnyKysely } from '../dialect.js';
import { SchemaWriter } from './schema-writer.js';

// FROZEN once released: a schema change is a new migration, never an edit here. Self-contained:
// nothing is imported from the store or from another migration, so neither can change it. The
// SchemaWriter adds the table options of MySQL-compatible servers and checks the tables exist.

export const oauth2Schema: Migration = {
  async up(db) {
    const schema = new SchemaWriter(db);
    await schema.createTable('portcullis_clients', (table) =>
      table
        .addColumn('id', 'varchar(128)', (col) => col.primaryKey())
        .addColumn('name', 'varchar(255)', (col) => col.notNull())
        .addColumn('type', 'varchar(16)', (col) => col.notNull())
        .addColumn('secret_digest', 'varchar(64)')
        .addColumn('redirect_uris', 'text', (col) => col.notNull())
        .addColumn('scopes', 'text', (col) => col.notNull())
        // Null: the client may get tokens for any resource the server knows.
        .addColumn('resources', 'text')
        .addColumn('grant_types', 'text', (col) => col.notNull())
        .addColumn('response_types', 'text', (col) => col.notNull())
        .addColumn('owner_id', 'varchar(255)')
        .addColumn('oauth1_enabled', schema.flagType, (col) => col.notNull().defaultTo(0))
        .addColumn('oauth1_secret_encrypted', 'text')
        .addColumn('rsa_public_key', 'text')
        .addColumn('disabled', schema.flagType, (col) => col.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('updated_at', 'bigint', (col) => col.notNull()),
    );
    await db.schema
      .createIndex('portcullis_clients_created_at_idx')
      .on('portcullis_clients')
      .column('created_at')
      .execute();

    await schema.createTable('portcullis_scopes', (table) =>
      table
        .addColumn('name', 'varchar(128)', (col) => col.primaryKey())
        .addColumn('description', 'text'),
    );

    await schema.createTable('portcullis_authorization_codes', (table) =>
      table
        .addColumn('id', 'varchar(64)', (col) => col.primaryKey())
        .addColumn('digest', 'varchar(64)', (col) => col.notNull())
        .addColumn('client_id', 'varchar(128)', (col) => col.notNull())
        .addColumn('user_id', 'varchar(255)', (col) => col.notNull())
        .addColumn('redirect_uri', 'text')
        .addColumn('scope', 'text', (col) => col.notNull())
        .addColumn('code_challenge', 'varchar(128)')
        .addColumn('code_challenge_method', 'varchar(8)')
        .addColumn('audience', 'text', (col) => col.notNull())
        .addColumn('family_id', 'varchar(64)', (col) => col.notNull())
        .addColumn('issued_at', 'bigint', (col) => col.notNull())
        .addColumn('expires_at', 'bigint', (col) => col.notNull())
        .addColumn('consumed_at', 'bigint'),
    );
    await addTokenIndexes(db, 'portcullis_authorization_codes', { family: false });

    for (const table of ['portcullis_access_tokens', 'portcullis_refresh_tokens'] as const) {
      await schema.createTable(table, (created) => {
        const builder = created
          .addColumn('id', 'varchar(64)', (col) => col.primaryKey())
          .addColumn('digest', 'varchar(64)', (col) => col.notNull())
          .addColumn('client_id', 'varchar(128)', (col) => col.notNull())
          // Null for client_credentials tokens.
          .addColumn('user_id', 'varchar(255)')
          .addColumn('scope', 'text', (col) => col.notNull())
          .addColumn('audience', 'text', (col) => col.notNull())
          .addColumn('family_id', 'varchar(64)', (col) => col.notNull())
          .addColumn('issued_at', 'bigint', (col) => col.notNull())
          .addColumn('expires_at', 'bigint', (col) => col.notNull());
        const consumable = table === 'portcullis_refresh_tokens' ? builder.addColumn('consumed_at', 'bigint') : builder;
        return consumable.addColumn('revoked_at', 'bigint');
      });
      await addTokenIndexes(db, table, { family: true });
    }
    await schema.verify();
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
