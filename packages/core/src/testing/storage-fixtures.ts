import { randomBytes } from 'node:crypto';
import { SecretBox, digestSecret, generateId, generateTimedToken, generateToken, tokenDigest } from '../crypto.js';
import type { TokenKind } from '../crypto.js';
import type {
  AccessTokenRecord,
  AuthorizationCodeRecord,
  ClientRecord,
  ConsentRecord,
  DeviceCodeRecord,
  NonceRecord,
  OAuth1AccessTokenRecord,
  RefreshTokenRecord,
  RequestTokenRecord,
  SigningKeyRecord,
} from '../storage/records.js';

/**
 * The contract's fixed epoch. Far from "now" on purpose: a store that consulted the wall clock
 * instead of the `now` it is given would get the expiry tests wrong.
 */
export const CONTRACT_EPOCH = Date.UTC(2030, 0, 1, 12, 0, 0, 0);

/** `CONTRACT_EPOCH` plus `seconds`, with a millisecond part so stores must keep milliseconds. */
export function contractTime(seconds: number): Date {
  return new Date(CONTRACT_EPOCH + seconds * 1000 + 123);
}

/**
 * Builds records the way the core would: every secret is generated, remembered here as plain text
 * (so the suite can prove no store ever holds it) and handed to the store only as a digest or,
 * for OAuth 1.0a secrets, sealed with a `SecretBox`.
 */
export class StorageFixtures {
  /** Every plain-text credential the fixtures made; none may appear in a dump of the store. */
  readonly secrets = new Set<string>();
  readonly box = new SecretBox(randomBytes(32));

  /** A fresh credential of the kind, remembered as a secret. */
  secret(kind: TokenKind): string {
    const value = generateToken(kind);
    this.secrets.add(value);
    return value;
  }

  /** The key of a fresh code or token as the core makes them: timed, so 53 characters long. */
  timedKey(kind: 'authorizationCode' | 'accessToken' | 'refreshToken' | 'deviceCode'): string {
    const value = generateTimedToken(kind);
    this.secrets.add(value);
    return tokenDigest(value);
  }

  /**
   * A signing key as the core stores one: a public JWK in clear and a private part sealed with
   * `box`. The private member `d` is random text remembered in `signingKeySecrets`.
   */
  signingKey(overrides: Partial<SigningKeyRecord> = {}): SigningKeyRecord {
    const kid = randomBytes(32).toString('base64url');
    const d = randomBytes(32).toString('base64url');
    this.signingKeySecrets.add(d);
    const x = randomBytes(32).toString('base64url');
    return {
      kid,
      alg: 'ES256',
      publicJwk: JSON.stringify({ kty: 'EC', crv: 'P-256', x, y: x, kid, alg: 'ES256', use: 'sig' }),
      privateJwkEncrypted: this.box.encrypt(JSON.stringify({ kty: 'EC', crv: 'P-256', x, y: x, d })),
      createdAt: contractTime(0),
      activatesAt: contractTime(0),
      retiresAt: null,
      expiresAt: null,
      ...overrides,
    };
  }

  /** The private key members `signingKey` made; none may appear in a dump of the store. */
  readonly signingKeySecrets = new Set<string>();

  client(overrides: Partial<ClientRecord> = {}): ClientRecord {
    const secret = this.secret('clientSecret');
    return {
      id: generateToken('clientId'),
      name: 'Polls app',
      type: 'confidential',
      secretDigest: digestSecret(secret),
      redirectUris: ['https://client.example/cb', 'http://127.0.0.1/callback'],
      scopes: ['read', 'write'],
      resources: null,
      grantTypes: ['authorization_code', 'refresh_token'],
      responseTypes: ['code'],
      ownerId: null,
      oauth1Enabled: false,
      oauth1SecretEncrypted: null,
      rsaPublicKey: null,
      disabled: false,
      createdAt: contractTime(0),
      updatedAt: contractTime(0),
      origin: 'admin',
      registrationTokenDigest: null,
      metadata: null,
      unusedExpiresAt: null,
      lastUsedAt: null,
      postLogoutRedirectUris: [],
      idTokenSignedResponseAlg: null,
      skipConsent: false,
      accessTokenTtl: null,
      refreshTokenTtl: null,
      authorizationCodeTtl: null,
      ...overrides,
    };
  }

