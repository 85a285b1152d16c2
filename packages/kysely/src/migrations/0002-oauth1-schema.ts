import type { Migration } from 'kysely';
import { SchemaWriter } from './schema-writer.js';

// FROZEN once released: a schema change is a new migration, never an edit here. Self-contained:
// nothing is imported from the store or from another migration, so neither can change it. The
// SchemaWriter adds the table options of MySQL-compatible servers and checks the tables exist.
// OAuth 1.0a consumers are clients (oauth1_enabled and its secret live in portcullis_clients).

export const oauth1Schema: Migration = {
  async up(db) {
    const schema = new SchemaWriter(db);
    await schema.createTable('portcullis_oauth1_request_tokens', (table) =>
      table
        .addColumn('id', 'varchar(64)', (col) => col.primaryKey())
        .addColumn('token', 'varchar(128)', (col) => col.notNull())
        .addColumn('secret_encrypted', 'text', (col) => col.notNull())
        .addColumn('client_id', 'varchar(128)', (col) => col.notNull())
        .addColumn('callback', 'text', (col) => col.notNull())
        .addColumn('scope', 'text', (col) => col.notNull())
        .addColumn('user_id', 'varchar(255)')
        .addColumn('verifier_digest', 'varchar(64)')
        .addColumn('issued_at', 'bigint', (col) => col.notNull())
        .addColumn('expires_at', 'bigint', (col) => col.notNull())
        .addColumn('consumed_at', 'bigint'),
    );
    await db.schema
      .createIndex('portcullis_oauth1_request_tokens_token_uq')
      .on('portcullis_oauth1_request_tokens')
      .column('token')
      .unique()
      .execute();
    await db.schema
      .createIndex('portcullis_oauth1_request_tokens_expires_at_idx')
      .on('portcullis_oauth1_request_tokens')
      .column('expires_at')
      .execute();

    await schema.createTable('portcullis_oauth1_access_tokens', (table) =>
      table
        .addColumn('id', 'varchar(64)', (col) => col.primaryKey())
        .addColumn('token', 'varchar(128)', (col) => col.notNull())
        .addColumn('secret_encrypted', 'text', (col) => col.notNull())
        .addColumn('client_id', 'varchar(128)', (col) => col.notNull())
        .addColumn('user_id', 'varchar(255)', (col) => col.notNull())
        .addColumn('scope', 'text', (col) => col.notNull())
        .addColumn('issued_at', 'bigint', (col) => col.notNull())
        // Null: the token does not expire.
        .addColumn('expires_at', 'bigint')
        .addColumn('revoked_at', 'bigint'),
    );
    const table = 'portcullis_oauth1_access_tokens';
    await db.schema.createIndex(`${table}_token_uq`).on(table).column('token').unique().execute();
    await db.schema.createIndex(`${table}_client_id_user_id_idx`).on(table).columns(['client_id', 'user_id']).execute();
    await db.schema.createIndex(`${table}_user_id_idx`).on(table).column('user_id').execute();
    await db.schema.createIndex(`${table}_expires_at_idx`).on(table).column('expires_at').execute();

    await schema.createTable('portcullis_oauth1_nonces', (table) =>
      table
        // SHA-256 of (client, token, timestamp, nonce): the primary key is the replay check.
        .addColumn('nonce_key', 'varchar(64)', (col) => col.primaryKey())
        .addColumn('client_id', 'varchar(128)', (col) => col.notNull())
        .addColumn('expires_at', 'bigint', (col) => col.notNull()),
    );
    await db.schema
      .createIndex('portcullis_oauth1_nonces_expires_at_idx')
      .on('portcullis_oauth1_nonces')
      .column('expires_at')
      .execute();
    await schema.verify();
  },

  async down(db) {
    for (const table of ['portcullis_oauth1_nonces', 'portcullis_oauth1_access_tokens', 'portcullis_oauth1_request_tokens']) {
      await db.schema.dropTable(table).execute();
    }
  },
};
