import { createDefaultScopes, formatScope, intersectScopes, isSubset, ScopeError, type ScopeRegistry } from '@portcullis/scopes';
import { constantTimeEqual, digestSecret, generateId, generateToken, SecretBox, systemEntropy, type Entropy } from '../crypto.js';
import { OAuthError, toOAuthError, type OAuthErrorCode } from '../errors.js';
import { checkEventListener, createEventEmitter, type EmitEvent } from '../events.js';
import type { OAuthRequest, OAuthResponse } from '../http.js';
import type { ConsentDecision } from '../server-types.js';
import type { OAuthStorage } from '../storage/port.js';
import { findRegisteredRedirectUri, parseLocationUri } from '../oauth2/redirect-uri.js';
import type { ClientRecord, NonceRecord, OAuth1AccessTokenRecord, RequestTokenRecord } from '../storage/records.js';
import type {
  OAuth1AuthorizeResult,
  OAuth1CompletionResult,
  OAuth1Grant,
  OAuth1Provider,
  OAuth1ProviderOptions,
} from './oauth1-types.js';
import { OpenedSecrets } from './opened-secrets.js';
import { percentEncode } from './percent-encoding.js';
import { collectRequestParameters, type RequestParameters } from './protocol-parameters.js';
import { buildSignatureBaseString } from './signature-base-string.js';
import { isSignatureMethod, verifySignature, type SignatureCredentials, type SignatureMethod } from './signature-methods.js';

// Nonces are stored; an unbounded one would let a client fill the nonce table with megabytes.
const MAX_NONCE_LENGTH = 255;
const TIMESTAMP = /^[0-9]{1,15}$/;

/** A request whose parameters, consumer and freshness were checked; its signature not yet. */
interface AuthenticatedRequest {
  /** The kept record when the client cache holds one: read, never changed or handed out. */
  client: Readonly<ClientRecord>;
  parameters: RequestParameters;
  method: SignatureMethod;
  /** The non-empty oauth_token, if any. */
  token: string | null;
  /** The request's path, for the refusal events. */
  path: string;
  timestamp: number | null;
  nonce: string | null;
}

/**
 * Creates the OAuth 1.0a provider of RFC 5849. Options are checked here and fail with a
 * `TypeError` naming the option.
 */
export function createOAuth1Provider(options: OAuth1ProviderOptions): OAuth1Provider {
  return new Provider(options);
}

class Provider implements OAuth1Provider {
  readonly realm: string;
  readonly #storage: OAuthStorage;
  /** The issuer's scheme, host and port, lower case and without a default port: what clients sign for. */
  readonly #origin: string;
  readonly #box: SecretBox;
  readonly #secrets: OpenedSecrets;
  readonly #scopes: ScopeRegistry;
  readonly #timestampWindow: number;
  readonly #requestTokenTtl: number;
  readonly #accessTokenTtl: number | null;
  readonly #enforceSecure: boolean;
  readonly #defaultScopes: string[] | null;
  readonly #clock: () => Date;
  readonly #entropy: Entropy;
  readonly #emit: EmitEvent;

  constructor(options: OAuth1ProviderOptions) {
    if (typeof options?.storage !== 'object' || options.storage === null) {
      throw new TypeError('createOAuth1Provider: `storage` is required');
    }
    this.#storage = options.storage;
    this.#origin = checkIssuer(options.issuer);
    this.#entropy = options.entropy ?? systemEntropy;
    if (options.secretKey === undefined) throw new TypeError('createOAuth1Provider: `secretKey` (32 bytes) is required');
    this.#box = new SecretBox(options.secretKey, this.#entropy);
    this.#secrets = new OpenedSecrets(this.#box);
    this.#scopes = options.scopes ?? createDefaultScopes();
    this.realm = options.realm ?? 'portcullis';
    this.#timestampWindow = checkSeconds('timestampWindow', options.timestampWindow ?? 300);
    this.#requestTokenTtl = checkSeconds('requestTokenTtl', options.requestTokenTtl ?? 600);
    const accessTtl = options.accessTokenTtl ?? null;
    this.#accessTokenTtl = accessTtl === null ? null : checkSeconds('accessTokenTtl', accessTtl);
    this.#enforceSecure = options.enforceSecure ?? true;
    this.#defaultScopes = options.defaultScopes ? [...options.defaultScopes] : null;
    this.#clock = options.clock ?? (() => new Date());
    this.#emit = createEventEmitter(options.issuer, this.#clock, checkEventListener('createOAuth1Provider: `onEvent`', options.onEvent));
  }

