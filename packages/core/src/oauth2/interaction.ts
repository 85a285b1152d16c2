import { consentRequired, invalidRequest, loginRequired, requestNotSupported, requestUriNotSupported } from '../errors.js';
import type { AuthenticatedUser, AuthorizationRequest, InteractionResult, OpenIdAuthenticationRequest } from '../server-types.js';
import type { ClientRecord } from '../storage/records.js';
import { completeAuthorization, refuseAuthorization } from './authorization-endpoint.js';
import { findClient } from './find-client.js';
import { readIdTokenHint, subjectFor, type OpenIdContext } from './openid.js';
import type { ServerContext } from './options.js';
import type { RequestParameters } from './parameters.js';
import { reviewConsent } from './remembered-consent.js';

/** Longer than any nonce a client needs; it is stored with the code and signed into the ID token. */
const MAX_NONCE_LENGTH = 512;

/**
 * OpenID Connect Core 1.0 section 3.1.2.1: the parameters an authentication request adds. Any
 * error is thrown for the authorization endpoint to send back by redirect, the client and its
 * redirect URI being known by then.
 */
export async function readAuthenticationRequest(
  context: ServerContext,
  openid: OpenIdContext,
  client: Readonly<ClientRecord>,
  params: RequestParameters,
): Promise<OpenIdAuthenticationRequest> {
  // Section 6: request objects are optional, and refused with their own error codes.
  if (params.has('request')) throw requestNotSupported('Request objects (the request parameter) are not supported.');
  if (params.has('request_uri')) throw requestUriNotSupported('The request_uri parameter is not supported.');
  if (!params.has('redirect_uri')) throw invalidRequest('An OpenID Connect authentication request must send redirect_uri.');
  const nonce = params.get('nonce') ?? null;
  if (nonce !== null && (nonce === '' || nonce.length > MAX_NONCE_LENGTH)) {
    throw invalidRequest(`The nonce must be 1 to ${MAX_NONCE_LENGTH} characters.`);
  }
  const prompt = readPrompt(params.get('prompt'));
  const rawMaxAge = params.get('max_age');
  let maxAge: number | null = null;
  if (rawMaxAge !== undefined) {
    maxAge = /^\d{1,10}$/.test(rawMaxAge) ? Number(rawMaxAge) : Number.NaN;
    if (!Number.isSafeInteger(maxAge)) throw invalidRequest('The max_age must be a whole number of seconds.');
  }
  const hint = params.get('id_token_hint');
  let hintSubject: string | null = null;
  if (hint !== undefined) {
    const { sub, aud } = await readIdTokenHint(openid, context.options.issuer, hint);
    if (!aud.includes(client.id)) throw invalidRequest('The id_token_hint was issued to another client.');
    hintSubject = sub;
  }
  return {
    nonce,
    prompt,
    maxAge,
    loginHint: params.get('login_hint') ?? null,
    hintSubject,
    requestedAt: context.now().getTime(),
  };
}

/**
 * Section 3.1.2.1: `none` alone, or any of `login` and `consent`. `select_account` is refused:
 * the application keeps one signed-in account per session, so there is no account to choose.
 */
function readPrompt(value: string | undefined): OpenIdAuthenticationRequest['prompt'] {
  if (value === undefined) return [];
  const values = [...new Set(value.split(' ').filter((item) => item !== ''))];
  for (const item of values) {
    if (item === 'select_account') {
      throw invalidRequest('prompt=select_account is not supported: this server knows only the signed-in account.');
    }
    if (item !== 'none' && item !== 'login' && item !== 'consent') throw invalidRequest(`The prompt value ${JSON.stringify(item)} is not supported.`);
  }
  if (values.includes('none') && values.length > 1) throw invalidRequest('prompt=none cannot be combined with another prompt value.');
  return values as OpenIdAuthenticationRequest['prompt'];
}

/**
 * Decides between login, consent and an immediate answer (section 3.1.2.3 and 3.1.2.6). A login
 * is asked again when `prompt=login` wants one after the request, when `max_age` finds the
 * last one too old (or unknown), or when the `id_token_hint` names someone else. With
 * `prompt=none` nothing is asked: a missing login is `login_required`, missing consent is
 * `consent_required`, both by redirect to the client; consent counts as given when the client is
 * first-party or the user's remembered consent covers the request (`reviewConsent`).
 */
export async function resolveInteraction(
  context: ServerContext,
  request: AuthorizationRequest,
  user: AuthenticatedUser | null,
  { loginAsked = false }: { loginAsked?: boolean } = {},
): Promise<InteractionResult> {
  const oidc = request.openid;
  const openid = context.openid;
  if (oidc === undefined || openid === null) {
    return user === null ? { kind: 'login', force: false, loginHint: null } : { kind: 'consent' };
  }
  const silent = oidc.prompt.includes('none');
  if (user === null) {
    if (silent) return refuseAuthorization(context, request, loginRequired('The user is not signed in.'));
    return { kind: 'login', force: false, loginHint: oidc.loginHint };
  }
  const now = context.now();
  const authTime = user.authTime instanceof Date ? user.authTime.getTime() : null;
  let reason: string | null = null;
  // Milliseconds: a login in the same second as the request may still have come before it.
  if (oidc.prompt.includes('login') && (authTime === null || authTime < oidc.requestedAt)) {
    reason = 'The client asked for a new login (prompt=login).';
  } else if (oidc.maxAge !== null && (authTime === null || Math.floor((now.getTime() - authTime) / 1000) > oidc.maxAge)) {
    reason = 'The last login is older than max_age allows.';
  } else if (oidc.hintSubject !== null) {
    const client = await findClient(context, request.clientId, (description) => invalidRequest(description));
    if (client !== null && subjectFor(openid, client, user.id) !== oidc.hintSubject) {
      reason = 'The signed-in user is not the one the id_token_hint names.';
    }
  }
  if (reason !== null) {
    // Asked once: a login that still does not satisfy the request ends it, rather than loop.
    if (silent || loginAsked) return refuseAuthorization(context, request, loginRequired(reason));
    return { kind: 'login', force: true, loginHint: oidc.loginHint };
  }
  if (!silent) return { kind: 'consent' };
  if (!(await reviewConsent(context, request, user.id)).required) {
    return completeAuthorization(context, request, {
      userId: user.id,
      approved: true,
      ...(user.authTime instanceof Date && { authTime: user.authTime }),
    });
  }
  return refuseAuthorization(context, request, consentRequired('The user has not authorized this client for the requested scope.'));
}
