import { mysqlProcedureMigration, STRING } from './0003-mysql-write-procedures.js';
import { declareRow, type Columns } from './0005-mysql-one-step-exchanges.js';

// FROZEN once released. MySQL only, following 0003's conventions: the port's
// findOAuth1AccessTokenRecordingNonce. An OAuth 1.0a signed request looked its access token up,
// then recorded its nonce: two round trips. The procedure reads the token by its unique key and,
// only when it is the signing client's, inserts the nonce in the same CALL. The nonces table's
// primary key is still the replay check: a duplicate key there means the nonce was seen before.
// The core checks the signature afterwards and deletes the nonce again when it refuses the
// request (forgetNonce, a plain DELETE).

export const NONCE_PROCEDURES = ['portcullis_find_oauth1_access_token_recording_nonce'] as const;

const OAUTH1_ACCESS_TOKEN_COLUMNS: Columns = [
  ['id', `varchar(64) ${STRING}`],
  ['token', `varchar(128) ${STRING}`],
  ['secret_encrypted', `text ${STRING}`],
  ['client_id', `varchar(128) ${STRING}`],
  ['user_id', `varchar(255) ${STRING}`],
  ['scope', `text ${STRING}`],
  ['issued_at', 'bigint'],
  ['expires_at', 'bigint'],
  ['revoked_at', 'bigint'],
];

const names = OAUTH1_ACCESS_TOKEN_COLUMNS.map(([name]) => name);

// No transaction of its own: the SELECT is a plain read, and the INSERT commits alone, as
// recordNonce's did. ER_DUP_ENTRY (1062) on the nonce's key is the answer "seen before"; any other
// error reaches the driver as it is.
const FIND_RECORDING_NONCE = `
create procedure portcullis_find_oauth1_access_token_recording_nonce(
  in p_token varchar(128) ${STRING},
  in p_client_id varchar(128) ${STRING},
  in p_nonce_key varchar(64) ${STRING},
  in p_expires_at bigint)
modifies sql data sql security invoker
begin
  ${declareRow(OAUTH1_ACCESS_TOKEN_COLUMNS)}
  declare v_nonce_recorded tinyint default 0;
  declare continue handler for not found set v_id = null;
  select ${names.join(', ')}
    into ${names.map((name) => `v_${name}`).join(', ')}
    from portcullis_oauth1_access_tokens where token = p_token;
  if v_id is not null and v_client_id = p_client_id then
    begin
      declare continue handler for 1062 set v_nonce_recorded = 0;
      set v_nonce_recorded = 1;
      insert into portcullis_oauth1_nonces (nonce_key, client_id, expires_at) values (p_nonce_key, p_client_id, p_expires_at);
    end;
  end if;
  select ${names.map((name) => `v_${name} as ${name}`).join(', ')}, v_nonce_recorded as nonce_recorded;
end`;

export const mysqlOAuth1NonceProcedure = mysqlProcedureMigration(NONCE_PROCEDURES, [FIND_RECORDING_NONCE]);