  // Temporary credentials (section 2.1)

  async handleRequestTokenRequest(request: OAuthRequest): Promise<OAuthResponse> {
    try {
      this.#checkCredentialsTransport(request);
      const auth = await this.#authenticate(request, ['oauth_callback']);
      if (auth.token !== null) {
        throw fail('parameter_rejected', 'A temporary credentials request is signed with the client credentials only; leave oauth_token out.');
      }
      const callback = auth.parameters.protocol.get('oauth_callback') ?? '';
      if (!isValidCallback(callback)) {
        throw fail('parameter_rejected', 'oauth_callback must be "oob" or an absolute http(s) URI of RFC 3986 characters (no whitespace, controls or unencoded non-ASCII).');
      }
      this.#checkSignature(request, auth, '');
      // A consumer that registered redirect URIs gets its verifiers there only, as OAuth 2
      // clients do: a leaked consumer secret cannot then send users to another site under the
      // consumer's name. Without registered URIs any http(s) callback is the consumer's choice.
      const registered = auth.client.redirectUris;
      if (callback !== 'oob' && registered.length > 0 && findRegisteredRedirectUri(callback, registered) === undefined) {
        throw fail('parameter_rejected', 'oauth_callback is not one of the redirect URIs registered for this consumer.');
      }
      // After the signature, so nobody learns a client's scopes by probing unsigned.
      const scope = this.#requestedScope(auth);
      await this.#recordNonce(auth);

      const now = this.#clock();
      const token = generateToken('requestToken', this.#entropy);
      const secret = this.#generateSecret();
      await this.#storage.saveRequestToken({
        id: generateId(this.#entropy, now.getTime()),
        token,
        secretEncrypted: this.#box.encrypt(secret),
        clientId: auth.client.id,
        callback,
        scope,
        userId: null,
        verifierDigest: null,
        issuedAt: now,
        expiresAt: new Date(now.getTime() + this.#requestTokenTtl * 1000),
        consumedAt: null,
      });
      return formResponse([
        ['oauth_token', token],
        ['oauth_token_secret', secret],
        ['oauth_callback_confirmed', 'true'],
      ]);
    } catch (error) {
      return this.toErrorResponse(error);
    }
  }

  // Resource owner authorization (section 2.2)

  async validateAuthorizationRequest(request: OAuthRequest): Promise<OAuth1AuthorizeResult> {
    try {
      const values = [...request.url.searchParams.getAll('oauth_token')];
      const fromBody = request.body?.['oauth_token'];
      if (fromBody !== undefined) values.push(...(Array.isArray(fromBody) ? fromBody : [fromBody]));
      if (values.length > 1) throw fail('parameter_rejected', 'oauth_token appears more than once.');
      const token = values[0];
      if (token === undefined || token === '') throw fail('parameter_absent', 'The request lacks oauth_token.');
      const { record, client } = await this.#findPendingRequestToken(token);
      return {
        kind: 'consent',
        request: { token: record.token, clientId: client.id, clientName: client.name, scope: [...record.scope], callback: record.callback },
      };
    } catch (error) {
      const oauthError = this.#withRealm(toOAuthError(error));
      return { kind: 'error', status: oauthError.status, error: oauthError };
    }
  }

  async completeAuthorization(token: string, decision: ConsentDecision): Promise<OAuth1CompletionResult> {
    try {
      // Checked again: the token may have expired or been used while the user was deciding.
      const { record } = await this.#findPendingRequestToken(token);
      if (!decision.approved) {
        // Spent at once: a refused request token must not be approvable later (django-oauth-plus: used once).
        const consumed = await this.#storage.consumeRequestToken(token, this.#clock());
        if (consumed.status !== 'consumed') throw fail('token_used', 'This request token was already used.');
        if (record.callback === 'oob') return { kind: 'denied' };
        return {
          kind: 'denied',
          location: appendToCallback(record.callback, [
            ['oauth_token', token],
            ['oauth_problem', 'permission_denied'],
          ]),
        };
      }
      const scope = decision.scope ? [...new Set(decision.scope)] : [...record.scope];
      if (!isSubset(scope, record.scope)) {
        throw new OAuthError('invalid_scope', { description: 'The approved scope exceeds the scope the client asked for.' });
      }
      const verifier = generateToken('verifier', this.#entropy);
      const authorized = await this.#storage.authorizeRequestToken(token, decision.userId, digestSecret(verifier), scope);
      if (!authorized) throw fail('token_used', 'This request token was already authorized or used.');
      if (record.callback === 'oob') return { kind: 'verifier', token, verifier };
      return {
        kind: 'redirect',
        location: appendToCallback(record.callback, [
          ['oauth_token', token],
          ['oauth_verifier', verifier],
        ]),
      };
    } catch (error) {
      const oauthError = this.#withRealm(toOAuthError(error));
      return { kind: 'error', status: oauthError.status, error: oauthError };
    }
  }

  // Token credentials (section 2.3)

  async handleAccessTokenRequest(request: OAuthRequest): Promise<OAuthResponse> {
    try {
      this.#checkCredentialsTransport(request);
      const auth = await this.#authenticate(request, ['oauth_token', 'oauth_verifier']);
      const token = auth.token ?? '';
      const record = await this.#storage.findRequestToken(token);
      if (!record || record.clientId !== auth.client.id) {
        throw fail('token_rejected', 'The request token is unknown to this consumer.');
      }
      // Not kept among the opened secrets: a request token secret serves this one exchange.
      this.#checkSignature(request, auth, this.#box.decrypt(record.secretEncrypted));

      const now = this.#clock();
      checkRequestTokenState(record, now);
      if (record.userId === null || record.verifierDigest === null) {
        throw fail('token_rejected', 'The user has not authorized this request token yet.');
      }
      await this.#recordNonce(auth);

      // The store decides single use; the record it hands back is the one to trust.
      const consumed = await this.#storage.consumeRequestToken(token, now);
      if (consumed.status === 'reused') throw fail('token_used', 'This request token was already exchanged.');
      if (consumed.status === 'missing') throw fail('token_rejected', 'The request token is unknown to this consumer.');
      const spent = consumed.record;
      // A wrong verifier spends the request token (it was consumed just above): the client starts
      // over, and nobody holding a stolen token secret gets to guess verifiers.
      const verifier = auth.parameters.protocol.get('oauth_verifier') ?? '';
      if (spent.verifierDigest === null || !constantTimeEqual(digestSecret(verifier), spent.verifierDigest)) {
        throw fail('verifier_invalid', 'The verifier does not match; this request token is now spent.');
      }
      if (spent.userId === null) throw fail('token_rejected', 'The user has not authorized this request token.');

      const accessToken = generateToken('oauth1AccessToken', this.#entropy);
      const secret = this.#generateSecret();
      await this.#storage.saveOAuth1AccessToken({
        id: generateId(this.#entropy, now.getTime()),
        token: accessToken,
        secretEncrypted: this.#box.encrypt(secret),
        clientId: auth.client.id,
        userId: spent.userId,
        scope: [...spent.scope],
        issuedAt: now,
        expiresAt: this.#accessTokenTtl === null ? null : new Date(now.getTime() + this.#accessTokenTtl * 1000),
        revokedAt: null,
      });
      return formResponse([
        ['oauth_token', accessToken],
        ['oauth_token_secret', secret],
      ]);
    } catch (error) {
      return this.toErrorResponse(error);
    }
  }

  // Protected resources (section 3)

  async verifySignedRequest(request: OAuthRequest, requiredScope: readonly string[] = []): Promise<OAuth1Grant> {
    try {
      const auth = await this.#authenticate(request, ['oauth_token']);
      const record = await this.#storage.findOAuth1AccessToken(auth.token ?? '');
      // RFC 5849 section 3.3: the nonce is recorded once every check has passed, so a forged or
      // refused request spends none, and a replay of a granted one is refused before it acts.
      const grant = this.#checkAccessToken(request, auth, record, requiredScope);
      await this.#recordNonce(auth);
      return grant;
    } catch (error) {
      throw this.#withRealm(toOAuthError(error));
    }
  }

  async revokeAccessTokens(filter: { clientId: string; userId?: string; token?: string }): Promise<number> {
    return this.#storage.revokeOAuth1AccessTokens(filter, this.#clock());
  }

  toErrorResponse(error: unknown): OAuthResponse {
    const oauthError = this.#withRealm(toOAuthError(error));
    return {
      status: oauthError.status,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...oauthError.headers },
      body: oauthError.toJSON(),
    };
  }

  // The checks every signed request goes through, in the order of least work and no writes first.

  async #authenticate(request: OAuthRequest, required: readonly string[]): Promise<AuthenticatedRequest> {
    const parameters = collectRequestParameters(request);
    const protocol = parameters.protocol;

    const version = protocol.get('oauth_version');
    if (version !== undefined && version !== '1.0') {
      throw fail('version_rejected', `oauth_version must be "1.0" when sent, not ${JSON.stringify(version)}.`);
    }

    const method = protocol.get('oauth_signature_method');
    // Section 3.1: timestamp and nonce MAY be left out with PLAINTEXT.
    const names = ['oauth_consumer_key', 'oauth_signature_method', 'oauth_signature', ...required];
    if (method !== 'PLAINTEXT') names.push('oauth_timestamp', 'oauth_nonce');
    const missing = names.filter((name) => (protocol.get(name) ?? '') === '');
    if (missing.length > 0) throw fail('parameter_absent', `The request lacks ${missing.join(', ')}.`);

    if (method === undefined || !isSignatureMethod(method)) {
      throw fail('signature_method_rejected', `Unsupported signature method ${JSON.stringify(method)}; use HMAC-SHA1, HMAC-SHA256, RSA-SHA1 or PLAINTEXT.`);
    }
    if (method === 'PLAINTEXT' && !request.secure) {
      throw fail('signature_method_rejected', 'PLAINTEXT signatures are accepted over TLS only.');
    }

    const timestampText = protocol.get('oauth_timestamp');
    let timestamp: number | null = null;
    if (timestampText !== undefined && timestampText !== '') {
      if (!TIMESTAMP.test(timestampText)) throw fail('parameter_rejected', 'oauth_timestamp must be a whole number of seconds.');
      timestamp = Number(timestampText);
      const now = Math.floor(this.#clock().getTime() / 1000);
      if (Math.abs(now - timestamp) > this.#timestampWindow) {
        throw fail('timestamp_refused', `oauth_timestamp is more than ${this.#timestampWindow} seconds off the server's clock.`);
      }
    }
    const nonce = protocol.get('oauth_nonce') || null;
    if (nonce !== null && nonce.length > MAX_NONCE_LENGTH) {
      throw fail('parameter_rejected', `oauth_nonce is longer than ${MAX_NONCE_LENGTH} characters.`);
    }

    const consumerKey = protocol.get('oauth_consumer_key') ?? '';
    const client = await this.#storage.findClient(consumerKey);
    if (!client) throw fail('consumer_key_unknown', 'The consumer key is unknown.');
    if (client.disabled || !client.oauth1Enabled) {
      throw fail('consumer_key_rejected', 'This consumer may not use OAuth 1.0a.');
    }
    if (method === 'RSA-SHA1' ? client.rsaPublicKey === null : client.oauth1SecretEncrypted === null) {
      throw fail('signature_method_rejected', `This consumer has no ${method === 'RSA-SHA1' ? 'RSA public key' : 'shared secret'} registered for ${method}.`);
    }

    return { client, parameters, method, token: protocol.get('oauth_token') || null, path: request.url.pathname, timestamp, nonce };
  }

  #checkSignature(request: OAuthRequest, auth: AuthenticatedRequest, tokenSecret: string): void {
    const credentials: SignatureCredentials =
      auth.method === 'RSA-SHA1'
        ? { publicKey: auth.client.rsaPublicKey ?? '' }
        : { consumerSecret: this.#secrets.open(auth.client.oauth1SecretEncrypted ?? ''), tokenSecret };
    // RFC 5849 section 3.4.1.2: the base string URI is the server's own origin and the request's
    // path. The Host header is the client's to choose, so it has no say in what was signed for.
    const baseString = buildSignatureBaseString(request.method, `${this.#origin}${request.url.pathname}`, auth.parameters.signatureParameters);
    const signature = auth.parameters.protocol.get('oauth_signature') ?? '';
    if (!verifySignature(auth.method, baseString, signature, credentials)) {
      this.#signatureRefused(auth, 'signature_invalid');
      throw fail('signature_invalid', 'The signature does not match the request.');
    }
  }

  /** The checks of a request signed with an access token, in the order of its errors, and its grant. */
  #checkAccessToken(
    request: OAuthRequest,
    auth: AuthenticatedRequest,
    record: OAuth1AccessTokenRecord | null,
    requiredScope: readonly string[],
  ): OAuth1Grant {
    if (!record || record.clientId !== auth.client.id) {
      throw fail('token_rejected', 'The access token is unknown to this consumer.');
    }
    this.#checkSignature(request, auth, this.#secrets.open(record.secretEncrypted));
    const now = this.#clock();
    if (record.revokedAt !== null) throw fail('token_revoked', 'The access token was revoked.');
    if (record.expiresAt !== null && record.expiresAt.getTime() <= now.getTime()) {
      throw fail('token_expired', 'The access token has expired.');
    }
    if (!this.#grants(record.scope, requiredScope)) {
      const scope = formatScope(requiredScope);
      throw new OAuthError('insufficient_scope', { description: `This resource needs the scope "${scope}".`, scope });
    }
    return {
      clientId: record.clientId,
      userId: record.userId,
      scope: [...record.scope],
      tokenId: record.id,
      expiresAt: record.expiresAt,
    };
  }

