import { mysqlProcedureMigration, ON_ERROR_UNDO_AND_RESIGNAL, STRING } from './0003-mysql-write-procedures.js';

// FROZEN once released. MySQL only, following 0003's conventions: 0006's token lookup recording a
// nonce, for a group of signed requests in one CALL (the store's grouped calls,
// `mysql-grouped-calls.ts`).
//
// The group comes as a JSON array, one object per request: the access token shown, the signing
// client, the nonce's key and expiry. In one transaction the procedure inserts the nonce of each
// request whose token is the signing client's (a cursor over the group joined to the tokens on
// their unique key), one INSERT each so that a duplicate key, "seen before", fails that nonce
// alone, as it does in 0006; a nonce shown twice in the group is recorded for the first showing
// only. It answers with the tokens found, each with the request's position in the group (`n`)
// and whether its nonce was recorded, and commits last: an error anywhere, the answer included,
// rolls the whole group back, so the store may run its requests again one by one.

export const GROUPED_NONCE_PROCEDURES = ['portcullis_find_oauth1_access_tokens_recording_nonces'] as const;

const REQUESTS = `json_table(p_requests, '$[*]' columns(
      n for ordinality,
      token varchar(128) ${STRING} path '$.token',
      client_id varchar(128) ${STRING} path '$.client_id',
      nonce_key varchar(64) ${STRING} path '$.nonce_key',
      expires_at bigint path '$.expires_at')) as e
    join portcullis_oauth1_access_tokens as t on t.token = e.token`;

// v_recorded holds a '0' or '1' per request, by position.
const FIND_RECORDING_NONCES = `
create procedure portcullis_find_oauth1_access_tokens_recording_nonces(in p_requests longtext character set utf8mb4)
modifies sql data sql security invoker
begin
  declare v_done tinyint default 0;
  declare v_n int;
  declare v_nonce_key varchar(64) ${STRING};
  declare v_client_id varchar(128) ${STRING};
  declare v_expires_at bigint;
  declare v_recorded text character set ascii default repeat('0', json_length(p_requests));
  declare eligible cursor for
    select e.n, e.nonce_key, e.client_id, e.expires_at from ${REQUESTS}
    where t.client_id = e.client_id;
  declare continue handler for not found set v_done = 1;
  ${ON_ERROR_UNDO_AND_RESIGNAL}
  start transaction;
  open eligible;
  record_nonces: loop
    fetch eligible into v_n, v_nonce_key, v_client_id, v_expires_at;
    if v_done = 1 then
      leave record_nonces;
    end if;
    begin
      declare continue handler for 1062 set v_recorded = insert(v_recorded, v_n, 1, '0');
      set v_recorded = insert(v_recorded, v_n, 1, '1');
      insert into portcullis_oauth1_nonces (nonce_key, client_id, expires_at) values (v_nonce_key, v_client_id, v_expires_at);
    end;
  end loop;
  close eligible;
  select e.n, t.*, substring(v_recorded, e.n, 1) as nonce_recorded from ${REQUESTS};
  commit;
end`;

export const mysqlGroupedNonceRecords = mysqlProcedureMigration(GROUPED_NONCE_PROCEDURES, [FIND_RECORDING_NONCES]);
