import { mysqlProcedureMigration, ON_ERROR_UNDO_AND_RESIGNAL, REFRESH_TOKEN_COLUMNS, STRING } from './0003-mysql-write-procedures.js';

// FROZEN once released. MySQL only, following 0003's conventions: the port's one-step exchanges.
// The core sends the digest it was shown, what the grant must match, and the new tokens' ids,
// digests and times; the procedure consumes the code or refresh token only if it matches, saves
// the new tokens with the grant's client, user, scope and family, and answers with the row as it
// was found and whether this call exchanged it. A refresh or a code redemption is then one round
// trip instead of two (find, then exchange).
//
// Each reads the row by its unique digest with FOR UPDATE (a const lookup, which also makes a
// concurrent caller wait and then see it consumed), decides on the variables, and updates by
// primary key: every statement is a single-row lookup the optimizer settles at once, and the
// answer is built from the variables, with no second read.

export const ONE_STEP_PROCEDURES = [
  'portcullis_rotate_refresh_token_by_digest',
  'portcullis_redeem_authorization_code_by_digest',
] as const;

const CODE_COLUMNS = [
  ['id', `varchar(64) ${STRING}`],
  ['digest', `varchar(64) ${STRING}`],
  ['client_id', `varchar(128) ${STRING}`],
  ['user_id', `varchar(255) ${STRING}`],
  ['redirect_uri', `text ${STRING}`],
  ['scope', `text ${STRING}`],
  ['code_challenge', `varchar(128) ${STRING}`],
  ['code_challenge_method', `varchar(8) ${STRING}`],
  ['family_id', `varchar(64) ${STRING}`],
  ['issued_at', 'bigint'],
  ['expires_at', 'bigint'],
  ['consumed_at', 'bigint'],
] as const;

export type Columns = readonly (readonly [string, string])[];

/** A variable per column (`v_<column>`), the row read into them, and the row answered from them. */
export const declareRow = (columns: Columns) => columns.map(([name, type]) => `declare v_${name} ${type} default null;`).join('\n  ');
const readRow = (table: string, columns: Columns) =>
  `select ${columns.map(([name]) => name).join(', ')}\n    into ${columns.map(([name]) => `v_${name}`).join(', ')}\n` +
  `    from ${table} where digest = p_digest for update;`;
const answerRow = (columns: Columns) => `select ${columns.map(([name]) => `v_${name} as ${name}`).join(', ')}, v_exchanged as exchanged;`;

/** The new tokens' arguments, after each procedure's own: ids, digests and times. */
const FRESH_TOKENS = `
  in a_id varchar(64) ${STRING},
  in a_digest varchar(64) ${STRING},
  in a_issued_at bigint,
  in a_expires_at bigint,
  in r_id varchar(64) ${STRING},
  in r_digest varchar(64) ${STRING},
  in r_issued_at bigint,
  in r_expires_at bigint`;

const INSERT_ACCESS = `
    insert into portcullis_access_tokens (id, digest, client_id, user_id, scope, family_id, issued_at, expires_at, revoked_at)
      values (a_id, a_digest, v_client_id, v_user_id, v_scope, v_family_id, a_issued_at, a_expires_at, null);`;
const INSERT_REFRESH = `
    insert into portcullis_refresh_tokens (id, digest, client_id, user_id, scope, family_id, issued_at, expires_at, consumed_at, revoked_at)
      values (r_id, r_digest, v_client_id, v_user_id, v_scope, v_family_id, r_issued_at, r_expires_at, null, null);`;

/**
 * A one-step exchange: the row read by digest under lock; if it is the client's, unconsumed and
 * unexpired, and `matches` too, it is consumed by primary key and `inserts` save the new tokens;
 * the answer is the row as read, and whether this call exchanged it.
 */
function exchangeProcedure(spec: { name: string; parameters: string; table: string; columns: Columns; matches: string; inserts: string }): string {
  return `
create procedure ${spec.name}(
  in p_digest varchar(64) ${STRING},
  in p_client_id varchar(128) ${STRING},${spec.parameters}
  in p_now bigint,${FRESH_TOKENS})
modifies sql data sql security invoker
begin
  ${declareRow(spec.columns)}
  declare v_exchanged tinyint default 0;
  declare continue handler for not found set v_id = null;
  ${ON_ERROR_UNDO_AND_RESIGNAL}
  start transaction;
  ${readRow(spec.table, spec.columns)}
  if v_id is not null and v_client_id = p_client_id and v_consumed_at is null and v_expires_at > p_now
      and ${spec.matches} then
    update ${spec.table} set consumed_at = p_now where id = v_id;${spec.inserts}
    commit;
    set v_exchanged = 1;
  else
    rollback;
  end if;
  ${answerRow(spec.columns)}
end`;
}

// The core's checks for a refresh token: its client, neither consumed nor revoked, unexpired.
const ROTATE_BY_DIGEST = exchangeProcedure({
  name: 'portcullis_rotate_refresh_token_by_digest',
  parameters: '',
  table: 'portcullis_refresh_tokens',
  columns: REFRESH_TOKEN_COLUMNS,
  matches: 'v_revoked_at is null',
  inserts: `${INSERT_ACCESS}${INSERT_REFRESH}`,
});

// The core's checks for a code, as equalities on what it computed: its client, its redirect URI
// (<=>: both NULL is equal), and the S256 challenge of the verifier (NULL: the code must have
// none). A plain challenge never matches here; the core then redeems such a code by id.
const REDEEM_BY_DIGEST = exchangeProcedure({
  name: 'portcullis_redeem_authorization_code_by_digest',
  parameters: `
  in p_redirect_uri text ${STRING},
  in p_code_challenge varchar(128) ${STRING},
  in p_with_refresh tinyint,`,
  table: 'portcullis_authorization_codes',
  columns: CODE_COLUMNS,
  matches: `v_redirect_uri <=> p_redirect_uri
      and (case when p_code_challenge is null then v_code_challenge is null
           else v_code_challenge_method = 'S256' and v_code_challenge = p_code_challenge end)`,
  inserts: `${INSERT_ACCESS}
    if p_with_refresh = 1 then${INSERT_REFRESH}
    end if;`,
});

export const mysqlOneStepExchanges = mysqlProcedureMigration(ONE_STEP_PROCEDURES, [ROTATE_BY_DIGEST, REDEEM_BY_DIGEST]);