  /** The nonce record of a request, or null when it has none (PLAINTEXT may leave it out). */
  #nonceOf(auth: AuthenticatedRequest): NonceRecord | null {
    if (auth.timestamp === null || auth.nonce === null) return null;
    return {
      clientId: auth.client.id,
      token: auth.token ?? '',
      timestamp: auth.timestamp,
      nonce: auth.nonce,
      expiresAt: new Date((auth.timestamp + this.#timestampWindow) * 1000),
    };
  }

  /** After the signature (a forger cannot spend nonces) and before acting (a replay does nothing). */
  async #recordNonce(auth: AuthenticatedRequest): Promise<void> {
    const nonce = this.#nonceOf(auth);
    if (nonce !== null && !(await this.#storage.recordNonce(nonce))) {
      this.#signatureRefused(auth, 'nonce_used');
      throw nonceUsed();
    }
  }

  /** A forged or replayed signature is what an operator watches for; the event names no secret. */
  #signatureRefused(auth: AuthenticatedRequest, reason: 'signature_invalid' | 'nonce_used'): void {
    this.#emit({ type: 'oauth1.signature_refused', clientId: auth.client.id, signatureMethod: auth.method, reason, path: auth.path });
  }

  #checkCredentialsTransport(request: OAuthRequest): void {
    if (request.method.toUpperCase() !== 'POST') {
      throw new OAuthError('invalid_request', { status: 405, description: 'Use POST.', headers: { allow: 'POST' } });
    }
    if (this.#enforceSecure && !request.secure) {
      throw new OAuthError('invalid_request', { description: 'Credentials are issued over TLS only.' });
    }
  }

  /** The optional `scope` parameter of a temporary credentials request, checked against the registry and the client. */
  #requestedScope(auth: AuthenticatedRequest): string[] {
    const values = auth.parameters.signatureParameters.filter(([name]) => name === 'scope').map(([, value]) => value);
    if (values.length > 1) throw fail('parameter_rejected', 'scope appears more than once.');
    const text = values[0] ?? '';
    if (text.trim() === '') {
      return this.#defaultScopes ? intersectScopes(this.#defaultScopes, auth.client.scopes) : [...auth.client.scopes];
    }
    let scope: string[];
    try {
      scope = this.#scopes.parse(text);
    } catch (error) {
      if (error instanceof ScopeError) throw new OAuthError('invalid_scope', { description: error.message, cause: error });
      throw error;
    }
    if (!isSubset(scope, auth.client.scopes)) {
      throw new OAuthError('invalid_scope', { description: 'The requested scope exceeds what this client may be granted.' });
    }
    return scope;
  }

  async #findPendingRequestToken(token: string): Promise<{ record: RequestTokenRecord; client: ClientRecord }> {
    const record = await this.#storage.findRequestToken(token);
    if (!record) throw fail('token_rejected', 'The request token is unknown.');
    checkRequestTokenState(record, this.#clock());
    if (record.userId !== null) throw fail('token_used', 'This request token was already authorized.');
    const client = await this.#storage.findClient(record.clientId);
    if (!client || client.disabled || !client.oauth1Enabled) {
      throw fail('consumer_key_rejected', 'The client of this request token may not use OAuth 1.0a.');
    }
    // A stored callback the request token step would refuse (written past it, straight into the
    // store): refused before the consent page and before the decision builds a Location from it,
    // leaving the token as it is.
    if (!isValidCallback(record.callback)) {
      throw fail('parameter_rejected', 'The callback of this request token is not a valid URI to redirect to; the client must start again.');
    }
    return { record, client };
  }

  /** Whether the granted scopes cover the required ones, implications (write includes read) counted. */
  #grants(granted: readonly string[], required: readonly string[]): boolean {
    if (required.length === 0) return true;
    try {
      return this.#scopes.check(required, granted);
    } catch (error) {
      // A scope no longer (or never) in the registry: fall back to plain names.
      if (error instanceof ScopeError) return isSubset(required, granted);
      throw error;
    }
  }

  #withRealm(error: OAuthError): OAuthError {
    if (error.status !== 401 || error.headers['www-authenticate'] !== undefined) return error;
    return new OAuthError(error.error, {
      status: error.status,
      ...(error.description === undefined ? {} : { description: error.description }),
      ...(error.uri === undefined ? {} : { uri: error.uri }),
      ...(error.scope === undefined ? {} : { scope: error.scope }),
      headers: { ...error.headers, 'www-authenticate': `OAuth realm="${quote(this.realm)}"` },
      cause: error.cause ?? error,
    });
  }

  #generateSecret(): string {
    // base64url is all unreserved characters, so the secret needs no encoding anywhere; the
    // prefix names it for secret scanners and keeps it from starting with "-", which command
    // lines would take for an option.
    return generateToken('oauth1TokenSecret', this.#entropy);
  }
}

