import type {} from '@fastify/session';
import { randomBytes } from 'node:crypto';
import { constantTimeEqual } from '@portcullis/core';
import type { FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface Session {
    userId?: string;
    username?: string;
    isAdmin?: boolean;
    /** When the user last entered their password, in milliseconds: OpenID Connect's auth_time. */
    authTime?: number;
    csrfToken?: string;
    /** A secret shown once (new client secret, issued token), displayed on the next page load then dropped. */
    flash?: { kind: 'notice' | 'secret' | 'error'; title: string; lines: string[]; /** The secret's lines sealed with the demo's key (respond.ts). */ sealed?: string };
  }
}

/** The session's CSRF token (synchronizer pattern), made on first use. */
export function getCsrfToken(request: FastifyRequest): string {
  let token = request.session.get('csrfToken');
  if (!token) {
    // A secret, so all of it is random (row ids carry a timestamp).
    token = randomBytes(32).toString('base64url');
    request.session.set('csrfToken', token);
  }
  return token;
}

/** Whether the form's `_csrf` field matches the session's token, compared in constant time. */
export function checkCsrfToken(request: FastifyRequest, sent: unknown): boolean {
  const expected = request.session.get('csrfToken');
  return typeof expected === 'string' && typeof sent === 'string' && constantTimeEqual(expected, sent);
}
