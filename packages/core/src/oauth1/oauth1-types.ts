import type { ScopeRegistry } from '@portcullis/scopes';
import type { Entropy } from '../crypto.js';
import type { OAuthError } from '../errors.js';
import type { EventListener } from '../events.js';
import type { OAuthRequest, OAuthResponse } from '../http.js';
import type { ConsentDecision } from '../server-types.js';
import type { OAuthStorage } from '../storage/port.js';

export interface OAuth1ProviderOptions {
  storage: OAuthStorage;
  /**
   * The server's public URL, e.g. `https://auth.example.com` (the OAuth 2 issuer). Signatures
   * are checked against its scheme, host and port with the request's own path (RFC 5849
   * section 3.4.1.2), never against the request's Host header, which the client chooses: a
   * request signed for another host is refused. Behind a TLS-terminating proxy this is the
   * public URL. Only its origin counts; a path in it is ignored.
   */
  issuer: string;
  /**
   * The AES-256-GCM key that seals consumer and token secrets (`SecretBox`): 32 bytes, 64 hex
   * characters or 43 base64url characters. The same key the OAuth 2 server seals
   * `oauth1SecretEncrypted` with.
   */
  secretKey: Uint8Array | string;
  /** The scopes the server knows. Defaults to `createDefaultScopes()` (read, write). */
  scopes?: ScopeRegistry;
  /** The realm of `WWW-Authenticate: OAuth realm="..."` on 401 answers. Default `portcullis`. */
  realm?: string;
  /** Seconds a timestamp may be off the server's clock, either way. Default 300. */
  timestampWindow?: number;
  /** Seconds temporary credentials live. Default 600. */
  requestTokenTtl?: number;
  /** Seconds token credentials live; null for no expiry (django-oauth-plus: they "MAY have a limited lifetime"). Default null. */
  accessTokenTtl?: number | null;
  /**
   * Refuse credential requests (request_token, access_token) that did not come over TLS, since
   * their answers carry secrets in clear (RFC 5849 sections 2.1 and 2.3). Default true.
   * Signed resource requests are accepted over plain HTTP either way (the signature protects
   * them, as Django REST framework's OAuth 1.0a authentication allows); PLAINTEXT is refused
   * without TLS whatever this says.
   */
  enforceSecure?: boolean;
  /** Scopes of a request token whose request names none (narrowed to the client's). Default: the client's scopes. */
  defaultScopes?: string[];
  clock?: () => Date;
  entropy?: Entropy;
  /**
   * Receives this provider's events (`oauth1.signature_refused`), as the OAuth 2 server's
   * `onEvent` does; a throw or a rejection is ignored.
   */
  onEvent?: EventListener;
}

/** A pending authorization, shown on the consent page and kept across login. */
export interface OAuth1AuthorizationRequest {
  /** The temporary credentials identifier (oauth_token). */
  token: string;
  clientId: string;
  clientName: string;
  scope: string[];
  /** The client's callback URI, or `oob`. */
  callback: string;
}

export type OAuth1AuthorizeResult =
  /** Ask the user (log in first if needed), then call `completeAuthorization`. */
  | { kind: 'consent'; request: OAuth1AuthorizationRequest }
  /** Show an error page; never redirect (unknown, expired or used request token). */
  | { kind: 'error'; status: number; error: OAuthError };

export type OAuth1CompletionResult =
  /** Approved: send the browser to the callback, which carries oauth_token and oauth_verifier. */
  | { kind: 'redirect'; location: string }
  /** Approved with the `oob` callback: show the verifier for the user to type into the client. */
  | { kind: 'verifier'; token: string; verifier: string }
  /** Refused: the request token is spent; redirect (with oauth_problem=permission_denied) when there is a callback. */
  | { kind: 'denied'; location?: string }
  | { kind: 'error'; status: number; error: OAuthError };

/** What a resource server learns from a request signed with token credentials. */
export interface OAuth1Grant {
  clientId: string;
  userId: string;
  scope: string[];
  /** The id of the token credentials record. */
  tokenId: string;
  expiresAt: Date | null;
}

/** The OAuth 1.0a provider (RFC 5849), free of any framework. */
export interface OAuth1Provider {
  readonly realm: string;
  /** `POST /oauth1/request_token` (section 2.1). */
  handleRequestTokenRequest(request: OAuthRequest): Promise<OAuthResponse>;
  /** `GET|POST /oauth1/authorize` step 1 (section 2.2): reads `oauth_token` from the query or the form body. */
  validateAuthorizationRequest(request: OAuthRequest): Promise<OAuth1AuthorizeResult>;
  /** `/oauth1/authorize` step 2: the user decided. */
  completeAuthorization(token: string, decision: ConsentDecision): Promise<OAuth1CompletionResult>;
  /** `POST /oauth1/access_token` (section 2.3). */
  handleAccessTokenRequest(request: OAuthRequest): Promise<OAuthResponse>;
  /**
   * Checks a request signed with token credentials (section 3.2); throws an `OAuthError`
   * (401s carry `WWW-Authenticate: OAuth realm="..."`, 403 `insufficient_scope`).
   */
  verifySignedRequest(request: OAuthRequest, requiredScope?: readonly string[]): Promise<OAuth1Grant>;
  /** Revokes token credentials (a user revoking an application). Returns the count. */
  revokeAccessTokens(filter: { clientId: string; userId?: string; token?: string }): Promise<number>;
  /** The response for anything thrown by `verifySignedRequest`: JSON body, realm header on 401. */
  toErrorResponse(error: unknown): OAuthResponse;
}
