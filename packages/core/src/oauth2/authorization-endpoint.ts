import { ID_RANDOM_BYTES, idFromRandom, TIMED_TOKEN_RANDOM_BYTES, timedTokenFromRandom, tokenDigest } from '../crypto.js';
import {
  accessDenied,
  invalidClient,
  invalidRequest,
  invalidScope,
  type OAuthError,
  toOAuthError,
  unauthorizedClient,
  unsupportedResponseType,
} from '../errors.js';
import type { OAuthRequest } from '../http.js';
import type { AuthorizationRequest, AuthorizeResult, ConsentDecision } from '../server-types.js';
import type { AuthorizationCodeRecord, ClientRecord } from '../storage/records.js';
import { isClientUnusable } from './client-registration.js';
import { findClient } from './find-client.js';
import { lifetimesOf, type ServerContext } from './options.js';
import { RequestParameters } from './parameters.js';
import { isValidCodeChallenge } from './pkce.js';
import { profileRefusal, requiresPkce } from './profile.js';
import { buildRedirectLocation, findRegisteredRedirectUri, parseLocationUri } from './redirect-uri.js';
import { rememberConsent } from './remembered-consent.js';
import { readResourceParameters, resolveAudience } from './resource-indicators.js';
import { grantsScope, narrowScope, resolveRequestedScope } from './scope-policy.js';
import { issueTokenSet } from './token-issuer.js';
import { readAuthenticationRequest } from './interaction.js';

type ResponseMode = 'query' | 'fragment';

/** RFC 8707 section 2: `resource` is the one authorization parameter that may repeat. */
const REPEATABLE = ['resource'];

/** Where errors go once the client and its redirect URI are trusted. */
interface RedirectTarget {
  redirectUri: string;
  mode: ResponseMode;
  state: string | null;
}

/**
 * Where the authorization response goes. A URI no Location header can carry (a stored one that
 * registration would refuse, written straight into the store) is refused here, before anything
 * is redirected to it, so the answer is the error page.
 */
function createRedirectTarget(redirectUri: string, mode: ResponseMode, state: string | null): RedirectTarget {
  if (parseLocationUri(redirectUri) === null) {
    throw invalidRequest('The redirect URI registered for the client is not a valid URI to redirect to; the client must register it again.');
  }
  return { redirectUri, mode, state };
}

/** An error shown to the user, never redirected: the redirect URI cannot be trusted. */
function createErrorPage(thrown: unknown): AuthorizeResult {
  const error = toOAuthError(thrown);
  return { kind: 'error', status: error.status, error };
}

function createErrorRedirect(context: ServerContext, target: RedirectTarget, thrown: unknown): AuthorizeResult {
  const error = toOAuthError(thrown);
  return {
    kind: 'redirect',
    location: buildRedirectLocation(
      target.redirectUri,
      {
        error: error.error,
        error_description: error.description,
        error_uri: error.uri,
        state: target.state,
        // RFC 9207: the issuer in every authorization response defeats mix-up attacks.
        iss: context.options.issuer,
      },
      target.mode,
    ),
  };
}

/**
 * Finds the client and the redirect URI, the two things that must be right before anything is
 * sent back to the browser by redirect (RFC 6749 section 4.1.2.1).
 */
async function findClientAndRedirectUri(
  context: ServerContext,
  clientId: string | undefined,
  requestedRedirectUri: string | undefined,
): Promise<{ client: Readonly<ClientRecord>; redirectUri: string }> {
  if (clientId === undefined) throw invalidRequest('The client_id parameter is required.');
  const client = await findClient(context, clientId, refuseDocument);
  if (client === null || isClientUnusable(client, context.now())) throw invalidClient('The client is unknown or disabled.', { status: 400 });
  if (requestedRedirectUri !== undefined) {
    if (findRegisteredRedirectUri(requestedRedirectUri, client.redirectUris, context.redirectMatching) === undefined) {
      throw invalidRequest('The redirect_uri does not match any URI registered for the client.');
    }
    return { client, redirectUri: requestedRedirectUri };
  }
  const [only] = client.redirectUris;
  if (only === undefined || client.redirectUris.length !== 1) {
    throw invalidRequest('The redirect_uri parameter is required: the client has registered more than one, or none.');
  }
  return { client, redirectUri: only };
}

