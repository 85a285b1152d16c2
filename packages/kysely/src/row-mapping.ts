import type {
  AccessTokenRecord,
  AuthorizationCodeRecord,
  ClientMetadataRecord,
  ClientOrigin,
  ClientRecord,
  ConsentRecord,
  DeviceCodeRecord,
  DeviceCodeStatus,
  OAuth1AccessTokenRecord,
  RefreshTokenRecord,
  RequestTokenRecord,
  SigningAlgorithm,
  SigningKeyRecord,
} from '@portcullis/core';
import type {
  AccessTokenRow,
  AuthorizationCodeRow,
  ClientRow,
  ConsentRow,
  DeviceCodeRow,
  NewAccessTokenRow,
  NewDeviceCodeRow,
  NewAuthorizationCodeRow,
  NewClientRow,
  NewConsentRow,
  NewOAuth1AccessTokenRow,
  NewOAuth1RequestTokenRow,
  NewRefreshTokenRow,
  OAuth1AccessTokenRow,
  OAuth1RequestTokenRow,
  RefreshTokenRow,
  SigningKeyRow,
} from './database.js';

// Records <-> rows. Dates become BIGINT milliseconds; lists become JSON text; booleans 0/1
// (better-sqlite3 cannot bind a boolean, and MySQL's BOOLEAN is TINYINT anyway).

export const toMillis = (date: Date): number => date.getTime();
export const toNullableMillis = (date: Date | null): number | null => (date === null ? null : date.getTime());
// mysql2 may return BIGINT as a string (it does past 2^53, and some setups always do): coerce.
export const fromMillis = (value: number | string | bigint): Date => new Date(Number(value));
export const fromNullableMillis = (value: number | string | bigint | null): Date | null =>
  value === null ? null : new Date(Number(value));

export const toList = (list: readonly string[]): string => JSON.stringify(list);
export function fromList<T extends string = string>(text: string): T[] {
  const parsed: unknown = JSON.parse(text);
  return Array.isArray(parsed) ? (parsed.filter((item) => typeof item === 'string') as T[]) : [];
}

export const toFlag = (flag: boolean): number => (flag ? 1 : 0);
export const fromFlag = (value: number | string | bigint | boolean): boolean => Number(value) === 1 || value === true;

export function toClientRow(client: ClientRecord): NewClientRow {
  return {
    id: client.id,
    name: client.name,
    type: client.type,
    secret_digest: client.secretDigest,
    redirect_uris: toList(client.redirectUris),
    scopes: toList(client.scopes),
    resources: client.resources === null ? null : toList(client.resources),
    grant_types: toList(client.grantTypes),
    response_types: toList(client.responseTypes),
    owner_id: client.ownerId,
    oauth1_enabled: toFlag(client.oauth1Enabled),
    oauth1_secret_encrypted: client.oauth1SecretEncrypted,
    rsa_public_key: client.rsaPublicKey,
    disabled: toFlag(client.disabled),
    created_at: toMillis(client.createdAt),
    updated_at: toMillis(client.updatedAt),
    origin: client.origin ?? 'admin',
    registration_token_digest: client.registrationTokenDigest ?? null,
    metadata: toMetadata(client.metadata ?? null),
    unused_expires_at: toNullableMillis(client.unusedExpiresAt ?? null),
    last_used_at: toNullableMillis(client.lastUsedAt ?? null),
    post_logout_redirect_uris: toList(client.postLogoutRedirectUris ?? []),
    id_token_signed_response_alg: client.idTokenSignedResponseAlg ?? null,
    skip_consent: toFlag(client.skipConsent ?? false),
    access_token_ttl: client.accessTokenTtl ?? null,
    refresh_token_ttl: client.refreshTokenTtl ?? null,
    authorization_code_ttl: client.authorizationCodeTtl ?? null,
  };
}

export const toMetadata = (metadata: ClientMetadataRecord | null): string | null =>
  metadata === null ? null : JSON.stringify(metadata);

function fromMetadata(text: string | null): ClientMetadataRecord | null {
  return text === null ? null : (JSON.parse(text) as ClientMetadataRecord);
}

export function fromClientRow(row: ClientRow): ClientRecord {
  return {
    id: row.id,
    name: row.name,
    type: row.type as ClientRecord['type'],
    secretDigest: row.secret_digest,
    redirectUris: fromList(row.redirect_uris),
    scopes: fromList(row.scopes),
    resources: row.resources === null ? null : fromList(row.resources),
    grantTypes: fromList(row.grant_types),
    responseTypes: fromList(row.response_types),
    ownerId: row.owner_id,
    oauth1Enabled: fromFlag(row.oauth1_enabled),
    oauth1SecretEncrypted: row.oauth1_secret_encrypted,
    rsaPublicKey: row.rsa_public_key,
    disabled: fromFlag(row.disabled),
    createdAt: fromMillis(row.created_at),
    updatedAt: fromMillis(row.updated_at),
    origin: row.origin as ClientOrigin,
    registrationTokenDigest: row.registration_token_digest,
    metadata: fromMetadata(row.metadata),
    unusedExpiresAt: fromNullableMillis(row.unused_expires_at),
    lastUsedAt: fromNullableMillis(row.last_used_at),
    postLogoutRedirectUris: row.post_logout_redirect_uris === null ? [] : fromList(row.post_logout_redirect_uris),
    idTokenSignedResponseAlg: row.id_token_signed_response_alg as ClientRecord['idTokenSignedResponseAlg'],
    skipConsent: fromFlag(row.skip_consent),
    accessTokenTtl: fromNullableCount(row.access_token_ttl),
    refreshTokenTtl: fromNullableCount(row.refresh_token_ttl),
    authorizationCodeTtl: fromNullableCount(row.authorization_code_ttl),
  };
}

