import type { FastifyRequest } from 'fastify';
import { serverError } from '@portcullis/core';
import type { LoginUrl } from './options.js';

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
