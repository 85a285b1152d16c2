import { MysqlAdapter, sql } from 'kysely';
import type { CreateTableBuilder, Kysely, Migration } from 'kysely';

// FROZEN once released: a schema change is a new migration, never an edit here. Self-contained:
// nothing is imported from the store or from another migration, so neither can change it.
// OAuth 1.0a consumers are clients (oauth1_enabled and its secret live in portcullis_clients).

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyKysely = Kysely<any>;

/** MySQL-compatible servers: InnoDB, utf8mb4, and the binary collation (tokens compare exactly). */
function tableOptions<T extends string, C extends string>(db: AnyKysely, table: CreateTableBuilder<T, C>) {
  return db.getExecutor().adapter instanceof MysqlAdapter ? table.modifyEnd(sql`engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin`) : table;
}

export const oauth1Schema: Migration = {
  async up(db) {
    await tableOptions(
      db,
      db.schema
        .createTable('portcullis_oauth1_request_tokens')
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
    ).execute();
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

    await tableOptions(
      db,
      db.schema
        .createTable('portcullis_oauth1_access_tokens')
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
    ).execute();
    const table = 'portcullis_oauth1_access_tokens';
    await db.schema.createIndex(`${table}_token_uq`).on(table).column('token').unique().execute();
    await db.schema.createIndex(`${table}_client_id_user_id_idx`).on(table).columns(['client_id', 'user_id']).execute();
    await db.schema.createIndex(`${table}_user_id_idx`).on(table).column('user_id').execute();
    await db.schema.createIndex(`${table}_expires_at_idx`).on(table).column('expires_at').execute();

    await tableOptions(
      db,
      db.schema
        .createTable('portcullis_oauth1_nonces')
        // SHA-256 of (client, token, timestamp, nonce): the primary key is the replay check.
        .addColumn('nonce_key', 'varchar(64)', (col) => col.primaryKey())
        .addColumn('client_id', 'varchar(128)', (col) => col.notNull())
        .addColumn('expires_at', 'bigint', (col) => col.notNull()),
    ).execute();
    await db.schema
      .createIndex('portcullis_oauth1_nonces_expires_at_idx')
      .on('portcullis_oauth1_nonces')
      .column('expires_at')
      .execute();
  },

  async down(db) {
    for (const table of ['portcullis_oauth1_nonces', 'portcullis_oauth1_access_tokens', 'portcullis_oauth1_request_tokens']) {
      await db.schema.dropTable(table).execute();
    }
  },
};