function fail(code: OAuthErrorCode, description: string): OAuthError {
  return new OAuthError(code, { description });
}

function nonceUsed(): OAuthError {
  return fail('nonce_used', 'This nonce was already used with this timestamp.');
}

function checkRequestTokenState(record: RequestTokenRecord, now: Date): void {
  if (record.consumedAt !== null) {
    // Refused by the user (completeAuthorization spends it unapproved) or exchanged already.
    if (record.userId === null) throw fail('permission_denied', 'The user refused this request token.');
    throw fail('token_used', 'This request token was already used.');
  }
  if (record.expiresAt.getTime() <= now.getTime()) throw fail('token_expired', 'The request token has expired.');
}

/** The origin of the `issuer` option; a TypeError unless it is an absolute http(s) URL. */
function checkIssuer(issuer: unknown): string {
  const url = typeof issuer === 'string' && URL.canParse(issuer) ? new URL(issuer) : null;
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new TypeError('createOAuth1Provider: `issuer` must be the server\'s absolute http(s) URL, e.g. https://auth.example.com');
  }
  return url.origin;
}

function checkSeconds(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(`createOAuth1Provider: \`${name}\` must be a positive whole number of seconds`);
  }
  return value;
}

/**
 * Section 2.1: `oob` for clients that cannot receive a callback, or an absolute http(s) URI that
 * a Location header can carry as it stands (the rule of OAuth 2 redirect URIs, `parseLocationUri`).
 */
function isValidCallback(callback: string): boolean {
  if (callback === 'oob') return true;
  const url = parseLocationUri(callback);
  return url !== null && (url.protocol === 'https:' || url.protocol === 'http:');
}

/**
 * Section 2.2: the parameters go at the end of the callback's own query, which stays as the
 * client wrote it (re-serializing it through URLSearchParams would change its encoding).
 */
function appendToCallback(callback: string, parameters: ReadonlyArray<readonly [string, string]>): string {
  const hashAt = callback.indexOf('#');
  const base = hashAt === -1 ? callback : callback.slice(0, hashAt);
  const fragment = hashAt === -1 ? '' : callback.slice(hashAt);
  const separator = !base.includes('?') ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return `${base}${separator}${formEncode(parameters)}${fragment}`;
}

function formEncode(parameters: ReadonlyArray<readonly [string, string]>): string {
  return parameters.map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`).join('&');
}

/** Sections 2.1 and 2.3 answer `application/x-www-form-urlencoded`; the secrets in it must not be cached. */
function formResponse(parameters: ReadonlyArray<readonly [string, string]>): OAuthResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'cache-control': 'no-store' },
    body: formEncode(parameters),
  };
}

function quote(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"');
}
