import { sql } from 'kysely';
import type { CompiledQuery, Insertable, Kysely } from 'kysely';
import type { TokenFamily } from '@portcullis/core';
import type {
  Database,
  NewAccessTokenRow,
  NewAuthorizationCodeRow,
  NewOAuth1AccessTokenRow,
  NewOAuth1NonceRow,
  NewOAuth1RequestTokenRow,
  NewRefreshTokenRow,
} from './database.js';
import { ACCESS_TOKEN_ARGUMENTS, REFRESH_TOKEN_ARGUMENTS } from './migrations/0003-mysql-write-procedures.js';
import { PreparedStatement } from './prepared-statement.js';
import type { Param } from './prepared-statement.js';

// The statements of the request path, each built once per store. Every other operation (admin
// listings, revocation by filter, purge) varies in shape and is built per call as before.

/** Every column of a table, checked complete, in a fixed order: an insert's column list. */
const columnsOf =
  <Row>() =>
  <const List extends readonly (keyof Row & string)[]>(
    list: List & (Exclude<keyof Row, List[number]> extends never ? unknown : { missing: Exclude<keyof Row, List[number]> }),
  ): List =>
    list;

const INSERT_COLUMNS = {
  portcullis_authorization_codes: columnsOf<NewAuthorizationCodeRow>()([
    'id', 'digest', 'client_id', 'user_id', 'redirect_uri', 'scope', 'code_challenge', 'code_challenge_method',
    'family_id', 'issued_at', 'expires_at', 'consumed_at',
  ]),
  portcullis_access_tokens: columnsOf<NewAccessTokenRow>()(ACCESS_TOKEN_ARGUMENTS),
  portcullis_refresh_tokens: columnsOf<NewRefreshTokenRow>()(REFRESH_TOKEN_ARGUMENTS),
  portcullis_oauth1_request_tokens: columnsOf<NewOAuth1RequestTokenRow>()([
    'id', 'token', 'secret_encrypted', 'client_id', 'callback', 'scope', 'user_id', 'verifier_digest', 'issued_at',
    'expires_at', 'consumed_at',
  ]),
  portcullis_oauth1_access_tokens: columnsOf<NewOAuth1AccessTokenRow>()([
    'id', 'token', 'secret_encrypted', 'client_id', 'user_id', 'scope', 'issued_at', 'expires_at', 'revoked_at',
  ]),
  portcullis_oauth1_nonces: columnsOf<NewOAuth1NonceRow>()(['nonce_key', 'client_id', 'expires_at']),
};

type InsertableTable = keyof typeof INSERT_COLUMNS;

/** An insert of a whole row, its values read by column name from the row its mapper made. */
function insertRow<T extends InsertableTable>(db: Kysely<Database>, table: T): PreparedStatement<Insertable<Database[T]>> {
  type Row = Insertable<Database[T]>;
  return new PreparedStatement<Row>((param) => insertValues(db, table, [(column) => param((row: Row) => row[column])]));
}

/**
 * An insert of several whole rows in one statement, per count of rows: MySQL's grouped
 * access-token inserts.
 */
function insertRows<T extends InsertableTable>(db: Kysely<Database>, table: T) {
  type Row = Insertable<Database[T]>;
  return perCount<readonly Row[], unknown>((count, param) =>
    insertValues(
      db,
      table,
      Array.from({ length: count }, (_, index) => (column: keyof Row & string) => param((rows: readonly Row[]) => rows[index]![column])),
    ),
  );
}

/** `INSERT INTO table (every column) VALUES (...), ...`: one function per row, giving its value of a column. */
function insertValues<T extends InsertableTable>(
  db: Kysely<Database>,
  table: T,
  rows: ((column: keyof Insertable<Database[T]> & string) => unknown)[],
) {
  const columns = INSERT_COLUMNS[table] as readonly string[] as readonly (keyof Insertable<Database[T]> & string)[];
  // The table varies, so the typed schema cannot follow; INSERT_COLUMNS is checked against it instead.
  const untyped = db as unknown as Kysely<Record<string, Record<string, unknown>>>;
  return untyped
    .insertInto(table)
    .values(rows.map((valueOf) => Object.fromEntries(columns.map((column) => [column, valueOf(column)]))))
    .compile();
}

