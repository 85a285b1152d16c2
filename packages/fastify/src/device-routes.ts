import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  constantTimeEqual,
  invalidRequest,
  OAuthError,
  type AuthenticatedUser,
  type AuthorizationServer,
  type DeviceAuthorizationRequest,
} from '@portcullis/core';
import type { ScopeRegistry } from '@portcullis/scopes';
import { createConsentFlow, locateLogin, sessionOf, toArray, type ConsentProtocol } from './consent.js';
import { handleHtmlRouteError } from './error-handler.js';
import { renderDevicePage, sendErrorPage, setPageHeaders } from './html-pages.js';
import { DEVICE_FIELDS, type DevicePageContext, type ResolvedOptions } from './options.js';
import { sendRedirect } from './redirects.js';
import { endpointConfig } from './route-config.js';
import { DeviceBody, DeviceQuery } from './schemas.js';
import type { MountedPaths } from './types.js';

export interface DeviceRouteOptions {
  server: AuthorizationServer;
  registry: ScopeRegistry;
  settings: ResolvedOptions;
  browser: NonNullable<ResolvedOptions['browser']>;
  paths: MountedPaths;
}

/** The device side of the consent flow: nothing is redirected, the decision ends on this server. */
const deviceConsent: ConsentProtocol<DeviceAuthorizationRequest> = {
  protocol: 'device',
  hasShape: (request) =>
    typeof request.deviceCodeId === 'string' && typeof request.userCodeDigest === 'string' && Array.isArray(request.scope),
  contextOf: (request) => ({ protocol: 'device', deviceRequest: request }),
  returnTarget: () => null,
  scope: (request) => request.scope,
  // A device is approved on the page every time, remembered consent or not: the user confirms the
  // device in front of them (RFC 8628 section 5.4, remote phishing).
  review: async () => ({ required: true, grantedScope: [] }),
  approve: async () => {
    throw new Error('a device authorization is always approved on the consent page');
  },
};

/** What the session keeps for the user code form: its CSRF token and the wrong codes counted. */
interface EntryState {
  csrfToken: string;
  failures: number;
  /** Milliseconds: when the counting window (and any lockout) started. */
  since: number;
}

/** The most addresses whose wrong codes are remembered; the oldest are forgotten first. */
const MAX_TRACKED_ADDRESSES = 10_000;

/**
 * Wrong user codes per client address, in this process, so a guesser cannot reset the count by
 * dropping the session cookie. Entries last `lockout` seconds from the first wrong code.
 */
class AddressFailures {
  readonly #entries = new Map<string, { failures: number; since: number }>();
  readonly #windowMs: number;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** The address's wrong codes in its current window, and when that window started. */
  count(address: string, now: number): { failures: number; since: number } {
    const entry = this.#entries.get(address);
    if (entry === undefined || now - entry.since >= this.#windowMs) {
      this.#entries.delete(address);
      return { failures: 0, since: now };
    }
    return entry;
  }

