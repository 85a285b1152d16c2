import { digestSecret, ID_RANDOM_BYTES, idFromRandom, TIMED_TOKEN_RANDOM_BYTES, timedTokenFromRandom, tokenDigest } from '../crypto.js';
import {
  accessDenied,
  authorizationPending,
  expiredToken,
  invalidClient,
  invalidGrant,
  invalidRequest,
  invalidScope,
  slowDown,
  temporarilyUnavailable,
  toOAuthError,
  unauthorizedClient,
} from '../errors.js';
import type { OAuthRequest, OAuthResponse } from '../http.js';
import type {
  ConsentDecision,
  DeviceAuthorizationRequest,
  DeviceDecisionResult,
  DeviceLookupResult,
  IssuedTokens,
} from '../server-types.js';
import type { DeviceCodeRecord } from '../storage/records.js';
import { authenticateClient, type AuthenticatedClient } from './client-authentication.js';
import { isClientUnusable } from './client-registration.js';
import { findClient } from './find-client.js';
import { readFormParameters } from './form-request.js';
import { lifetimesOf, type ServerContext } from './options.js';
import type { RequestParameters } from './parameters.js';
import { narrowAudience, readResourceParameters, resolveAudience } from './resource-indicators.js';
import { createErrorResponse, createJsonResponse } from './responses.js';
import { grantsScope, narrowScope, resolveRequestedScope } from './scope-policy.js';
import { emitTokensIssued, mintTokens, revokeForSingleAccessToken } from './token-issuer.js';

/** RFC 8628 section 3.4: the grant type a device polls the token endpoint with. */
export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

/**
 * RFC 8628 section 6.1: the user code alphabet, consonants without vowels (no words are spelt)
 * and without look-alikes of digits.
 */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

/**
 * Characters in a user code, shown as XXXX-XXXX. 20^8 is about 2.6 * 10^10 codes (34.6 bits):
 * with at most a few thousand device authorizations live at once and the verification page
 * refusing after a handful of wrong codes per session and per address, a guesser's chance of
 * hitting any live code stays far below 10^-5 (RFC 8628 section 5.1).
 */
export const USER_CODE_LENGTH = 8;

/** RFC 8628 section 3.5: a client polling too fast must wait this many seconds more. */
const SLOW_DOWN_SECONDS = 5;

/** New user codes drawn when one is already taken, before the request fails. */
const SAVE_ATTEMPTS = 4;

/** A uniformly random user code, undashed: bytes 240 and above are dropped, so each letter is as likely. */
export function generateUserCode(randomBytes: (size: number) => Uint8Array): string {
  const limit = 256 - (256 % USER_CODE_ALPHABET.length);
  let code = '';
  while (code.length < USER_CODE_LENGTH) {
    for (const byte of randomBytes(USER_CODE_LENGTH * 2)) {
      if (byte < limit && code.length < USER_CODE_LENGTH) code += USER_CODE_ALPHABET[byte % USER_CODE_ALPHABET.length];
    }
  }
  return code;
}

/** The code as shown to the user (RFC 8628 section 6.1): XXXX-XXXX. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/**
 * The user code as typed, normalised (RFC 8628 section 6.1): case ignored, dashes and spaces
 * dropped. Null when what remains cannot be a user code.
 */
export function normaliseUserCode(typed: string): string | null {
  if (typeof typed !== 'string' || typed.length > 64) return null;
  const code = typed.toUpperCase().replace(/[\s-]/g, '');
  if (code.length !== USER_CODE_LENGTH) return null;
  for (const char of code) if (!USER_CODE_ALPHABET.includes(char)) return null;
  return code;
}

/** The key a user code is stored and found under: the digest of its normalised form. */
export function userCodeDigest(normalised: string): string {
  return digestSecret(`user_code:${normalised}`);
}

function verificationUri(context: ServerContext): string {
  const { issuer, endpoints } = context.options;
  const base = issuer.endsWith('/') ? issuer.slice(0, -1) : issuer;
  return base + endpoints.deviceVerification;
}

/**
 * `POST /oauth/device_authorization` (RFC 8628 section 3.1): the client authenticates as at the
 * token endpoint (a public client names itself), must have the device grant registered, and
 * gets a device code (256 bits, kept as its digest) and a user code for the user to type.
 */
