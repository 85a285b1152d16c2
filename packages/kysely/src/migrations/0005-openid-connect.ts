import type { Migration } from 'kysely';
import { SchemaWriter } from './schema-writer.js';

// FROZEN once released: a schema change is a new migration, never an edit here. Self-contained:
// nothing is imported from the store or from another migration, so neither can change it.
// OpenID Connect: the nonce and authentication time an authorization code carries to the ID
// token (OpenID Connect Core 1.0 sections 3.1.2.1 and 2), the authentication time a refresh
// token keeps for the ID tokens of later refreshes (section 12.2), and the post-logout redirect
// URIs a client registers (RP-Initiated Logout 1.0 section 3.1) and the algorithm it wants its ID
// tokens signed with (Dynamic Client Registration 1.0 section 2).

export const openidConnect: Migration = {
  async up(db) {
    const schema = new SchemaWriter(db);
    // Text: the specification sets no length on a nonce, and it is only ever read back whole.
    await schema.addColumn('portcullis_authorization_codes', 'nonce', 'text');
    await schema.addColumn('portcullis_authorization_codes', 'auth_time', 'bigint');
    await schema.addColumn('portcullis_refresh_tokens', 'auth_time', 'bigint');
    // Null reads as none: the clients registered before this migration have none.
    await schema.addColumn('portcullis_clients', 'post_logout_redirect_uris', 'text');
    await schema.addColumn('portcullis_clients', 'id_token_signed_response_alg', 'varchar(16)');
    await schema.verify();
  },

  async down(db) {
    await db.schema.alterTable('portcullis_clients').dropColumn('id_token_signed_response_alg').execute();
    await db.schema.alterTable('portcullis_clients').dropColumn('post_logout_redirect_uris').execute();
    await db.schema.alterTable('portcullis_refresh_tokens').dropColumn('auth_time').execute();
    await db.schema.alterTable('portcullis_authorization_codes').dropColumn('auth_time').execute();
    await db.schema.alterTable('portcullis_authorization_codes').dropColumn('nonce').execute();
  },
};
