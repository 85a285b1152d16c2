import type { Migration } from 'kysely';
import { capabilitiesOf } from '../dialect.js';
import { SchemaWriter } from './schema-writer.js';

// FROZEN once released: a schema change is a new migration, never an edit here. Self-contained:
// nothing is imported from the store or from another migration, so neither can change it.
// Dynamic client registration (RFC 7591, RFC 7592): how a client came, the digest of its
// registration access token, the metadata it registered, and the bookkeeping that lets the purge
// remove registrations that never obtained a token.

export const clientRegistration: Migration = {
  async up(db) {
    const schema = new SchemaWriter(db);
    const table = 'portcullis_clients';
    await schema.addColumn(table, 'origin', 'varchar(16)', (col) => col.notNull().defaultTo('admin'));
    await schema.addColumn(table, 'registration_token_digest', 'varchar(64)');
    await schema.addColumn(table, 'metadata', 'text');
    // Null: the client is kept (an admin client, or a dynamic one that obtained a token).
    await schema.addColumn(table, 'unused_expires_at', 'bigint');
    await schema.addColumn(table, 'last_used_at', 'bigint');
    await db.schema.createIndex(`${table}_unused_expires_at_idx`).on(table).column('unused_expires_at').execute();
    await schema.verify();
  },

  async down(db) {
    const table = 'portcullis_clients';
    const drop = db.schema.dropIndex(`${table}_unused_expires_at_idx`);
    // MySQL-compatible servers name an index within its table; the others within the schema.
    await (capabilitiesOf(db).upsert === 'on-duplicate-key' ? drop.on(table) : drop).execute();
    for (const column of ['last_used_at', 'unused_expires_at', 'metadata', 'registration_token_digest', 'origin']) {
      await db.schema.alterTable(table).dropColumn(column).execute();
    }
  },
};
