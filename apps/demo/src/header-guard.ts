import { serverError } from '@portcullis/core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { validateHeaderValue } from 'node:http';
import { isMachineRoute } from './error-handler.js';
import { html } from './html.js';
import { renderPage } from './pages/layout.js';

const MESSAGE = 'Something went wrong on our side; please try again.';

function isValidValue(name: string, value: unknown): boolean {
  const values = Array.isArray(value) ? (value as unknown[]) : [value];
  try {
    for (const item of values) validateHeaderValue(name, String(item));
    return true;
  } catch {
    return false;
  }
}

/**
 * Node refuses to write a header value holding a character outside its field-value grammar
 * (RFC 9110 section 5.5): the write throws, and the request would be left without an answer.
 * Every response passes this check first: a header that would be refused is dropped (a redirect
 * loses its Location with it, since it no longer goes anywhere) and the answer becomes a plain
 * error, a page for people and the RFC 6749 shape for machines, with the cause logged.
 *
 * Registered before the session plugin, whose onSend hook then saves the session as usual.
 */
export function registerHeaderGuard(fastify: FastifyInstance): void {
  fastify.addHook('onSend', async (request, reply, payload) => {
    const refused = Object.entries(reply.getHeaders()).filter(([name, value]) => !isValidValue(name, value));
    if (refused.length === 0) return payload;
    request.log.error({ headers: refused.map(([name]) => name) }, 'demo: a response header held characters HTTP does not allow; answered an error instead');
    for (const [name] of refused) reply.removeHeader(name);
    reply.removeHeader('location');
    return errorPayload(reply, isMachineRoute(request.url));
  });
}

function errorPayload(reply: FastifyReply, machine: boolean): string {
  reply.code(500).header('cache-control', 'no-store').removeHeader('content-length');
  if (machine) {
    reply.type('application/json; charset=utf-8');
    return JSON.stringify(serverError(MESSAGE).toJSON());
  }
  reply.type('text/html; charset=utf-8');
  return renderPage('Error', { user: null, csrfToken: '' }, html`<p>${MESSAGE}</p>`);
}