/** An unusable client metadata document is shown to the user: its redirect URIs are unverified. */
function refuseDocument(reason: string): OAuthError {
  return invalidClient(reason, { status: 400 });
}

export async function validateAuthorizationRequest(context: ServerContext, request: OAuthRequest): Promise<AuthorizeResult> {
  let target: RedirectTarget | null = null;
  try {
    if (context.options.enforceSecure && !request.secure) throw invalidRequest('TLS required');
    let params: RequestParameters;
    const method = request.method.toUpperCase();
    if (method === 'GET' || method === 'HEAD') {
      params = RequestParameters.fromSearchParams(request.url.searchParams);
    } else if (method === 'POST') {
      if (request.body === undefined) {
        throw invalidRequest('The authorization endpoint expects application/x-www-form-urlencoded on POST.');
      }
      params = RequestParameters.fromBody(request.body);
    } else {
      throw invalidRequest('The authorization endpoint accepts GET and POST only.', { status: 405, headers: { allow: 'GET, POST' } });
    }

    // A repeated client_id or redirect_uri throws here, before any redirect: neither can be trusted.
    const { client, redirectUri } = await findClientAndRedirectUri(context, params.get('client_id'), params.get('redirect_uri'));
    const repeated = params.repeated(REPEATABLE);
    const rawResponseType = repeated.includes('response_type') ? undefined : params.get('response_type');
    target = createRedirectTarget(
      redirectUri,
      rawResponseType === 'token' ? 'fragment' : 'query',
      repeated.includes('state') ? null : (params.get('state') ?? null),
    );
    params.assertNoRepeats(REPEATABLE);

    const responseType = params.require('response_type');
    if (responseType !== 'code' && responseType !== 'token') {
      throw unsupportedResponseType(`The response_type ${JSON.stringify(responseType)} is not supported.`);
    }
    assertClientMayUse(context, client, responseType);
    const requested = resolveRequestedScope(context, client, params.get('scope'));
    // OpenID Connect Core 1.0 section 3.1.2.1: a request is an authentication request when its
    // scope parameter names `openid`. A request naming no scope gets the client's scopes without
    // `openid`, so a plain OAuth client registered for every scope stays a plain OAuth client.
    const namesOpenid = (params.get('scope') ?? '').split(' ').includes('openid');
    const withoutOpenid = namesOpenid ? requested : requested.filter((name) => name !== 'openid');
    const scope = withoutOpenid.length > 0 ? withoutOpenid : requested;
    const resource = readResourceParameters(params);
    resolveAudience(context, client, resource);

    let codeChallenge: string | null = null;
    let codeChallengeMethod: 'S256' | 'plain' | null = null;
    if (responseType === 'code') {
      ({ codeChallenge, codeChallengeMethod } = readCodeChallenge(context, client, params));
    }
    const openid = context.openid !== null && responseType === 'code' && namesOpenid
      ? await readAuthenticationRequest(context, context.openid, client, params)
      : undefined;
    const source = context.clientMetadata?.describeSource(client.id);
    return {
      kind: 'consent',
      request: {
        clientId: client.id,
        clientName: client.name,
        responseType,
        redirectUri,
        redirectUriProvided: params.has('redirect_uri'),
        scope,
        state: target.state,
        codeChallenge,
        codeChallengeMethod,
        resource,
        ...(params.has('prompt') && { prompt: (params.get('prompt') ?? '').split(' ').filter((value) => value !== '') }),
        ...(source != null && { clientMetadataDocument: source }),
        ...(openid !== undefined && { openid }),
      },
    };
  } catch (thrown) {
    return target === null ? createErrorPage(thrown) : createErrorRedirect(context, target, thrown);
  }
}

