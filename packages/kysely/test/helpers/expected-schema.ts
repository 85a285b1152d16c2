/** The schema at the latest migration, as the tests expect to find it in the catalog. */

const tokenIndexes = (table: string, family: boolean) => ({
  [`${table}_digest_uq`]: { columns: ['digest'], unique: true },
  ...(family ? { [`${table}_family_id_idx`]: { columns: ['family_id'], unique: false } } : {}),
  [`${table}_client_id_user_id_idx`]: { columns: ['client_id', 'user_id'], unique: false },
  [`${table}_user_id_idx`]: { columns: ['user_id'], unique: false },
  [`${table}_expires_at_idx`]: { columns: ['expires_at'], unique: false },
});

export interface ExpectedTable {
  columns: string[];
  primaryKey: string[];
  indexes: Record<string, { columns: string[]; unique: boolean }>;
}

export const EXPECTED_SCHEMA: Record<string, ExpectedTable> = {
  portcullis_clients: {
    columns: [
      'id', 'name', 'type', 'secret_digest', 'redirect_uris', 'scopes', 'resources', 'grant_types', 'response_types', 'owner_id',
      'oauth1_enabled', 'oauth1_secret_encrypted', 'rsa_public_key', 'disabled', 'created_at', 'updated_at', 'origin',
      'registration_token_digest', 'metadata', 'unused_expires_at', 'last_used_at', 'post_logout_redirect_uris',
      'id_token_signed_response_alg', 'skip_consent', 'access_token_ttl', 'refresh_token_ttl', 'authorization_code_ttl',
    ],
    primaryKey: ['id'],
    indexes: {
      portcullis_clients_created_at_idx: { columns: ['created_at'], unique: false },
      portcullis_clients_unused_expires_at_idx: { columns: ['unused_expires_at'], unique: false },
    },
  },
  portcullis_scopes: { columns: ['name', 'description'], primaryKey: ['name'], indexes: {} },
  portcullis_authorization_codes: {
    columns: [
      'id', 'digest', 'client_id', 'user_id', 'redirect_uri', 'scope', 'code_challenge', 'code_challenge_method',
      'audience', 'family_id', 'issued_at', 'expires_at', 'consumed_at', 'nonce', 'auth_time',
    ],
    primaryKey: ['id'],
    indexes: tokenIndexes('portcullis_authorization_codes', false),
  },
  portcullis_access_tokens: {
    columns: ['id', 'digest', 'client_id', 'user_id', 'scope', 'audience', 'family_id', 'issued_at', 'expires_at', 'revoked_at'],
    primaryKey: ['id'],
    indexes: tokenIndexes('portcullis_access_tokens', true),
  },
  portcullis_refresh_tokens: {
    columns: [
      'id', 'digest', 'client_id', 'user_id', 'scope', 'audience', 'family_id', 'issued_at', 'expires_at', 'consumed_at',
      'revoked_at', 'auth_time', 'family_issued_at', 'reissue_count',
    ],
    primaryKey: ['id'],
    indexes: tokenIndexes('portcullis_refresh_tokens', true),
  },
  portcullis_oauth1_request_tokens: {
    columns: [
      'id', 'token', 'secret_encrypted', 'client_id', 'callback', 'scope', 'user_id', 'verifier_digest', 'issued_at',
      'expires_at', 'consumed_at',
    ],
    primaryKey: ['id'],
    indexes: {
      portcullis_oauth1_request_tokens_token_uq: { columns: ['token'], unique: true },
      portcullis_oauth1_request_tokens_expires_at_idx: { columns: ['expires_at'], unique: false },
    },
  },
  portcullis_oauth1_access_tokens: {
    columns: ['id', 'token', 'secret_encrypted', 'client_id', 'user_id', 'scope', 'issued_at', 'expires_at', 'revoked_at'],
    primaryKey: ['id'],
    indexes: {
      portcullis_oauth1_access_tokens_token_uq: { columns: ['token'], unique: true },
      portcullis_oauth1_access_tokens_client_id_user_id_idx: { columns: ['client_id', 'user_id'], unique: false },
      portcullis_oauth1_access_tokens_user_id_idx: { columns: ['user_id'], unique: false },
      portcullis_oauth1_access_tokens_expires_at_idx: { columns: ['expires_at'], unique: false },
    },
  },
  portcullis_oauth1_nonces: {
    columns: ['nonce_key', 'client_id', 'expires_at'],
    primaryKey: ['nonce_key'],
    indexes: { portcullis_oauth1_nonces_expires_at_idx: { columns: ['expires_at'], unique: false } },
  },
  portcullis_signing_keys: {
    columns: ['kid', 'alg', 'public_jwk', 'private_jwk_encrypted', 'created_at', 'activates_at', 'retires_at', 'expires_at'],
    primaryKey: ['kid'],
    indexes: { portcullis_signing_keys_expires_at_idx: { columns: ['expires_at'], unique: false } },
  },
  portcullis_consents: {
    columns: ['user_id', 'client_id', 'scope', 'audience', 'created_at', 'updated_at'],
    primaryKey: ['user_id', 'client_id'],
    indexes: { portcullis_consents_client_id_idx: { columns: ['client_id'], unique: false } },
  },
  portcullis_device_codes: {
    columns: [
      'id', 'digest', 'user_code_digest', 'client_id', 'scope', 'audience', 'family_id', 'status', 'user_id', 'poll_interval',
      'last_polled_at', 'issued_at', 'expires_at', 'consumed_at',
    ],
    primaryKey: ['id'],
    indexes: {
      portcullis_device_codes_digest_uq: { columns: ['digest'], unique: true },
      portcullis_device_codes_user_code_digest_uq: { columns: ['user_code_digest'], unique: true },
      portcullis_device_codes_client_id_user_id_idx: { columns: ['client_id', 'user_id'], unique: false },
      portcullis_device_codes_expires_at_idx: { columns: ['expires_at'], unique: false },
    },
  },
};

/** Kysely's Migrator makes these; the test checks they carry Portcullis' own names. */
export const MIGRATION_TABLES = ['portcullis_migration', 'portcullis_migration_lock'];
