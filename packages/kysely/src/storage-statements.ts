import type { CompiledQuery, Insertable, Kysely } from 'kysely';
import type {
  Database,
  NewAccessTokenRow,
  NewClientRow,
  NewAuthorizationCodeRow,
  NewDeviceCodeRow,
  NewOAuth1AccessTokenRow,
  NewOAuth1NonceRow,
  NewOAuth1RequestTokenRow,
  NewRefreshTokenRow,
} from './database.js';
import { PreparedStatement } from './prepared-statement.js';
import type { Capabilities } from './dialect.js';

// The statements of the request path, each built once per store. Every other operation (admin
// listings, revocation by filter, purge) varies in shape and is built per call.

/**
 * Every column of a table, checked complete, in a fixed order: an insert's column list, and a
 * lookup's. A lookup names its columns rather than `SELECT *`, so its result keeps its shape when a
 * later migration adds a column: a PostgreSQL named statement fails if the shape changes under it.
 */
const columnsOf =
  <Row>() =>
  <const List extends readonly (keyof Row & string)[]>(
    list: List & (Exclude<keyof Row, List[number]> extends never ? unknown : { missing: Exclude<keyof Row, List[number]> }),
  ): List =>
    list;

export const COLUMNS = {
  portcullis_clients: columnsOf<NewClientRow>()([
    'id', 'name', 'type', 'secret_digest', 'redirect_uris', 'scopes', 'resources', 'grant_types', 'response_types', 'owner_id',
    'oauth1_enabled', 'oauth1_secret_encrypted', 'rsa_public_key', 'disabled', 'created_at', 'updated_at', 'origin',
    'registration_token_digest', 'metadata', 'unused_expires_at', 'last_used_at', 'post_logout_redirect_uris',
    'id_token_signed_response_alg', 'skip_consent', 'access_token_ttl', 'refresh_token_ttl', 'authorization_code_ttl',
  ]),
  portcullis_authorization_codes: columnsOf<NewAuthorizationCodeRow>()([
    'id', 'digest', 'client_id', 'user_id', 'redirect_uri', 'scope', 'code_challenge', 'code_challenge_method', 'audience',
    'family_id', 'issued_at', 'expires_at', 'consumed_at', 'nonce', 'auth_time',
  ]),
  portcullis_access_tokens: columnsOf<NewAccessTokenRow>()([
    'id', 'digest', 'client_id', 'user_id', 'scope', 'audience', 'family_id', 'issued_at', 'expires_at', 'revoked_at',
  ]),
  portcullis_refresh_tokens: columnsOf<NewRefreshTokenRow>()([
    'id', 'digest', 'client_id', 'user_id', 'scope', 'audience', 'family_id', 'issued_at', 'expires_at', 'consumed_at',
    'revoked_at', 'auth_time', 'family_issued_at', 'reissue_count',
  ]),
  portcullis_oauth1_request_tokens: columnsOf<NewOAuth1RequestTokenRow>()([
    'id', 'token', 'secret_encrypted', 'client_id', 'callback', 'scope', 'user_id', 'verifier_digest', 'issued_at',
    'expires_at', 'consumed_at',
  ]),
  portcullis_oauth1_access_tokens: columnsOf<NewOAuth1AccessTokenRow>()([
    'id', 'token', 'secret_encrypted', 'client_id', 'user_id', 'scope', 'issued_at', 'expires_at', 'revoked_at',
  ]),
  portcullis_oauth1_nonces: columnsOf<NewOAuth1NonceRow>()(['nonce_key', 'client_id', 'expires_at']),
  portcullis_device_codes: columnsOf<NewDeviceCodeRow>()([
    'id', 'digest', 'user_code_digest', 'client_id', 'scope', 'audience', 'family_id', 'status', 'user_id', 'poll_interval',
    'last_polled_at', 'issued_at', 'expires_at', 'consumed_at',
  ]),
};

type InsertableTable = Exclude<keyof typeof COLUMNS, 'portcullis_clients'>;

/** An insert of a whole row, its values read by column name from the row its mapper made. */
function insertRow<T extends InsertableTable>(db: Kysely<Database>, table: T): PreparedStatement<Insertable<Database[T]>> {
  type Row = Insertable<Database[T]>;
  const columns = COLUMNS[table] as readonly string[] as readonly (keyof Row & string)[];
  // The table varies, so the typed schema cannot follow; COLUMNS is checked against it instead.
  const untyped = db as unknown as Kysely<Record<string, Record<string, unknown>>>;
  return new PreparedStatement<Row>((param) =>
    untyped
      .insertInto(table)
      .values(Object.fromEntries(columns.map((column) => [column, param((row: Row) => row[column])])))
      .compile(),
  );
}

/** The tokens a code's redemption buys: the refresh token only for clients allowed to refresh. */
export interface RedemptionRows {
  access: NewAccessTokenRow;
  refresh: NewRefreshTokenRow | null;
}

