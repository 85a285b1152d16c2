import { randomBytes } from 'node:crypto';
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
    stored?.secretRef === undefined
      ? stored
      : { kind: stored.kind, title: stored.title, lines: takeSecret(stored.secretRef) ?? ['The secret is no longer available: it is shown once, within a minute.'] };
  const page = renderPage(title, {
    user: userId ? { username: session.get('username') ?? '', isAdmin: session.get('isAdmin') === true } : null,
    csrfToken: getCsrfToken(request),
    flash,
  }, body);
  // Pages can carry secrets shown once: never cache them.
  return reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(page);
}

/**
 * Secrets waiting to be shown once (a new client secret, a token issued by hand). They stay in
 * this process's memory, never in the session, because sessions are rows in the database and
 * nothing may keep a usable secret at rest. Unclaimed ones expire after a minute.
 */
const pendingSecrets = new Map<string, { lines: string[]; expiresAt: number }>();
const SECRET_TTL_MS = 60_000;

function keepSecret(lines: string[]): string {
  const now = Date.now();
  for (const [key, entry] of pendingSecrets) if (entry.expiresAt <= now) pendingSecrets.delete(key);
  const key = randomBytes(16).toString('base64url');
  pendingSecrets.set(key, { lines, expiresAt: now + SECRET_TTL_MS });
  return key;
}

function takeSecret(key: string): string[] | null {
  const entry = pendingSecrets.get(key);
  pendingSecrets.delete(key);
  return entry && entry.expiresAt > Date.now() ? entry.lines : null;
}

/** Stores a message for the next page (post/redirect/get keeps secrets out of history reloads). */
export function setFlash(request: FastifyRequest, kind: 'notice' | 'secret' | 'error', title: string, lines: string[] = []): void {
  if (kind === 'secret') request.session.set('flash', { kind, title, lines: [], secretRef: keepSecret(lines) });
  else request.session.set('flash', { kind, title, lines });
}

/**
 * A same-site relative path to go back to after login, or `/`. Refuses absolute URLs,
 * protocol-relative `//host` and the `/\host` form browsers read as one: an open redirect otherwise.
 */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || value.length > 2048) return '/';
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/';
  // Control characters (CR, LF, tabs) could split a Location header or be read as part of a host.
  if ([...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return '/';
  return value;
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