/** The token pair of one issuance, as the inserts and the procedures take it. */
export interface TokenPairRows {
  access: NewAccessTokenRow;
  refresh: NewRefreshTokenRow;
}

/** The tokens a code's redemption buys: the refresh token only for clients allowed to refresh. */
export interface RedemptionRows {
  access: NewAccessTokenRow;
  refresh: NewRefreshTokenRow | null;
}

/** A statement whose one value is a key: a lookup by id, digest or token. */
const byKey = <Row>(build: (key: string) => CompiledQuery<Row>) =>
  new PreparedStatement<string, Row>((param) => build(param((key) => key)));

/**
 * A statement for a count of keys or rows, one per count, built on first use: the grouped
 * statements on MySQL carry as many as one turn of the event loop gathered.
 */
function perCount<Args, Row>(build: (count: number, param: Param<Args>) => CompiledQuery<Row>) {
  const statements = new Map<number, PreparedStatement<Args, Row>>();
  return (count: number): PreparedStatement<Args, Row> => {
    let statement = statements.get(count);
    if (statement === undefined) {
      statement = new PreparedStatement<Args, Row>((param) => build(count, param));
      statements.set(count, statement);
    }
    return statement;
  };
}

/** A lookup of the rows with any of some keys, per count of keys: the grouped lookups' `IN (...)`. */
const byKeys = <Row>(build: (keys: string[]) => CompiledQuery<Row>) =>
  perCount<readonly string[], Row>((count, param) => build(Array.from({ length: count }, (_, index) => param((keys) => keys[index]!))));

/** An update of the row(s) with a key, at an instant: consumption and revocation. */
export interface KeyAt {
  key: string;
  now: number;
}
const byKeyAt = <Row>(build: (key: string, now: number) => CompiledQuery<Row>) =>
  new PreparedStatement<KeyAt, Row>((param) => build(param((args) => args.key), param((args) => args.now)));