/** A statement whose one value is a key: a lookup by id, digest or token. */
const byKey = <Row>(build: (key: string) => CompiledQuery<Row>) =>
  new PreparedStatement<string, Row>((param) => build(param((key) => key)));

/** An update of the row(s) with a key, at an instant: consumption and revocation. */
export interface KeyAt {
  key: string;
  now: number;
}
const byKeyAt = <Row>(build: (key: string, now: number) => CompiledQuery<Row>) =>
  new PreparedStatement<KeyAt, Row>((param) => build(param((args) => args.key), param((args) => args.now)));

export function prepareStorageStatements(db: Kysely<Database>, capabilities: Capabilities) {
  return {
    findClient: byKey((id) => db.selectFrom('portcullis_clients').select(COLUMNS.portcullis_clients).where('id', '=', id).compile()),
    findAccessToken: byKey((digest) =>
      db.selectFrom('portcullis_access_tokens').select(COLUMNS.portcullis_access_tokens).where('digest', '=', digest).compile(),
    ),
    findRefreshToken: byKey((digest) =>
      db.selectFrom('portcullis_refresh_tokens').select(COLUMNS.portcullis_refresh_tokens).where('digest', '=', digest).compile(),
    ),
    findAuthorizationCode: byKey((digest) =>
      db.selectFrom('portcullis_authorization_codes').select(COLUMNS.portcullis_authorization_codes).where('digest', '=', digest).compile(),
    ),
    findRequestToken: byKey((token) =>
      db.selectFrom('portcullis_oauth1_request_tokens').select(COLUMNS.portcullis_oauth1_request_tokens).where('token', '=', token).compile(),
    ),
    findOAuth1AccessToken: byKey((token) =>
      db.selectFrom('portcullis_oauth1_access_tokens').select(COLUMNS.portcullis_oauth1_access_tokens).where('token', '=', token).compile(),
    ),

    insertAuthorizationCode: insertRow(db, 'portcullis_authorization_codes'),
    insertAccessToken: insertRow(db, 'portcullis_access_tokens'),
    insertRefreshToken: insertRow(db, 'portcullis_refresh_tokens'),
    insertRequestToken: insertRow(db, 'portcullis_oauth1_request_tokens'),
    insertOAuth1AccessToken: insertRow(db, 'portcullis_oauth1_access_tokens'),
    insertNonce: insertRow(db, 'portcullis_oauth1_nonces'),

    /** Consumption by digest: only one caller moves consumed_at from NULL. */
    consumeAuthorizationCode: byKeyAt((digest, now) =>
      db
        .updateTable('portcullis_authorization_codes')
        .set({ consumed_at: now })
        .where('digest', '=', digest)
        .where('consumed_at', 'is', null)
        .compile(),
    ),
    /** The same, answering with the row it consumed, where the database has `UPDATE ... RETURNING`. */
    claimAuthorizationCode: capabilities.returning
      ? byKeyAt((digest, now) =>
          db
            .updateTable('portcullis_authorization_codes')
            .set({ consumed_at: now })
            .where('digest', '=', digest)
            .where('consumed_at', 'is', null)
            .returning(COLUMNS.portcullis_authorization_codes)
            .compile(),
        )
      : null,
    /** Redemption's decision: only one caller moves consumed_at from NULL. */
    redeemAuthorizationCode: byKeyAt((id, now) =>
      db
        .updateTable('portcullis_authorization_codes')
        .set({ consumed_at: now })
        .where('id', '=', id)
        .where('consumed_at', 'is', null)
        .compile(),
    ),
    /** Rotation's decision: only one caller moves consumed_at from NULL on a live token. */
    consumeRefreshToken: byKeyAt((id, now) =>
      db
        .updateTable('portcullis_refresh_tokens')
        .set({ consumed_at: now })
        .where('id', '=', id)
        .where('consumed_at', 'is', null)
        .where('revoked_at', 'is', null)
        .compile(),
    ),
    consumeRequestToken: byKeyAt((token, now) =>
      db
        .updateTable('portcullis_oauth1_request_tokens')
        .set({ consumed_at: now })
        .where('token', '=', token)
        .where('consumed_at', 'is', null)
        .compile(),
    ),
    authorizeRequestToken: new PreparedStatement<{ token: string; userId: string; verifierDigest: string; scope: string }>(
      (param) =>
        db
          .updateTable('portcullis_oauth1_request_tokens')
          .set({
            user_id: param((args) => args.userId),
            verifier_digest: param((args) => args.verifierDigest),
            scope: param((args) => args.scope),
          })
          .where('token', '=', param((args) => args.token))
          .where('user_id', 'is', null)
          .where('verifier_digest', 'is', null)
          .where('consumed_at', 'is', null)
          .compile(),
    ),
    revokeAccessToken: byKeyAt((id, now) =>
      db
        .updateTable('portcullis_access_tokens')
        .set({ revoked_at: now })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .compile(),
    ),
  };
}

export type StorageStatements = ReturnType<typeof prepareStorageStatements>;