  authorizationCode(overrides: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord {
    return {
      id: generateId(),
      digest: this.timedKey('authorizationCode'),
      clientId: 'client-a',
      userId: 'user-1',
      redirectUri: 'https://client.example/cb',
      scope: ['read'],
      codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      codeChallengeMethod: 'S256',
      audience: ['https://api.example/v1', 'https://mcp.example/mcp'],
      familyId: generateId(),
      issuedAt: contractTime(0),
      expiresAt: contractTime(60),
      consumedAt: null,
      nonce: null,
      authTime: null,
      ...overrides,
    };
  }

  /** A pending device authorization; its user code (random here, remembered as a secret) kept as a digest. */
  deviceCode(overrides: Partial<DeviceCodeRecord> = {}): DeviceCodeRecord {
    return {
      id: generateId(),
      digest: this.timedKey('deviceCode'),
      userCodeDigest: digestSecret(this.secret('verifier')),
      clientId: 'client-a',
      scope: ['read'],
      audience: ['https://api.example/v1'],
      familyId: generateId(),
      status: 'pending',
      userId: null,
      interval: 5,
      lastPolledAt: null,
      issuedAt: contractTime(0),
      expiresAt: contractTime(600),
      consumedAt: null,
      ...overrides,
    };
  }

  accessToken(overrides: Partial<AccessTokenRecord> = {}): AccessTokenRecord {
    return {
      id: generateId(),
      digest: this.timedKey('accessToken'),
      clientId: 'client-a',
      userId: 'user-1',
      scope: ['read'],
      audience: ['https://api.example/v1'],
      familyId: generateId(),
      issuedAt: contractTime(0),
      expiresAt: contractTime(3600),
      revokedAt: null,
      ...overrides,
    };
  }

  /** A refresh token of the access token's family, unless overridden. */
  refreshToken(access: AccessTokenRecord | null, overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
    const issuedAt = overrides.issuedAt ?? (access ? new Date(access.issuedAt) : contractTime(0));
    return {
      id: generateId(),
      digest: this.timedKey('refreshToken'),
      clientId: access?.clientId ?? 'client-a',
      userId: access ? access.userId : 'user-1',
      scope: access ? [...access.scope] : ['read'],
      audience: access ? [...access.audience, 'https://mcp.example/mcp'] : ['https://api.example/v1'],
      familyId: access?.familyId ?? generateId(),
      issuedAt,
      expiresAt: contractTime(30 * 86400),
      consumedAt: null,
      revokedAt: null,
      authTime: null,
      familyIssuedAt: new Date(issuedAt),
      ...overrides,
    };
  }

  /** An access and refresh pair of one family, as one issuance saves them. */
  tokenPair(
    overrides: Partial<AccessTokenRecord> = {},
    refreshOverrides: Partial<RefreshTokenRecord> = {},
  ): { access: AccessTokenRecord; refresh: RefreshTokenRecord } {
    const access = this.accessToken(overrides);
    return { access, refresh: this.refreshToken(access, refreshOverrides) };
  }

  consent(overrides: Partial<ConsentRecord> = {}): ConsentRecord {
    return {
      clientId: 'client-a',
      userId: 'user-1',
      scope: ['read'],
      audience: ['https://api.example/v1'],
      createdAt: contractTime(0),
      updatedAt: contractTime(0),
      ...overrides,
    };
  }

  requestToken(overrides: Partial<RequestTokenRecord> = {}): RequestTokenRecord {
    return {
      id: generateId(),
      // The oauth_token travels in clear on every leg: an identifier, not a secret.
      token: generateToken('requestToken'),
      secretEncrypted: this.box.encrypt(this.secret('requestToken')),
      clientId: 'client-a',
      callback: 'https://client.example/oauth1/ready?x=1',
      scope: ['read'],
      userId: null,
      verifierDigest: null,
      issuedAt: contractTime(0),
      expiresAt: contractTime(600),
      consumedAt: null,
      ...overrides,
    };
  }

  oauth1AccessToken(overrides: Partial<OAuth1AccessTokenRecord> = {}): OAuth1AccessTokenRecord {
    return {
      id: generateId(),
      token: generateToken('oauth1AccessToken'),
      secretEncrypted: this.box.encrypt(this.secret('oauth1AccessToken')),
      clientId: 'client-a',
      userId: 'user-1',
      scope: ['read'],
      issuedAt: contractTime(0),
      expiresAt: null,
      revokedAt: null,
      ...overrides,
    };
  }

  nonce(overrides: Partial<NonceRecord> = {}): NonceRecord {
    return {
      clientId: 'client-a',
      token: '',
      timestamp: Math.floor(CONTRACT_EPOCH / 1000),
      nonce: generateId(),
      expiresAt: contractTime(300),
      ...overrides,
    };
  }

  /** A verifier as the core makes it: shown to the user once, stored as a digest. */
  verifierDigest(): string {
    return digestSecret(this.secret('verifier'));
  }
}