export function prepareStorageStatements(db: Kysely<Database>) {
  return {
    findClient: byKey((id) => db.selectFrom('portcullis_clients').selectAll().where('id', '=', id).compile()),
    findAccessToken: byKey((digest) =>
      db.selectFrom('portcullis_access_tokens').selectAll().where('digest', '=', digest).compile(),
    ),
    findRefreshToken: byKey((digest) =>
      db.selectFrom('portcullis_refresh_tokens').selectAll().where('digest', '=', digest).compile(),
    ),
    findAuthorizationCode: byKey((digest) =>
      db.selectFrom('portcullis_authorization_codes').selectAll().where('digest', '=', digest).compile(),
    ),
    findRequestToken: byKey((token) =>
      db.selectFrom('portcullis_oauth1_request_tokens').selectAll().where('token', '=', token).compile(),
    ),
    findOAuth1AccessToken: byKey((token) =>
      db.selectFrom('portcullis_oauth1_access_tokens').selectAll().where('token', '=', token).compile(),
    ),

    // The same lookups for several keys at once (MySQL's grouped lookups).
    findClients: byKeys((ids) => db.selectFrom('portcullis_clients').selectAll().where('id', 'in', ids).compile()),
    findAccessTokens: byKeys((digests) =>
      db.selectFrom('portcullis_access_tokens').selectAll().where('digest', 'in', digests).compile(),
    ),
    findRefreshTokens: byKeys((digests) =>
      db.selectFrom('portcullis_refresh_tokens').selectAll().where('digest', 'in', digests).compile(),
    ),
    findAuthorizationCodes: byKeys((digests) =>
      db.selectFrom('portcullis_authorization_codes').selectAll().where('digest', 'in', digests).compile(),
    ),
    findRequestTokens: byKeys((tokens) =>
      db.selectFrom('portcullis_oauth1_request_tokens').selectAll().where('token', 'in', tokens).compile(),
    ),
    findOAuth1AccessTokens: byKeys((tokens) =>
      db.selectFrom('portcullis_oauth1_access_tokens').selectAll().where('token', 'in', tokens).compile(),
    ),

    insertAuthorizationCode: insertRow(db, 'portcullis_authorization_codes'),
    insertAccessToken: insertRow(db, 'portcullis_access_tokens'),
    insertAccessTokens: insertRows(db, 'portcullis_access_tokens'),
    insertRefreshToken: insertRow(db, 'portcullis_refresh_tokens'),
    insertRequestToken: insertRow(db, 'portcullis_oauth1_request_tokens'),
    insertOAuth1AccessToken: insertRow(db, 'portcullis_oauth1_access_tokens'),
    insertNonce: insertRow(db, 'portcullis_oauth1_nonces'),

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

/**
 * SQLite: consuming a code is one `UPDATE ... RETURNING *` when it was live (SQLite 3.35+; the
 * bundled one is newer), the row itself being the answer. MySQL has no UPDATE ... RETURNING and
 * uses its procedure instead.
 */
export function prepareSqliteStatements(db: Kysely<Database>) {
  return {
    claimAuthorizationCode: byKeyAt((digest, now) =>
      db
        .updateTable('portcullis_authorization_codes')
        .set({ consumed_at: now })
        .where('digest', '=', digest)
        .where('consumed_at', 'is', null)
        .returningAll()
        .compile(),
    ),
  };
}

export type SqliteStatements = ReturnType<typeof prepareSqliteStatements>;

/** MySQL: the CALLs of migrations 0003 and 0004's procedures, one round trip per atomic write. */
export function prepareProcedureCalls(db: Kysely<Database>) {
  const tokenPair = <Args extends TokenPairRows>(param: Param<Args>) => [
    ...ACCESS_TOKEN_ARGUMENTS.map((column) => param((args) => args.access[column])),
    ...REFRESH_TOKEN_ARGUMENTS.map((column) => param((args) => args.refresh[column])),
  ];
  return {
    saveTokens: new PreparedStatement<TokenPairRows>((param) =>
      sql`call portcullis_save_tokens(${sql.join(tokenPair(param))})`.compile(db),
    ),
    rotateRefreshToken: new PreparedStatement<TokenPairRows & KeyAt>((param) =>
      sql`call portcullis_rotate_refresh_token(${sql.join([
        param((args) => args.key),
        param((args) => args.now),
        ...tokenPair(param),
      ])})`.compile(db),
    ),
    consumeAuthorizationCode: byKeyAt((digest, now) =>
      sql`call portcullis_consume_authorization_code(${sql.join([digest, now])})`.compile(db),
    ),
    // Without a refresh token its arguments are NULLs the procedure never inserts.
    redeemAuthorizationCode: new PreparedStatement<RedemptionRows & KeyAt>((param) =>
      sql`call portcullis_redeem_authorization_code(${sql.join([
        param((args) => args.key),
        param((args) => args.now),
        param((args) => (args.refresh === null ? 0 : 1)),
        ...ACCESS_TOKEN_ARGUMENTS.map((column) => param((args) => args.access[column])),
        ...REFRESH_TOKEN_ARGUMENTS.map((column) => param((args) => args.refresh?.[column] ?? null)),
      ])})`.compile(db),
    ),
  };
}

export type ProcedureCalls = ReturnType<typeof prepareProcedureCalls>;

/**
 * Revocation of a family's live rows in one token table. There is no index on the family: a
 * rotation would write its entry at a random place in it (the family's), a page per table, where
 * every other index of a token table takes new rows at its end. The family's rows are found through
 * their owner's (client, user) index instead. Replays are rare, so this is built per call.
 */
export function revokeFamilyRows(
  db: Kysely<Database>,
  table: 'portcullis_access_tokens' | 'portcullis_refresh_tokens',
  family: TokenFamily,
  now: number,
): CompiledQuery {
  const { familyId, clientId, userId } = family;
  return db
    .updateTable(table)
    .set({ revoked_at: now })
    .where('client_id', '=', clientId)
    .where('user_id', userId === null ? 'is' : '=', userId)
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .compile();
}