  add(address: string, now: number): void {
    const { failures, since } = this.count(address, now);
    // Re-inserted, so the Map's first key stays the entry longest untouched.
    this.#entries.delete(address);
    this.#entries.set(address, { failures: failures + 1, since });
    if (this.#entries.size > MAX_TRACKED_ADDRESSES) this.#entries.delete(this.#entries.keys().next().value!);
  }
}

/**
 * `GET|POST {routePrefix}/device`: the verification page of RFC 8628 section 3.3. A signed-in
 * user (anyone else is sent to log in and comes back) enters the code the device shows, then
 * approves or denies on the consent page. Wrong codes are counted per session and per address
 * (RFC 8628 section 5.1): past `userCodeAttempts`, the page refuses with 429 for `lockout`
 * seconds. Both forms carry a CSRF token kept in the session.
 */
export async function registerDeviceRoutes(routes: FastifyInstance, options: DeviceRouteOptions): Promise<void> {
  const { server, registry, settings, browser, paths } = options;
  const action = paths.deviceVerification;
  const consent = createConsentFlow(deviceConsent, registry, settings, browser, action);
  const { perSession, perAddress, lockout } = settings.userCodeAttempts;
  const windowMs = lockout * 1000;
  const addresses = new AddressFailures(windowMs);
  const stateKey = `${settings.sessionKey}Device`;
  const now = (): number => Date.now();

  routes.setErrorHandler(handleHtmlRouteError);

  function readState(request: FastifyRequest): EntryState | null {
    const value = sessionOf(request).get(stateKey) as Partial<EntryState> | null | undefined;
    if (value === null || typeof value !== 'object' || typeof value.csrfToken !== 'string') return null;
    const failures = typeof value.failures === 'number' ? value.failures : 0;
    const since = typeof value.since === 'number' ? value.since : now();
    // The window is over: the count starts again.
    if (now() - since >= windowMs) return { csrfToken: value.csrfToken, failures: 0, since: now() };
    return { csrfToken: value.csrfToken, failures, since };
  }

  async function sendPage(request: FastifyRequest, reply: FastifyReply, context: DevicePageContext): Promise<unknown> {
    setPageHeaders(reply);
    reply.type('text/html; charset=utf-8');
    if (settings.renderDevicePage !== undefined) {
      const rendered = await settings.renderDevicePage(request, reply, context);
      return rendered === undefined ? reply : rendered;
    }
    return reply.send(renderDevicePage(context));
  }

  /** The user code form, with a fresh CSRF token; the wrong-code count carries over. */
  async function showEntry(
    request: FastifyRequest,
    reply: FastifyReply,
    user: AuthenticatedUser,
    userCode: string,
    error: string | null,
  ): Promise<unknown> {
    const previous = readState(request);
    const csrfToken = randomBytes(32).toString('base64url');
    sessionOf(request).set(stateKey, {
      csrfToken,
      failures: previous?.failures ?? 0,
      since: previous?.since ?? now(),
    } satisfies EntryState);
    return sendPage(request, reply, { kind: 'entry', user, action, csrfToken, userCode, error, fields: DEVICE_FIELDS });
  }

  function sendToLogin(request: FastifyRequest, reply: FastifyReply, userCode: string | undefined, status: number): FastifyReply {
    // The path is ours, never the request's; only the user code comes back with it.
    const returnTo = userCode === undefined ? action : `${action}?${DEVICE_FIELDS.userCode}=${encodeURIComponent(userCode)}`;
    reply.header('cache-control', 'no-store');
    return sendRedirect(reply, locateLogin(browser.loginUrl, request, returnTo, {}), status);
  }

  function tooManyAttempts(reply: FastifyReply, since: number): FastifyReply {
    const retryAfter = Math.max(1, Math.ceil((since + windowMs - now()) / 1000));
    return sendErrorPage(
      reply,
      invalidRequest('Too many wrong codes were entered; wait before trying again.', {
        status: 429,
        headers: { 'retry-after': String(retryAfter) },
      }),
    );
  }

  /** A submitted user code: checked against the CSRF token and the attempt bounds, then looked up. */
  async function enterCode(request: FastifyRequest, reply: FastifyReply, body: DeviceBody): Promise<unknown> {
    const typed = single(body.user_code) ?? '';
    const user = await browser.getUser(request);
    if (user === null || user === undefined) return sendToLogin(request, reply, typed === '' ? undefined : typed, 303);
    const state = readState(request);
    const csrfToken = single(body.csrf_token);
    if (state === null || csrfToken === undefined || !constantTimeEqual(csrfToken, state.csrfToken)) {
      return sendErrorPage(reply, invalidRequest('The form has expired or was not sent by this server; open the page again.', { status: 403 }));
    }
    const address = request.ip;
    const at = now();
    if (state.failures >= perSession) return tooManyAttempts(reply, state.since);
    const fromAddress = addresses.count(address, at);
    if (fromAddress.failures >= perAddress) return tooManyAttempts(reply, fromAddress.since);
    const found = await server.findDeviceAuthorization(typed);
    if (found.kind === 'consent') return consent.ask(request, reply, found.request, 303);
    if (found.reason === 'unknown') {
      addresses.add(address, at);
      sessionOf(request).set(stateKey, { ...state, failures: state.failures + 1 } satisfies EntryState);
      reply.code(400);
    } else {
      reply.code(found.error.status >= 500 ? found.error.status : 400);
    }
    return showEntry(request, reply, user, typed, found.error.description ?? 'The code cannot be used.');
  }

  async function decide(request: FastifyRequest, reply: FastifyReply, body: DeviceBody): Promise<unknown> {
    const taken = await consent.take(request, single(body.csrf_token));
    if (taken instanceof OAuthError) return sendErrorPage(reply, taken);
    const { pending, user } = taken;
    const scope = body.narrow_scope === undefined ? undefined : toArray(body.granted_scope);
    const result = await server.completeDeviceAuthorization(pending.request, {
      userId: user.id,
      approved: body.decision === 'approve',
      ...(scope === undefined ? {} : { scope }),
    });
    if (result.kind === 'error') return sendErrorPage(reply, result.error);
    return sendPage(request, reply, { kind: 'done', user, approved: result.approved, clientName: result.clientName });
  }

  const devicePath = `${settings.routePrefix}/device`;

  routes.get<{ Querystring: DeviceQuery }>(
    devicePath,
    { schema: { querystring: DeviceQuery }, config: endpointConfig('device') },
    async function devicePage(request, reply) {
      const userCode = single(request.query.user_code);
      const user = await browser.getUser(request);
      if (user === null || user === undefined) return sendToLogin(request, reply, userCode, 302);
      return showEntry(request, reply, user, userCode ?? '', null);
    },
  );

  routes.post<{ Body: DeviceBody }>(
    devicePath,
    { schema: { body: DeviceBody }, config: endpointConfig('device') },
    async function deviceForm(request, reply) {
      if (request.body.decision !== undefined) return decide(request, reply, request.body);
      return enterCode(request, reply, request.body);
    },
  );
}

/** A form or query value sent once; a repeated one counts as absent. */
function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