export async function handleDeviceAuthorizationRequest(context: ServerContext, request: OAuthRequest): Promise<OAuthResponse> {
  try {
    if (context.options.endpoints.authorization === null) {
      throw invalidRequest('This server has no verification page, so no device authorization.', { status: 404 });
    }
    const params = readFormParameters(context, request, 'device authorization', ['resource']);
    const { client } = await authenticateClient(context, request, params);
    if (!client.grantTypes.includes(DEVICE_CODE_GRANT_TYPE)) {
      throw unauthorizedClient('The client may not use the device authorization grant.');
    }
    const scope = resolveRequestedScope(context, client, params.get('scope'));
    const audience = resolveAudience(context, client, readResourceParameters(params));
    const { entropy, deviceCodeTtl, deviceCodeInterval, storage } = context.options;
    const now = context.now();
    for (let attempt = 0; attempt < SAVE_ATTEMPTS; attempt += 1) {
      const random = entropy.randomBytes(TIMED_TOKEN_RANDOM_BYTES + 2 * ID_RANDOM_BYTES);
      const deviceCode = timedTokenFromRandom('deviceCode', random, now.getTime());
      const ids = random.subarray(TIMED_TOKEN_RANDOM_BYTES);
      const userCode = generateUserCode((size) => entropy.randomBytes(size));
      const record: DeviceCodeRecord = {
        id: idFromRandom(ids, now.getTime()),
        digest: tokenDigest(deviceCode),
        userCodeDigest: userCodeDigest(userCode),
        clientId: client.id,
        scope,
        audience,
        familyId: idFromRandom(ids.subarray(ID_RANDOM_BYTES), now.getTime()),
        status: 'pending',
        userId: null,
        interval: deviceCodeInterval,
        lastPolledAt: null,
        issuedAt: now,
        expiresAt: new Date(now.getTime() + deviceCodeTtl * 1000),
        consumedAt: null,
      };
      // A taken user code (another live authorization drew it) is drawn again.
      if (!(await storage.saveDeviceCode(record))) continue;
      const uri = verificationUri(context);
      const shown = formatUserCode(userCode);
      // RFC 8628 section 3.2.
      return createJsonResponse(200, {
        device_code: deviceCode,
        user_code: shown,
        verification_uri: uri,
        verification_uri_complete: `${uri}?user_code=${encodeURIComponent(shown)}`,
        expires_in: deviceCodeTtl,
        interval: deviceCodeInterval,
      });
    }
    throw temporarilyUnavailable('No free user code was found; try again.');
  } catch (thrown) {
    return createErrorResponse(thrown);
  }
}

/**
 * The device access token request (RFC 8628 section 3.4, answered as section 3.5). The client
 * must be the one the code was issued to. While the user has not decided, the answer is
 * `authorization_pending`, or `slow_down` when the poll came sooner than the interval after the
 * last one, which also raises the interval by 5 seconds. Each poll is recorded by a
 * compare-and-set on the last poll time, so of two concurrent polls the second sees the first
 * and is answered `slow_down`. An approved code is redeemed as an authorization code is: the
 * store marks it consumed and saves its tokens in one transaction, so exactly one poll gets
 * tokens and any later one `invalid_grant`.
 */
export async function exchangeDeviceCode(
  context: ServerContext,
  { client }: AuthenticatedClient,
  params: RequestParameters,
): Promise<IssuedTokens> {
  const deviceCode = params.require('device_code');
  const requestedResources = readResourceParameters(params);
  const { storage } = context.options;
  const now = context.now();
  const record = await storage.findDeviceCode(tokenDigest(deviceCode));
  if (record === null) throw invalidGrant('The device code is invalid.');
  // Another client's code is none of this client's business: nothing is recorded.
  if (record.clientId !== client.id) throw invalidGrant('The device code was issued to another client.');
  if (record.consumedAt !== null) throw invalidGrant('The device code was already used.');
  if (record.expiresAt.getTime() <= now.getTime()) {
    await context.purgeExpiredLazily();
    throw expiredToken('The device code has expired; start the device authorization again.');
  }
  if (record.status === 'denied') throw accessDenied('The user denied the authorization request.', { status: 400 });
  if (record.status === 'pending') {
    const last = record.lastPolledAt;
    const tooSoon = last !== null && now.getTime() - last.getTime() < record.interval * 1000;
    const interval = tooSoon ? record.interval + SLOW_DOWN_SECONDS : record.interval;
    const recorded = await storage.recordDeviceCodePoll(record.id, last, now, interval);
    if (tooSoon || !recorded) {
      throw slowDown(`Polling too fast: wait at least ${interval} seconds between requests.`);
    }
    throw authorizationPending('The user has not yet completed the authorization.');
  }
  const audience = narrowAudience(context, client, record.audience, requestedResources);
  const issuance = {
    clientId: client.id,
    userId: record.userId,
    scope: record.scope,
    audience,
    refreshAudience: record.audience,
    familyId: record.familyId,
    withRefreshToken: client.grantTypes.includes('refresh_token'),
    lifetimes: lifetimesOf(context, client),
  };
  const minted = await mintTokens(context, issuance, now);
  await revokeForSingleAccessToken(context, issuance, now);
  if (!(await storage.redeemDeviceCode(record.id, now, minted.access, minted.refresh))) {
    throw invalidGrant('The device code was already used.');
  }
  emitTokensIssued(context, DEVICE_CODE_GRANT_TYPE, minted);
  return minted.response;
}

