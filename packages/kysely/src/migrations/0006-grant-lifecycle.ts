import { sql, type Migration } from 'kysely';
import { capabilitiesOf } from '../dialect.js';
import { SchemaWriter } from './schema-writer.js';

// FROZEN once released: a schema change is a new migration, never an edit here. Self-contained:
// nothing is imported from the store or from another migration, so neither can change it.
// The grant lifecycle: consent remembered per user and client, first-party clients that skip the
// consent page, per-client token lifetimes, and what refresh rotation needs to cap a family's
// lifetime and to count retries within the reuse interval.

export const grantLifecycle: Migration = {
  async up(db) {
    const schema = new SchemaWriter(db);
    await schema.createTable('portcullis_consents', (table) =>
      table
        .addColumn('user_id', 'varchar(255)', (col) => col.notNull())
        .addColumn('client_id', 'varchar(128)', (col) => col.notNull())
        .addColumn('scope', 'text', (col) => col.notNull())
        .addColumn('audience', 'text', (col) => col.notNull())
        .addColumn('created_at', 'bigint', (col) => col.notNull())
        .addColumn('updated_at', 'bigint', (col) => col.notNull())
        // One consent per user and client: the key the upsert of a new approval lands on.
        .addPrimaryKeyConstraint('portcullis_consents_pk', ['user_id', 'client_id']),
    );
    // A client's consents are deleted with the client, and listed by the administrator.
    await db.schema.createIndex('portcullis_consents_client_id_idx').on('portcullis_consents').column('client_id').execute();

    const clients = 'portcullis_clients';
    await schema.addColumn(clients, 'skip_consent', schema.flagType, (col) => col.notNull().defaultTo(0));
    // Null: the server's option applies.
    await schema.addColumn(clients, 'access_token_ttl', 'integer');
    await schema.addColumn(clients, 'refresh_token_ttl', 'integer');
    await schema.addColumn(clients, 'authorization_code_ttl', 'integer');

    const refresh = 'portcullis_refresh_tokens';
    await schema.addColumn(refresh, 'family_issued_at', 'bigint');
    // Tokens issued before this migration start their family when they were issued.
    await db.updateTable(refresh).set({ family_issued_at: sql.ref('issued_at') }).execute();
    // Bumped by each reissue within the reuse interval: a change every dialect counts as an affected row.
    await schema.addColumn(refresh, 'reissue_count', 'integer', (col) => col.notNull().defaultTo(0));
    await schema.verify();
  },

  async down(db) {
    for (const column of ['reissue_count', 'family_issued_at']) {
      await db.schema.alterTable('portcullis_refresh_tokens').dropColumn(column).execute();
    }
    for (const column of ['authorization_code_ttl', 'refresh_token_ttl', 'access_token_ttl', 'skip_consent']) {
      await db.schema.alterTable('portcullis_clients').dropColumn(column).execute();
    }
    const drop = db.schema.dropIndex('portcullis_consents_client_id_idx');
    // MySQL-compatible servers name an index within its table; the others within the schema.
    await (capabilitiesOf(db).upsert === 'on-duplicate-key' ? drop.on('portcullis_consents') : drop).execute();
    await db.schema.dropTable('portcullis_consents').execute();
  },
};
