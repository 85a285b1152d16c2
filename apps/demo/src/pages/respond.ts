import type { FastifyReply, FastifyRequest } from 'fastify';
import { getCsrfToken } from '../csrf.js';
import { html, type SafeHtml } from '../html.js';
import { renderPage } from './layout.js';

/** Renders a page for the session's user, showing (and dropping) a one-time flash. */
export function sendPage(request: FastifyRequest, reply: FastifyReply, title: string, body: SafeHtml, status = 200): FastifyReply {
  const session = request.session;
  const userId = session.get('userId');
  const stored = session.get('flash');
  if (stored) session.set('flash', undefined);
  const flash =
    stored?.sealed === undefined
      ? stored
      : { kind: stored.kind, title: stored.title, lines: openSecret(request, stored.sealed) ?? ['The secret is no longer available: it is shown once, within a minute.'] };
  const page = renderPage(title, {
    user: userId ? { username: session.get('username') ?? '', isAdmin: session.get('isAdmin') === true } : null,
    csrfToken: getCsrfToken(request),
    flash,
  }, body);
  // Pages can carry secrets shown once: never cache them.
  return reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(page);
}

/**
 * Secrets waiting to be shown once (a new client secret, a token issued by hand) ride in the
 * session, so the next page can be served by any instance; but sessions are stored (Redis or the
 * database) and nothing may keep a usable secret at rest, so they are sealed with the demo's key
 * (AES-256-GCM) and carry an expiry. The first page that shows one drops it from the session.
 */
const SECRET_TTL_MS = 60_000;

function sealSecret(request: FastifyRequest, lines: string[]): string {
  return request.server.demo.flashBox.encrypt(JSON.stringify({ lines, expiresAt: Date.now() + SECRET_TTL_MS }));
}

function openSecret(request: FastifyRequest, sealed: string): string[] | null {
  try {
    const { lines, expiresAt } = JSON.parse(request.server.demo.flashBox.decrypt(sealed)) as { lines: string[]; expiresAt: number };
    return expiresAt > Date.now() ? lines : null;
  } catch {
    // Sealed under another key (rotated since) or damaged: as good as expired.
    return null;
  }
}

/** Stores a message for the next page (post/redirect/get keeps secrets out of history reloads). */
export function setFlash(request: FastifyRequest, kind: 'notice' | 'secret' | 'error', title: string, lines: string[] = []): void {
  if (kind === 'secret') request.session.set('flash', { kind, title, lines: [], sealed: sealSecret(request, lines) });
  else request.session.set('flash', { kind, title, lines });
}

// RFC 3986 section 3.3 to 3.5: what a path, query and fragment may hold; anything else (controls,
// spaces, `\`, non-ASCII) is no valid URI reference, and Node refuses it in a Location header.
const URI_CHAR = String.raw`[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2}`;
const RETURN_PATH = new RegExp(String.raw`^/(?![/\\])(?:${URI_CHAR})*(?:#(?:${URI_CHAR})*)?$`);

/**
 * A same-origin relative path to go back to after login, or `/`. Only a path-absolute URI
 * reference (RFC 3986 section 4.2) made of URI characters passes: never an absolute URL, never
 * the protocol-relative `//host` or the `/\host` browsers read as one (an open redirect
 * otherwise), never a character that could split or break the Location header.
 */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || value.length > 2048) return '/';
  return RETURN_PATH.test(value) ? value : '/';
}

/** A preHandler for pages that need a logged-in user: anyone else goes to /login and comes back. */
// An async hook that answers must return the reply, or Fastify goes on to the handler.
export async function requireLogin(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  if (request.session.get('userId')) return undefined;
  return reply.redirect(`/login?returnTo=${encodeURIComponent(request.url)}`, 303);
}

/** A preHandler for the admin pages: logged in (else /login), and an admin (else 403). */
export async function requireAdmin(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  if (!request.session.get('userId')) return reply.redirect(`/login?returnTo=${encodeURIComponent(request.url)}`, 303);
  if (request.session.get('isAdmin') !== true) return sendPage(request, reply, 'Forbidden', html`<p>This page is for administrators.</p>`, 403);
  return undefined;
}

/** A form field as one string: a repeated field or none at all is undefined. */
export function field(body: unknown, name: string): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** A form field that may repeat (checkboxes), always as a list of strings. */
export function fieldList(body: unknown, name: string): string[] {
  if (body === null || typeof body !== 'object') return [];
  const value = (body as Record<string, unknown>)[name];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}
