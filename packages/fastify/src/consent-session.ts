import type { FastifyReply, FastifyRequest } from 'fastify';
import { constantTimeEqual, invalidRequest, serverError, toUriText, type AuthenticatedUser, type OAuthError } from '@portcullis/core';
import { renderConsentPage, setPageHeaders, toFormActionSource } from './html-pages.js';
import type { ScopeRegistry } from '@portcullis/scopes';
import type { ConsentContext, GetUser, LoginUrl, RenderConsent } from './options.js';

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
export function locateLogin(loginUrl: LoginUrl, request: FastifyRequest, returnTo: string): string {
  if (typeof loginUrl === 'function') return loginUrl(request, toUriText(returnTo));
  return `${loginUrl}${loginUrl.includes('?') ? '&' : '?'}next=${encodeURIComponent(returnTo)}`;
}

/**
 * Answers with the consent page of either protocol: the application's `renderConsent` or the
 * default page, under headers that forbid framing and let the form lead only back here and to
 * `returnTarget` (where the decision redirects the browser; `oob` or an error page has none).
 */
export async function sendConsentPage(
  request: FastifyRequest,
  reply: FastifyReply,
  context: ConsentContext,
  returnTarget: string,
  renderConsent: RenderConsent | undefined,
): Promise<unknown> {
  setPageHeaders(reply, toFormActionSource(returnTarget));
  reply.type('text/html; charset=utf-8');
  if (renderConsent !== undefined) {
    const rendered = await renderConsent(request, reply, context);
    return rendered === undefined ? reply : rendered;
  }
  return reply.send(renderConsentPage(context));
}

/** What the session keeps of a request waiting for the user, in either protocol. */
export interface PendingConsent {
  /** Set when the consent page was shown: the form must post it back. */
  csrfToken?: string;
  /** Who was asked: the one who answers must be the same user. */
  userId?: string;
}

/**
 * Accepts a posted consent decision for `pending` (read from the session under `sessionKey`) only
 * when the form carries the page's CSRF token and the signed-in user is the one who was asked.
 * On success the pending request leaves the session, so a replayed form finds nothing to approve.
 */
export async function takeConsentDecision<P extends PendingConsent>(
  request: FastifyRequest,
  session: SessionLike,
  sessionKey: string,
  pending: P | null,
  csrfToken: string | undefined,
  getUser: GetUser,
): Promise<{ pending: P; user: AuthenticatedUser } | OAuthError> {
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
  session.set(sessionKey, undefined);
  return { pending, user };
}

/** A form field that may come once or repeated, as a list. */
export function toArray(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** The requested scopes as the consent page lists them: each with the registry's description. */
export function describeScopes(registry: ScopeRegistry, names: readonly string[]): ConsentContext['scopes'] {
  return names.map((name) => ({ name, description: registry.get(name)?.description ?? null }));
}