/**
 * The device authorization a user code names, for the verification page (RFC 8628 section 3.3).
 * Only a pending, unexpired code of a usable client is offered for consent.
 */
export async function findDeviceAuthorization(context: ServerContext, typed: string): Promise<DeviceLookupResult> {
  try {
    const normalised = normaliseUserCode(typed);
    const digest = normalised === null ? null : userCodeDigest(normalised);
    const record = digest === null ? null : await context.options.storage.findDeviceCodeByUserCode(digest);
    if (record === null || digest === null) {
      return { kind: 'error', reason: 'unknown', error: invalidRequest('The code was not recognised; check it and try again.', { status: 400 }) };
    }
    if (record.expiresAt.getTime() <= context.now().getTime()) {
      return { kind: 'error', reason: 'expired', error: expiredToken('The code has expired; start again on the device.') };
    }
    if (record.status !== 'pending') {
      return { kind: 'error', reason: 'decided', error: invalidGrant('The code was already used.') };
    }
    const client = await findClient(context, record.clientId, (reason) => invalidClient(reason, { status: 400 }));
    if (client === null || isClientUnusable(client, context.now()) || !client.grantTypes.includes(DEVICE_CODE_GRANT_TYPE)) {
      return { kind: 'error', reason: 'decided', error: invalidClient('The client is unknown or disabled.', { status: 400 }) };
    }
    return {
      kind: 'consent',
      request: {
        deviceCodeId: record.id,
        userCodeDigest: digest,
        clientId: client.id,
        clientName: client.name,
        scope: [...record.scope],
        resource: [...record.audience],
      },
    };
  } catch (thrown) {
    return { kind: 'error', reason: 'decided', error: toOAuthError(thrown) };
  }
}

/**
 * Records the user's decision (RFC 8628 section 3.3): approval with the scope the user kept (a
 * subset of the request's), or denial. The code is looked up again, since the request may have
 * waited in a session: it must still be the same pending, unexpired code of a usable client.
 */
export async function completeDeviceAuthorization(
  context: ServerContext,
  request: DeviceAuthorizationRequest,
  decision: ConsentDecision,
): Promise<DeviceDecisionResult> {
  if (typeof decision?.userId !== 'string' || decision.userId === '') {
    throw new TypeError('completeDeviceAuthorization needs decision.userId, the id of the user who decided');
  }
  try {
    const { storage } = context.options;
    const record = typeof request?.userCodeDigest === 'string' ? await storage.findDeviceCodeByUserCode(request.userCodeDigest) : null;
    if (record === null || record.id !== request.deviceCodeId) throw invalidRequest('The device authorization is no longer waiting; start again on the device.');
    if (record.expiresAt.getTime() <= context.now().getTime()) throw expiredToken('The code has expired; start again on the device.');
    if (record.status !== 'pending') throw invalidGrant('The code was already used.');
    const client = await findClient(context, record.clientId, (reason) => invalidClient(reason, { status: 400 }));
    if (client === null || isClientUnusable(client, context.now())) throw invalidClient('The client is unknown or disabled.', { status: 400 });
    let scope = [...record.scope];
    if (decision.approved) {
      if (decision.scope !== undefined) scope = narrowScope(context, record.scope, decision.scope);
      if (scope.length === 0) throw accessDenied('The resource owner approved no scope.');
      if (!grantsScope(context.scopes, scope, client.scopes)) throw invalidScope('The scope exceeds what the client may be granted.');
    }
    const decided = await storage.decideDeviceCode(record.id, {
      status: decision.approved ? 'approved' : 'denied',
      userId: decision.userId,
      scope,
    });
    if (!decided) throw invalidGrant('The code was already used.');
    if (decision.approved) context.emit({ type: 'device_code.approved', clientId: client.id, userId: decision.userId, scope, deviceCodeId: record.id });
    return { kind: 'decided', approved: decision.approved, clientName: client.name };
  } catch (thrown) {
    return { kind: 'error', error: toOAuthError(thrown) };
  }
}
