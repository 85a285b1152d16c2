import {
  ACCESS_TOKEN_COLUMNS,
  declare,
  insert,
  mysqlProcedureMigration,
  ON_ERROR_UNDO_AND_RESIGNAL,
  REFRESH_TOKEN_COLUMNS,
  STRING,
} from './0003-mysql-write-procedures.js';

// FROZEN once released. MySQL only, as 0003 (whose conventions it follows): a code's redemption,
// the conditional UPDATE that consumes it and the inserts of the tokens it buys, in one
// transaction and one round trip. The refresh token is optional (p_with_refresh).

export const REDEEM_PROCEDURE = 'portcullis_redeem_authorization_code';

const REDEEM_AUTHORIZATION_CODE = `
create procedure ${REDEEM_PROCEDURE}(
  in p_code_id varchar(64) ${STRING},
  in p_now bigint,
  in p_with_refresh tinyint,
  ${declare('a', ACCESS_TOKEN_COLUMNS)},
  ${declare('r', REFRESH_TOKEN_COLUMNS)})
modifies sql data sql security invoker
begin
  ${ON_ERROR_UNDO_AND_RESIGNAL}
  start transaction;
  update portcullis_authorization_codes set consumed_at = p_now
    where id = p_code_id and consumed_at is null;
  if row_count() = 0 then
    rollback;
    select 0 as redeemed;
  else
    ${insert('portcullis_access_tokens', 'a', ACCESS_TOKEN_COLUMNS)}
    if p_with_refresh = 1 then
      ${insert('portcullis_refresh_tokens', 'r', REFRESH_TOKEN_COLUMNS)}
    end if;
    commit;
    select 1 as redeemed;
  end if;
end`;

export const mysqlRedeemProcedure = mysqlProcedureMigration([REDEEM_PROCEDURE], [REDEEM_AUTHORIZATION_CODE]);