function assertClientMayUse(context: ServerContext, client: ClientRecord, responseType: 'code' | 'token'): void {
  // Before the client's own grant types: a client registered for the implicit grant learns that
  // the server no longer offers it, rather than that it may not use it.
  const refusal = responseType === 'token' ? profileRefusal(context.options.profile, 'implicit') : null;
  if (refusal !== null) throw unsupportedResponseType(`${refusal}.`);
  if (responseType === 'code' && !client.grantTypes.includes('authorization_code')) {
    throw unauthorizedClient('The client may not use the authorization code grant.');
  }
  if (responseType === 'token' && !client.grantTypes.includes('implicit')) {
    throw unauthorizedClient('The client may not use the implicit grant.');
  }
}

/**
 * RFC 7636 section 4.3. A missing method means `plain` by the RFC, which is accepted only with
 * `allowPlainPkce`: quietly reading it as S256 would make the verifier check fail later instead.
 */
function readCodeChallenge(
  context: ServerContext,
  client: ClientRecord,
  params: RequestParameters,
): { codeChallenge: string | null; codeChallengeMethod: 'S256' | 'plain' | null } {
  const challenge = params.get('code_challenge');
  const method = params.get('code_challenge_method');
  if (challenge === undefined) {
    if (method !== undefined) throw invalidRequest('The code_challenge_method parameter needs a code_challenge.');
    if (requiresPkce(context.options.profile, client)) {
      throw invalidRequest(
        `PKCE is required ${client.type === 'public' ? 'for public clients' : 'for every client (OAuth 2.1)'}: send code_challenge with code_challenge_method=S256.`,
      );
    }
    return { codeChallenge: null, codeChallengeMethod: null };
  }
  if (!isValidCodeChallenge(challenge)) {
    throw invalidRequest('The code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, "-", ".", "_" and "~".');
  }
  const effective = method ?? 'plain';
  if (effective === 'S256') return { codeChallenge: challenge, codeChallengeMethod: 'S256' };
  if (effective === 'plain') {
    if (!context.options.allowPlainPkce) {
      throw invalidRequest('The code_challenge_method must be S256 (plain is not accepted).');
    }
    return { codeChallenge: challenge, codeChallengeMethod: 'plain' };
  }
  throw invalidRequest(`The code_challenge_method ${JSON.stringify(method)} is not supported.`);
}

/**
 * The request may have waited in a session for a while: the client can have been disabled or its
 * redirect URIs changed since, and the redirect must still be one of them.
 */
async function recheckClient(context: ServerContext, request: AuthorizationRequest): Promise<{ client: Readonly<ClientRecord>; target: RedirectTarget }> {
  const client = await findClient(context, request.clientId, refuseDocument);
  if (client === null || isClientUnusable(client, context.now())) throw invalidClient('The client is unknown or disabled.', { status: 400 });
  if (findRegisteredRedirectUri(request.redirectUri, client.redirectUris, context.redirectMatching) === undefined) {
    throw invalidRequest('The redirect_uri does not match any URI registered for the client.');
  }
  return { client, target: createRedirectTarget(request.redirectUri, request.responseType === 'token' ? 'fragment' : 'query', request.state) };
}

/**
 * Answers a pending request with `error` by redirect to the client (OpenID Connect Core 1.0
 * section 3.1.2.6: `login_required` and the like), once the client and its redirect URI are
 * checked again; an error page when they no longer hold.
 */
export async function refuseAuthorization(context: ServerContext, request: AuthorizationRequest, error: OAuthError): Promise<AuthorizeResult> {
  try {
    const { target } = await recheckClient(context, request);
    return createErrorRedirect(context, target, error);
  } catch (thrown) {
    return createErrorPage(thrown);
  }
}

