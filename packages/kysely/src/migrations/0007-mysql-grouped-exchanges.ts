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
// the group to a table on a unique index (eq_ref), and none changes what the decision reads until
// the UPDATE, the last, so each statement sees the same decision. Any error rolls the whole group
// back.

export const GROUPED_EXCHANGE_PROCEDURES = [
  'portcullis_rotate_refresh_tokens_by_digests',
  'portcullis_redeem_authorization_codes_by_digests',
] as const;

/** The group's fields, each a JSON_TABLE column read from the key of its name. */
const FIELDS = {
  digest: `varchar(64) ${STRING}`,
  client_id: `varchar(128) ${STRING}`,
  now: 'bigint',
  redirect_uri: `text ${STRING}`,
  code_challenge: `varchar(128) ${STRING}`,
  access_id: `varchar(64) ${STRING}`,
  access_digest: `varchar(64) ${STRING}`,
  access_issued_at: 'bigint',
  access_expires_at: 'bigint',
  refresh_id: `varchar(64) ${STRING}`,
  refresh_digest: `varchar(64) ${STRING}`,
  refresh_issued_at: 'bigint',
  refresh_expires_at: 'bigint',
} as const;
type Field = keyof typeof FIELDS;

/**
 * The group as rows `e`, with only the fields a statement reads: JSON_TABLE finds every column's
 * path again in each object, once per statement, so it costs by the column.
 */
const group = (fields: readonly Field[]) =>
  `json_table(p_exchanges, '$[*]' columns(${fields.map((field) => `${field} ${FIELDS[field]} path '$.${field}'`).join(', ')})) as e`;

const fresh = (token: 'access' | 'refresh') => [`${token}_id`, `${token}_digest`, `${token}_issued_at`, `${token}_expires_at`] as const;

function groupedExchangeProcedure(spec: { name: string; table: string; decides: readonly Field[]; decision: string }): string {
  const exchanged = (fields: readonly Field[]) => `${group([...spec.decides, ...fields])}
    join ${spec.table} as t on t.digest = e.digest`;
  // The refresh token's grant comes from the access token this CALL just inserted for the same
  // exchange (found by its fresh id and digest), not from the exchanged table: a rotation inserts
  // into that table, and MariaDB would first copy what it reads from it into a temporary table.
  return `
create procedure ${spec.name}(in p_exchanges longtext character set utf8mb4)
modifies sql data sql security invoker
begin
  ${ON_ERROR_UNDO_AND_RESIGNAL}
  start transaction;
  select t.*, (${spec.decision}) as exchanged
    from ${exchanged([])}
    for update;
  insert into portcullis_access_tokens (id, digest, client_id, user_id, scope, family_id, issued_at, expires_at, revoked_at)
    select e.access_id, e.access_digest, t.client_id, t.user_id, t.scope, t.family_id, e.access_issued_at, e.access_expires_at, null
    from ${exchanged(fresh('access'))}
    where ${spec.decision};
  insert into portcullis_refresh_tokens (id, digest, client_id, user_id, scope, family_id, issued_at, expires_at, consumed_at, revoked_at)
    select e.refresh_id, e.refresh_digest, a.client_id, a.user_id, a.scope, a.family_id, e.refresh_issued_at, e.refresh_expires_at, null, null
    from ${group(['access_id', 'access_digest', ...fresh('refresh')])}
    join portcullis_access_tokens as a on a.id = e.access_id and a.digest = e.access_digest
    where e.refresh_id is not null;
  update ${exchanged([])}
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
  decides: ['digest', 'client_id', 'now'],
  decision: `${LIVE} and t.revoked_at is null`,
});

const REDEEM_BY_DIGESTS = groupedExchangeProcedure({
  name: 'portcullis_redeem_authorization_codes_by_digests',
  table: 'portcullis_authorization_codes',
  decides: ['digest', 'client_id', 'now', 'redirect_uri', 'code_challenge'],
  decision: `${LIVE} and t.redirect_uri <=> e.redirect_uri
      and (case when e.code_challenge is null then t.code_challenge is null
           else t.code_challenge_method = 'S256' and t.code_challenge = e.code_challenge end)`,
});

export const mysqlGroupedExchanges = mysqlProcedureMigration(GROUPED_EXCHANGE_PROCEDURES, [ROTATE_BY_DIGESTS, REDEEM_BY_DIGESTS]);