export function toAuthorizationCodeRow(code: AuthorizationCodeRecord): NewAuthorizationCodeRow {
  return {
    id: code.id,
    digest: code.digest,
    client_id: code.clientId,
    user_id: code.userId,
    redirect_uri: code.redirectUri,
    scope: toList(code.scope),
    code_challenge: code.codeChallenge,
    code_challenge_method: code.codeChallengeMethod,
    audience: toList(code.audience),
    family_id: code.familyId,
    issued_at: toMillis(code.issuedAt),
    expires_at: toMillis(code.expiresAt),
    consumed_at: toNullableMillis(code.consumedAt),
    nonce: code.nonce ?? null,
    auth_time: toNullableMillis(code.authTime ?? null),
  };
}

export function fromAuthorizationCodeRow(row: AuthorizationCodeRow): AuthorizationCodeRecord {
  return {
    id: row.id,
    digest: row.digest,
    clientId: row.client_id,
    userId: row.user_id,
    redirectUri: row.redirect_uri,
    scope: fromList(row.scope),
    codeChallenge: row.code_challenge,
    codeChallengeMethod: row.code_challenge_method as AuthorizationCodeRecord['codeChallengeMethod'],
    audience: fromList(row.audience),
    familyId: row.family_id,
    issuedAt: fromMillis(row.issued_at),
    expiresAt: fromMillis(row.expires_at),
    consumedAt: fromNullableMillis(row.consumed_at),
    nonce: row.nonce,
    authTime: fromNullableMillis(row.auth_time),
  };
}

export function toAccessTokenRow(token: AccessTokenRecord): NewAccessTokenRow {
  return {
    id: token.id,
    digest: token.digest,
    client_id: token.clientId,
    user_id: token.userId,
    scope: toList(token.scope),
    audience: toList(token.audience),
    family_id: token.familyId,
    issued_at: toMillis(token.issuedAt),
    expires_at: toMillis(token.expiresAt),
    revoked_at: toNullableMillis(token.revokedAt),
  };
}

export function fromAccessTokenRow(row: AccessTokenRow): AccessTokenRecord {
  return {
    id: row.id,
    digest: row.digest,
    clientId: row.client_id,
    userId: row.user_id,
    scope: fromList(row.scope),
    audience: fromList(row.audience),
    familyId: row.family_id,
    issuedAt: fromMillis(row.issued_at),
    expiresAt: fromMillis(row.expires_at),
    revokedAt: fromNullableMillis(row.revoked_at),
  };
}

export function toRefreshTokenRow(token: RefreshTokenRecord): NewRefreshTokenRow {
  return {
    id: token.id,
    digest: token.digest,
    client_id: token.clientId,
    user_id: token.userId,
    scope: toList(token.scope),
    audience: toList(token.audience),
    family_id: token.familyId,
    issued_at: toMillis(token.issuedAt),
    expires_at: toMillis(token.expiresAt),
    consumed_at: toNullableMillis(token.consumedAt),
    revoked_at: toNullableMillis(token.revokedAt),
    auth_time: toNullableMillis(token.authTime ?? null),
    family_issued_at: toMillis(token.familyIssuedAt ?? token.issuedAt),
    reissue_count: 0,
  };
}

export function fromRefreshTokenRow(row: RefreshTokenRow): RefreshTokenRecord {
  return {
    id: row.id,
    digest: row.digest,
    clientId: row.client_id,
    userId: row.user_id,
    scope: fromList(row.scope),
    audience: fromList(row.audience),
    familyId: row.family_id,
    issuedAt: fromMillis(row.issued_at),
    expiresAt: fromMillis(row.expires_at),
    consumedAt: fromNullableMillis(row.consumed_at),
    revokedAt: fromNullableMillis(row.revoked_at),
    authTime: fromNullableMillis(row.auth_time),
    familyIssuedAt: fromMillis(row.family_issued_at ?? row.issued_at),
  };
}

export function toConsentRow(consent: ConsentRecord): NewConsentRow {
  return {
    user_id: consent.userId,
    client_id: consent.clientId,
    scope: toList(consent.scope),
    audience: toList(consent.audience),
    created_at: toMillis(consent.createdAt),
    updated_at: toMillis(consent.updatedAt),
  };
}