export async function completeAuthorization(
  context: ServerContext,
  request: AuthorizationRequest,
  decision: ConsentDecision,
): Promise<AuthorizeResult> {
  if (typeof decision?.userId !== 'string' || decision.userId === '') {
    throw new TypeError('completeAuthorization needs decision.userId, the id of the user who decided');
  }
  let target: RedirectTarget | null = null;
  try {
    let client: Readonly<ClientRecord>;
    ({ client, target } = await recheckClient(context, request));
    if (!decision.approved) {
      context.emit({ type: 'consent.denied', clientId: client.id, userId: decision.userId, scope: request.scope });
      throw accessDenied('The resource owner denied the request.');
    }
    assertClientMayUse(context, client, request.responseType);
    const scope = decision.scope === undefined ? [...request.scope] : narrowScope(context, request.scope, decision.scope);
    if (scope.length === 0) throw accessDenied('The resource owner approved no scope.');
    if (!grantsScope(context.scopes, scope, client.scopes)) {
      throw invalidScope('The scope exceeds what the client may be granted.');
    }
    // Checked again: the client's resources or the server's may have changed during consent.
    if (!Array.isArray(request.resource)) throw invalidRequest('The pending authorization request is incomplete; start again.');
    const audience = resolveAudience(context, client, request.resource);
    const now = context.now();
    const iss = context.options.issuer;
    if (request.responseType === 'code' && request.codeChallenge === null && requiresPkce(context.options.profile, client)) {
      throw invalidRequest('PKCE is required: the authorization request had no code_challenge.');
    }
    // Remembered before the code or token is saved: the user approved, whatever happens next.
    const approvedBefore = await rememberConsent(context, client, { userId: decision.userId, scope, audience }, now);
    const asked = Array.isArray(request.prompt) && request.prompt.includes('consent');
    context.emit({ type: 'consent.granted', clientId: client.id, userId: decision.userId, scope, audience, remembered: approvedBefore && !asked });

    if (request.responseType === 'token') {
      const tokens = await issueTokenSet(context, {
        grantType: 'implicit',
        clientId: client.id,
        lifetimes: lifetimesOf(context, client),
        userId: decision.userId,
        scope,
        audience,
        withRefreshToken: false,
      });
      return {
        kind: 'redirect',
        location: buildRedirectLocation(
          request.redirectUri,
          { ...tokens, expires_in: String(tokens.expires_in), state: request.state, iss },
          'fragment',
        ),
      };
    }

    const { entropy, storage } = context.options;
    const { authorizationCodeTtl } = lifetimesOf(context, client);
    // One CSPRNG draw for the code, its row id and its family id, each read from its own bytes.
    const random = entropy.randomBytes(TIMED_TOKEN_RANDOM_BYTES + 2 * ID_RANDOM_BYTES);
    const code = timedTokenFromRandom('authorizationCode', random, now.getTime());
    const ids = random.subarray(TIMED_TOKEN_RANDOM_BYTES);
    const record: AuthorizationCodeRecord = {
      id: idFromRandom(ids, now.getTime()),
      digest: tokenDigest(code),
      clientId: client.id,
      userId: decision.userId,
      redirectUri: request.redirectUriProvided ? request.redirectUri : null,
      scope,
      codeChallenge: request.codeChallenge,
      codeChallengeMethod: request.codeChallenge === null ? null : request.codeChallengeMethod,
      audience,
      familyId: idFromRandom(ids.subarray(ID_RANDOM_BYTES), now.getTime()),
      issuedAt: now,
      expiresAt: new Date(now.getTime() + authorizationCodeTtl * 1000),
      consumedAt: null,
      nonce: request.openid?.nonce ?? null,
      authTime: decision.authTime ?? null,
    };
    await storage.saveAuthorizationCode(record);
    return {
      kind: 'redirect',
      location: buildRedirectLocation(request.redirectUri, { code, state: request.state, iss }, 'query'),
    };
  } catch (thrown) {
    return target === null ? createErrorPage(thrown) : createErrorRedirect(context, target, thrown);
  }
}
