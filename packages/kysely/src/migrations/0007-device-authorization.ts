import type { Migration } from 'kysely';
import { SchemaWriter } from './schema-writer.js';

// FROZEN once released: a schema change is a new migration, never an edit here. Self-contained:
// nothing is imported from the store or from another migration, so neither can change it.
// The device authorization grant (RFC 8628): one row per device authorization, found by the
// digest of its device code (the client's polls) and by the digest of its user code (the
// verification page), both unique.

export const deviceAuthorization: Migration = {
  async up(db) {
    const schema = new SchemaWriter(db);
    const table = 'portcullis_device_codes';
    await schema.createTable(table, (created) =>
      created
        .addColumn('id', 'varchar(64)', (col) => col.primaryKey())
        .addColumn('digest', 'varchar(64)', (col) => col.notNull())
        .addColumn('user_code_digest', 'varchar(64)', (col) => col.notNull())
        .addColumn('client_id', 'varchar(128)', (col) => col.notNull())
        .addColumn('scope', 'text', (col) => col.notNull())
        .addColumn('audience', 'text', (col) => col.notNull())
        .addColumn('family_id', 'varchar(64)', (col) => col.notNull())
        // pending, approved or denied.
        .addColumn('status', 'varchar(16)', (col) => col.notNull())
        // Null while pending: the user who decided.
        .addColumn('user_id', 'varchar(255)')
        .addColumn('poll_interval', 'integer', (col) => col.notNull())
        .addColumn('last_polled_at', 'bigint')
        .addColumn('issued_at', 'bigint', (col) => col.notNull())
        .addColumn('expires_at', 'bigint', (col) => col.notNull())
        .addColumn('consumed_at', 'bigint'),
    );
    await db.schema.createIndex(`${table}_digest_uq`).on(table).column('digest').unique().execute();
    await db.schema.createIndex(`${table}_user_code_digest_uq`).on(table).column('user_code_digest').unique().execute();
    // revokeGrant reaches a user's codes for a client; the purge reads expires_at.
    await db.schema.createIndex(`${table}_client_id_user_id_idx`).on(table).columns(['client_id', 'user_id']).execute();
    await db.schema.createIndex(`${table}_expires_at_idx`).on(table).column('expires_at').execute();
    await schema.verify();
  },

  async down(db) {
    await db.schema.dropTable('portcullis_device_codes').execute();
  },
};