export function fromConsentRow(row: ConsentRow): ConsentRecord {
  return {
    clientId: row.client_id,
    userId: row.user_id,
    scope: fromList(row.scope),
    audience: fromList(row.audience),
    createdAt: fromMillis(row.created_at),
    updatedAt: fromMillis(row.updated_at),
  };
}

// mysql2 and pg may return an integer column as a string: coerce.
const fromNullableCount = (value: number | string | null): number | null => (value === null ? null : Number(value));

export function toRequestTokenRow(token: RequestTokenRecord): NewOAuth1RequestTokenRow {
  return {
    id: token.id,
    token: token.token,
    secret_encrypted: token.secretEncrypted,
    client_id: token.clientId,
    callback: token.callback,
    scope: toList(token.scope),
    user_id: token.userId,
    verifier_digest: token.verifierDigest,
    issued_at: toMillis(token.issuedAt),
    expires_at: toMillis(token.expiresAt),
    consumed_at: toNullableMillis(token.consumedAt),
  };
}

export function fromRequestTokenRow(row: OAuth1RequestTokenRow): RequestTokenRecord {
  return {
    id: row.id,
    token: row.token,
    secretEncrypted: row.secret_encrypted,
    clientId: row.client_id,
    callback: row.callback,
    scope: fromList(row.scope),
    userId: row.user_id,
    verifierDigest: row.verifier_digest,
    issuedAt: fromMillis(row.issued_at),
    expiresAt: fromMillis(row.expires_at),
    consumedAt: fromNullableMillis(row.consumed_at),
  };
}

export function toOAuth1AccessTokenRow(token: OAuth1AccessTokenRecord): NewOAuth1AccessTokenRow {
  return {
    id: token.id,
    token: token.token,
    secret_encrypted: token.secretEncrypted,
    client_id: token.clientId,
    user_id: token.userId,
    scope: toList(token.scope),
    issued_at: toMillis(token.issuedAt),
    expires_at: toNullableMillis(token.expiresAt),
    revoked_at: toNullableMillis(token.revokedAt),
  };
}

export function fromOAuth1AccessTokenRow(row: OAuth1AccessTokenRow): OAuth1AccessTokenRecord {
  return {
    id: row.id,
    token: row.token,
    secretEncrypted: row.secret_encrypted,
    clientId: row.client_id,
    userId: row.user_id,
    scope: fromList(row.scope),
    issuedAt: fromMillis(row.issued_at),
    expiresAt: fromNullableMillis(row.expires_at),
    revokedAt: fromNullableMillis(row.revoked_at),
  };
}

export function toSigningKeyRow(key: SigningKeyRecord): SigningKeyRow {
  return {
    kid: key.kid,
    alg: key.alg,
    public_jwk: key.publicJwk,
    private_jwk_encrypted: key.privateJwkEncrypted,
    created_at: toMillis(key.createdAt),
    activates_at: toMillis(key.activatesAt),
    retires_at: toNullableMillis(key.retiresAt),
    expires_at: toNullableMillis(key.expiresAt),
  };
}

export function fromSigningKeyRow(row: SigningKeyRow): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg as SigningAlgorithm,
    publicJwk: row.public_jwk,
    privateJwkEncrypted: row.private_jwk_encrypted,
    createdAt: fromMillis(row.created_at),
    activatesAt: fromMillis(row.activates_at),
    retiresAt: fromNullableMillis(row.retires_at),
    expiresAt: fromNullableMillis(row.expires_at),
  };
}

export function toDeviceCodeRow(code: DeviceCodeRecord): NewDeviceCodeRow {
  return {
    id: code.id,
    digest: code.digest,
    user_code_digest: code.userCodeDigest,
    client_id: code.clientId,
    scope: toList(code.scope),
    audience: toList(code.audience),
    family_id: code.familyId,
    status: code.status,
    user_id: code.userId,
    poll_interval: code.interval,
    last_polled_at: toNullableMillis(code.lastPolledAt),
    issued_at: toMillis(code.issuedAt),
    expires_at: toMillis(code.expiresAt),
    consumed_at: toNullableMillis(code.consumedAt),
  };
}

export function fromDeviceCodeRow(row: DeviceCodeRow): DeviceCodeRecord {
  return {
    id: row.id,
    digest: row.digest,
    userCodeDigest: row.user_code_digest,
    clientId: row.client_id,
    scope: fromList(row.scope),
    audience: fromList(row.audience),
    familyId: row.family_id,
    status: row.status as DeviceCodeStatus,
    userId: row.user_id,
    interval: Number(row.poll_interval),
    lastPolledAt: fromNullableMillis(row.last_polled_at),
    issuedAt: fromMillis(row.issued_at),
    expiresAt: fromMillis(row.expires_at),
    consumedAt: fromNullableMillis(row.consumed_at),
  };
}
