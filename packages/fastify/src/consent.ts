import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  constantTimeEqual,
  invalidRequest,
  OAuthError,
  serverError,
  toUriText,
  type AuthenticatedUser,
  type AuthorizationRequest,
  type InteractionResult,
  type DeviceAuthorizationRequest,
  type OAuth1AuthorizationRequest,
} from '@portcullis/core';
import type { ScopeRegistry } from '@portcullis/scopes';
import { describeReturnHost, renderConsentPage, sendErrorPage, setPageHeaders, toFormActionSource } from './html-pages.js';
import { CONSENT_FIELDS, type ConsentContext, type LoginHints, type LoginUrl, type ResolvedOptions } from './options.js';
import { sendRedirect } from './redirects.js';

/** The part of `@fastify/session` the authorize endpoints use. */
export interface SessionLike {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
}

/** The request's session; a route reached without `@fastify/session` is a server misconfiguration. */
export function sessionOf(request: FastifyRequest): SessionLike {
  const session = (request as unknown as { session?: SessionLike }).session;
  if (session === undefined || session === null) {
    throw serverError('The authorization endpoint needs @fastify/session; it is not registered for this route.');
  }
  return session;
}

/**
 * Where an anonymous user goes: the application's login page, told where to come back.
 * `returnTo` reaches a `loginUrl` function in RFC 3986 characters, so that it can go into a
 * Location header whether or not the function encodes it.
 */
export function locateLogin(loginUrl: LoginUrl, request: FastifyRequest, returnTo: string, hints: LoginHints): string {
  if (typeof loginUrl === 'function') return loginUrl(request, toUriText(returnTo), hints);
  let url = `${loginUrl}${loginUrl.includes('?') ? '&' : '?'}next=${encodeURIComponent(returnTo)}`;
  if (hints.prompt !== undefined) url += `&prompt=${hints.prompt}`;
  if (hints.loginHint !== undefined) url += `&login_hint=${encodeURIComponent(hints.loginHint)}`;
  return url;
}

/**
 * Sends the browser back to the client with a location that carries a code, a token or a
 * verifier: nothing on the way may keep it, and the client's page may not see it in a Referer.
 */
export function sendCredentialRedirect(reply: FastifyReply, location: string, status: number): FastifyReply {
  reply.header('cache-control', 'no-store');
  reply.header('referrer-policy', 'no-referrer');
  return sendRedirect(reply, location, status);
}

/** The core's `{ status, error }` as one error for the error page, the status of the result winning. */
export function toPageError(status: number, error: OAuthError): OAuthError {
  if (error.status === status) return error;
  return new OAuthError(error.error, {
    status,
    headers: error.headers,
    ...(error.description === undefined ? {} : { description: error.description }),
  });
}

