import { sql } from 'kysely';
import type { Migration } from 'kysely';
import { isMysql } from '../dialect.js';
import type { AnyKysely } from '../dialect.js';

// FROZEN once released: a change to a procedure is a new migration that replaces it.
//
// On MySQL every statement is a round trip, so the atomic writes of the request path run as one
// CALL each instead of BEGIN, UPDATE, INSERT, INSERT, COMMIT. On SQLite a statement is a function
// call, not a round trip: this migration does nothing there and the store keeps its transactions.
//
// Each procedure:
// - is SQL SECURITY INVOKER: it runs with the caller's privileges (which already cover these
//   tables), never with those of the account that migrated, which may be gone later;
// - declares its text parameters utf8mb4 with the tables' binary collation, so neither the
//   database's default character set nor its default collation changes what is stored or
//   matched (comparing a column to a parameter of another collation is an error on MySQL);
// - rolls back and RESIGNALs on any SQL exception, so a duplicate key, a deadlock or a lock wait
//   timeout leaves nothing written and reaches the driver as the original error (same errno and
//   SQLSTATE), which the store classifies and retries as before.

export const STRING = 'character set utf8mb4 collate utf8mb4_bin';

/** Columns of the token tables in the order the procedures take them (after 0001's types). */
export const ACCESS_TOKEN_COLUMNS = [
  ['id', `varchar(64) ${STRING}`],
  ['digest', `varchar(64) ${STRING}`],
  ['client_id', `varchar(128) ${STRING}`],
  ['user_id', `varchar(255) ${STRING}`],
  ['scope', `text ${STRING}`],
  ['family_id', `varchar(64) ${STRING}`],
  ['issued_at', 'bigint'],
  ['expires_at', 'bigint'],
  ['revoked_at', 'bigint'],
] as const;
export const REFRESH_TOKEN_COLUMNS = [...ACCESS_TOKEN_COLUMNS.slice(0, 8), ['consumed_at', 'bigint'], ['revoked_at', 'bigint']] as const;

/** The argument order of the access token's and the refresh token's columns in the CALLs. */
export const ACCESS_TOKEN_ARGUMENTS = ACCESS_TOKEN_COLUMNS.map(([name]) => name);
export const REFRESH_TOKEN_ARGUMENTS = REFRESH_TOKEN_COLUMNS.map(([name]) => name);

export const PROCEDURES = [
  'portcullis_save_tokens',
  'portcullis_rotate_refresh_token',
  'portcullis_consume_authorization_code',
] as const;

// Parameters carry a prefix: inside a routine a parameter named like a column would shadow it.
export const declare = (prefix: string, columns: readonly (readonly [string, string])[]) =>
  columns.map(([name, type]) => `in ${prefix}_${name} ${type}`).join(',\n  ');
export const insert = (table: string, prefix: string, columns: readonly (readonly [string, string])[]) =>
  `insert into ${table} (${columns.map(([name]) => name).join(', ')})\n` +
  `    values (${columns.map(([name]) => `${prefix}_${name}`).join(', ')});`;

export const ON_ERROR_UNDO_AND_RESIGNAL = 'declare exit handler for sqlexception begin rollback; resignal; end;';

const SAVE_TOKENS = `
create procedure portcullis_save_tokens(
  ${declare('a', ACCESS_TOKEN_COLUMNS)},
  ${declare('r', REFRESH_TOKEN_COLUMNS)})
modifies sql data sql security invoker
begin
  ${ON_ERROR_UNDO_AND_RESIGNAL}
  start transaction;
  ${insert('portcullis_access_tokens', 'a', ACCESS_TOKEN_COLUMNS)}
  ${insert('portcullis_refresh_tokens', 'r', REFRESH_TOKEN_COLUMNS)}
  commit;
end`;

// The conditional UPDATE decides the winner, as in the store's transaction; ROW_COUNT() is the
// rows changed or, with mysql2's CLIENT_FOUND_ROWS, matched: the same here, since every matched row
// has consumed_at NULL and is set to a non-NULL instant.
const ROTATE_REFRESH_TOKEN = `
create procedure portcullis_rotate_refresh_token(
  in p_refresh_token_id varchar(64) ${STRING},
  in p_now bigint,
  ${declare('a', ACCESS_TOKEN_COLUMNS)},
  ${declare('r', REFRESH_TOKEN_COLUMNS)})
modifies sql data sql security invoker
begin
  ${ON_ERROR_UNDO_AND_RESIGNAL}
  start transaction;
  update portcullis_refresh_tokens set consumed_at = p_now
    where id = p_refresh_token_id and consumed_at is null and revoked_at is null;
  if row_count() = 0 then
    rollback;
    select 0 as rotated;
  else
    ${insert('portcullis_access_tokens', 'a', ACCESS_TOKEN_COLUMNS)}
    ${insert('portcullis_refresh_tokens', 'r', REFRESH_TOKEN_COLUMNS)}
    commit;
    select 1 as rotated;
  end if;
end`;

// Two autocommitted statements as before (the UPDATE decides, the SELECT reads the row whoever
// won), in one round trip; consumed_by_call says whether this call's UPDATE changed the row.
const CONSUME_AUTHORIZATION_CODE = `
create procedure portcullis_consume_authorization_code(
  in p_digest varchar(64) ${STRING},
  in p_now bigint)
modifies sql data sql security invoker
begin
  declare v_consumed int default 0;
  update portcullis_authorization_codes set consumed_at = p_now
    where digest = p_digest and consumed_at is null;
  set v_consumed = row_count();
  select portcullis_authorization_codes.*, v_consumed as consumed_by_call
    from portcullis_authorization_codes where digest = p_digest;
end`;

/**
 * A migration of MySQL procedures (nothing on SQLite): up drops `names` first, so a run that failed
 * half-way (one procedure created) can simply run again, then creates each of `bodies`; down drops
 * `names`. 0003 to 0008 are each one of these.
 */
export function mysqlProcedureMigration(names: readonly string[], bodies: readonly string[]): Migration {
  const drop = async (db: AnyKysely): Promise<void> => {
    for (const name of names) await sql`drop procedure if exists ${sql.id(name)}`.execute(db);
  };
  return {
    async up(db) {
      if (!isMysql(db)) return;
      await drop(db);
      for (const body of bodies) await sql.raw(body).execute(db);
    },
    async down(db) {
      if (!isMysql(db)) return;
      await drop(db);
    },
  };
}

export const mysqlWriteProcedures = mysqlProcedureMigration(PROCEDURES, [SAVE_TOKENS, ROTATE_REFRESH_TOKEN, CONSUME_AUTHORIZATION_CODE]);
