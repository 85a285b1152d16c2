import type { Migration } from 'kysely';
import { capabilitiesOf } from '../dialect.js';
import { SchemaWriter } from './schema-writer.js';

// FROZEN once released: a schema change is a new migration, never an edit here. Self-contained:
// nothing is imported from the store or from another migration, so neither can change it.
// JWS signing keys: the public JWK as published, the private JWK sealed by the server's key
// (AES-256-GCM), and the times that decide when a key is published, signs, stops signing and
// is removed.

export const signingKeys: Migration = {
  async up(db) {
    const schema = new SchemaWriter(db);
    const table = 'portcullis_signing_keys';
    await schema.createTable(table, (builder) =>
      builder
        // The RFC 7638 thumbprint: 43 base64url characters.
        .addColumn('kid', 'varchar(64)', (col) => col.primaryKey())
        .addColumn('alg', 'varchar(16)', (col) => col.notNull())
        .addColumn('public_jwk', 'text', (col) => col.notNull())
        .addColumn('private_jwk_encrypted', 'text', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('activates_at', 'bigint', (col) => col.notNull())
        // Null until a successor is chosen, and then until every token the key signed has expired.
        .addColumn('retires_at', 'bigint')
        .addColumn('expires_at', 'bigint'),
    );
    await db.schema.createIndex(`${table}_expires_at_idx`).on(table).column('expires_at').execute();
    await schema.verify();
  },

  async down(db) {
    const table = 'portcullis_signing_keys';
    const drop = db.schema.dropIndex(`${table}_expires_at_idx`);
    // MySQL-compatible servers name an index within its table; the others within the schema.
    await (capabilitiesOf(db).upsert === 'on-duplicate-key' ? drop.on(table) : drop).execute();
    await db.schema.dropTable(table).execute();
  },
};