/** A form field that may come once or repeated, as a list. */
export function toArray(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** What each protocol's request adds to the consent context. */
type ProtocolContext =
  | { protocol: 'oauth2'; authorizationRequest: AuthorizationRequest }
  | { protocol: 'oauth1'; oauth1Request: OAuth1AuthorizationRequest }
  | { protocol: 'device'; deviceRequest: DeviceAuthorizationRequest };

/** The protocol-specific part of a consent flow. */
export interface ConsentProtocol<R> {
  protocol: ProtocolContext['protocol'];
  /** Whether a request read back from the session has this protocol's shape (stores hand back parsed JSON). */
  hasShape(request: Partial<R>): boolean;
  /** What this protocol's request adds to the consent context. */
  contextOf(request: R): ProtocolContext;
  /**
   * Where the decision sends the browser, for the form-action policy; `oob` yields none, and
   * null (a device authorization, decided on this server's own page) none either.
   */
  returnTarget(request: R): string | null;
  scope(request: R): readonly string[];
  /**
   * Decides, given the signed-in user or null, between login, consent and an immediate answer
   * (OpenID Connect `prompt`, `max_age`, `id_token_hint`). Without it: login when signed out,
   * else consent.
   */
  interact?(request: R, user: AuthenticatedUser | null, loginAsked: boolean): Promise<InteractionResult>;
  /** The words for the claims a scope shares, for the consent page; empty for other scopes. */
  claimsOf?(scope: string): string[];
  /**
   * Once the user is known: whether to ask them, and which requested scopes they approved before
   * (the page marks the others as new).
   */
  review(request: R, user: AuthenticatedUser): Promise<{ required: boolean; grantedScope: readonly string[] }>;
  /** Answers a request that needs no page (review said so), as an approval of all it asks. */
  approve(request: R, user: AuthenticatedUser, reply: FastifyReply, redirectStatus: number): Promise<unknown>;
}

/**
 * What the session keeps under `sessionKey` between the authorization request, login and consent.
 * Both protocols use the one key (applications keep that key across the session regeneration of
 * their login), told apart by `protocol`.
 */
export interface PendingConsent<R> {
  protocol: ProtocolContext['protocol'];
  request: R;
  /** Set when the consent page was shown: the form must post it back. */
  csrfToken?: string;
  /** Who was asked: the one who answers must be the same user. */
  userId?: string;
  /** Set when the user was sent to log in again for this request: a second stale login is refused. */
  loginAsked?: boolean;
}

export interface ConsentFlow<R> {
  /**
   * A GET back from the login page without the query resumes the request kept in the session;
   * undefined when there is none to resume.
   */
  resume(request: FastifyRequest, reply: FastifyReply): Promise<unknown> | undefined;
  /**
   * Sends an anonymous user to log in (keeping the request in the session), answers for a
   * signed-in user whose consent the protocol finds already given, or shows the consent page
   * (keeping the request with a fresh CSRF token and who was asked).
   */
  ask(request: FastifyRequest, reply: FastifyReply, pending: R, redirectStatus: number): Promise<unknown>;
  /**
   * Accepts a posted decision only when the form carries the page's CSRF token and the signed-in
   * user is the one who was asked. On success the pending request leaves the session, so a
   * replayed form finds nothing to approve; otherwise the error to show.
   */
  take(request: FastifyRequest, csrfToken: string | undefined): Promise<{ pending: PendingConsent<R>; user: AuthenticatedUser } | OAuthError>;
}

/** The login hand-off, consent page and decision check of one protocol's authorization endpoint. */
export function createConsentFlow<R>(
  protocol: ConsentProtocol<R>,
  registry: ScopeRegistry,
  settings: ResolvedOptions,
  browser: NonNullable<ResolvedOptions['browser']>,
  /** The mounted path of the authorization endpoint: the form's action and the login's return. */
  action: string,
): ConsentFlow<R> {
  const { sessionKey, renderConsent } = settings;
  const { getUser, loginUrl } = browser;

  function readPending(request: FastifyRequest): PendingConsent<R> | null {
    const value = sessionOf(request).get(sessionKey) as Partial<PendingConsent<R>> | null | undefined;
    if (value === null || typeof value !== 'object' || value.protocol !== protocol.protocol) return null;
    const pending = value.request as Partial<R> | null | undefined;
    if (pending === null || typeof pending !== 'object' || !protocol.hasShape(pending)) return null;
    return value as PendingConsent<R>;
  }

  /**
   * Keeps the request in the session and sends the user to log in. A GET comes back with its own
   * query (validated afresh); a POSTed request, or one that needs a new login although someone is
   * signed in, resumes from the session, where `loginAsked` says the login was asked for. The path
   * is ours, never the request's: `//host/...` would make it an open redirect.
   */
  function sendToLogin(request: FastifyRequest, reply: FastifyReply, pending: R, redirectStatus: number, force: boolean, loginHint: string | null): FastifyReply {
    sessionOf(request).set(sessionKey, { protocol: protocol.protocol, request: pending, ...(force && { loginAsked: true }) } satisfies PendingConsent<R>);
    const query = request.url.indexOf('?');
    const returnTo = !force && request.method === 'GET' && query !== -1 ? `${action}${request.url.slice(query)}` : action;
    const hints: LoginHints = {
      ...(force && { prompt: 'login' as const }),
      ...(loginHint !== null && { loginHint }),
    };
    reply.header('cache-control', 'no-store');
    return sendRedirect(reply, locateLogin(loginUrl, request, returnTo, hints), redirectStatus);
  }

  async function ask(request: FastifyRequest, reply: FastifyReply, pending: R, redirectStatus: number, loginAsked = false): Promise<unknown> {
    const session = sessionOf(request);
    const found: AuthenticatedUser | null | undefined = await getUser(request);
    const signedIn = found === null || found === undefined ? null : found;
    if (protocol.interact !== undefined) {
      const next = await protocol.interact(pending, signedIn, loginAsked);
      if (next.kind === 'redirect' || next.kind === 'error') {
        // Answered without the user: nothing stays pending.
        session.set(sessionKey, undefined);
        if (next.kind === 'redirect') return sendCredentialRedirect(reply, next.location, redirectStatus);
        return sendErrorPage(reply, toPageError(next.status, next.error));
      }
      if (next.kind === 'login') return sendToLogin(request, reply, pending, redirectStatus, next.force, next.loginHint);
    }
    if (signedIn === null) return sendToLogin(request, reply, pending, redirectStatus, false, null);
    const user = signedIn;
    const review = await protocol.review(pending, user);
    if (!review.required) {
      // Nothing waits any more: a resumed GET finds no request to answer twice.
      session.set(sessionKey, undefined);
      return protocol.approve(pending, user, reply, redirectStatus);
    }
    const granted = new Set(review.grantedScope);
    const csrfToken = randomBytes(32).toString('base64url');
    session.set(sessionKey, {
      protocol: protocol.protocol,
      request: pending,
      csrfToken,
      userId: user.id,
    } satisfies PendingConsent<R>);
    const target = protocol.returnTarget(pending);
    const context: ConsentContext = {
      ...protocol.contextOf(pending),
      user,
      scopes: protocol.scope(pending).map((name) => ({
        name,
        description: registry.get(name)?.description ?? null,
        claims: protocol.claimsOf?.(name) ?? [],
        granted: granted.has(name),
      })),
      returnHost: target === null ? null : describeReturnHost(target),
      action,
      csrfToken,
      fields: CONSENT_FIELDS,
    };
    // The page may not be framed, and its form may lead only back here and to where the decision
    // redirects the browser.
    setPageHeaders(reply, target === null ? undefined : toFormActionSource(target));
    reply.type('text/html; charset=utf-8');
    if (renderConsent !== undefined) {
      const rendered = await renderConsent(request, reply, context);
      return rendered === undefined ? reply : rendered;
    }
    return reply.send(renderConsentPage(context));
  }

  return {
    ask,
    resume(request, reply) {
      if (request.url.includes('?')) return undefined;
      const pending = readPending(request);
      return pending === null ? undefined : ask(request, reply, pending.request, 302, pending.loginAsked === true);
    },
    async take(request, csrfToken) {
      const pending = readPending(request);
      if (pending === null || pending.csrfToken === undefined || pending.userId === undefined) {
        return invalidRequest('No authorization request is waiting for a decision; start again from the application.');
      }
      if (csrfToken === undefined || !constantTimeEqual(csrfToken, pending.csrfToken)) {
        return invalidRequest('The consent form has expired or was not sent by this server.', { status: 403 });
      }
      const user = await getUser(request);
      if (user === null || user === undefined || user.id !== pending.userId) {
        return invalidRequest('The signed-in user is not the one who was asked.', { status: 403 });
      }
      sessionOf(request).set(sessionKey, undefined);
      return { pending, user };
    },
  };
}

