import { mysqlProcedureMigration, ON_ERROR_UNDO_AND_RESIGNAL, STRING } from './0003-mysql-write-procedures.js';

// FROZEN once released. MySQL only, following 0003's conventions: 0005's one-step exchanges for a
// group of them in one CALL (the store's grouped calls, `mysql-grouped-calls.ts`).
//
// The group comes as a JSON array, one object per exchange, read with JSON_TABLE: the digest
// shown, what the grant must match, the instant, and the fresh tokens' ids, digests and times.
// The digests of one group are distinct (the store sends a repeated digest after the group). In
// one transaction the procedure answers with the rows found, locked, each with whether it is
// exchanged under 0005's conditions; then inserts the exchanged rows' fresh tokens with one
// INSERT ... SELECT per table, consumes them with one UPDATE, and commits. Every statement joins
// the group to the table on its unique digest index (eq_ref), and none changes what the decision
// reads until the UPDATE, the last, so each statement sees the same decision. Any error rolls
// the whole group back.

export const GROUPED_EXCHANGE_PROCEDURES = [
  'portcullis_rotate_refresh_tokens_by_digests',
  'portcullis_redeem_authorization_codes_by_digests',
] as const;

const FRESH_COLUMNS = ['access', 'refresh']
  .map(
    (token) => `
      ${token}_id varchar(64) ${STRING} path '$.${token}_id',
      ${token}_digest varchar(64) ${STRING} path '$.${token}_digest',
      ${token}_issued_at bigint path '$.${token}_issued_at',
      ${token}_expires_at bigint path '$.${token}_expires_at'`,
  )
  .join(',');

/** The group as rows `e`, joined to the exchanged table as `t` on the digest. */
const groupJoin = (table: string) => `json_table(p_exchanges, '$[*]' columns(
      digest varchar(64) ${STRING} path '$.digest',
      client_id varchar(128) ${STRING} path '$.client_id',
      now bigint path '$.now',
      redirect_uri text ${STRING} path '$.redirect_uri',
      code_challenge varchar(128) ${STRING} path '$.code_challenge',${FRESH_COLUMNS})) as e
    join ${table} as t on t.digest = e.digest`;

const TOKEN_INSERT = (token: 'access' | 'refresh', table: string, extra: string) => `
    insert into portcullis_${token}_tokens (id, digest, client_id, user_id, scope, family_id, issued_at, expires_at, ${extra})
      select e.${token}_id, e.${token}_digest, t.client_id, t.user_id, t.scope, t.family_id, e.${token}_issued_at,
        e.${token}_expires_at, ${extra.split(', ').map(() => 'null').join(', ')}
      from ${groupJoin(table)}`;

function groupedExchangeProcedure(spec: { name: string; table: string; decision: string }): string {
  return `
create procedure ${spec.name}(in p_exchanges longtext character set utf8mb4)
modifies sql data sql security invoker
begin
  ${ON_ERROR_UNDO_AND_RESIGNAL}
  start transaction;
  select t.*, (${spec.decision}) as exchanged
    from ${groupJoin(spec.table)}
    for update;
  ${TOKEN_INSERT('access', spec.table, 'revoked_at')}
    where ${spec.decision};
  ${TOKEN_INSERT('refresh', spec.table, 'consumed_at, revoked_at')}
    where ${spec.decision} and e.refresh_id is not null;
  update ${groupJoin(spec.table)}
    set t.consumed_at = e.now
    where ${spec.decision};
  commit;
end`;
}

// 0005's conditions, row by row: the client's, unconsumed, unexpired at the exchange's instant;
// a refresh token unrevoked; a code's redirect URI (<=>: both NULL is equal) and S256 challenge.
const LIVE = 't.client_id = e.client_id and t.consumed_at is null and t.expires_at > e.now';

const ROTATE_BY_DIGESTS = groupedExchangeProcedure({
  name: 'portcullis_rotate_refresh_tokens_by_digests',
  table: 'portcullis_refresh_tokens',
  decision: `${LIVE} and t.revoked_at is null`,
});

const REDEEM_BY_DIGESTS = groupedExchangeProcedure({
  name: 'portcullis_redeem_authorization_codes_by_digests',
  table: 'portcullis_authorization_codes',
  decision: `${LIVE} and t.redirect_uri <=> e.redirect_uri
      and (case when e.code_challenge is null then t.code_challenge is null
           else t.code_challenge_method = 'S256' and t.code_challenge = e.code_challenge end)`,
});

export const mysqlGroupedExchanges = mysqlProcedureMigration(GROUPED_EXCHANGE_PROCEDURES, [ROTATE_BY_DIGESTS, REDEEM_BY_DIGESTS]);
