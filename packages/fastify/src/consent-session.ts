import type { FastifyReply, FastifyRequest } from 'fastify';
import { serverError } from '@portcullis/core';
import { renderConsentPage, setPageHeaders, toFormActionSource } from './html-pages.js';
import type { ConsentContext, LoginUrl, RenderConsent } from './options.js';

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

/** Where an anonymous user goes: the application's login page, told where to come back. */
export function locateLogin(loginUrl: LoginUrl, request: FastifyRequest, returnTo: string): string {
  if (typeof loginUrl === 'function') return loginUrl(request, returnTo);
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
