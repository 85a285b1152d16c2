import { OAuthError, toOAuthError } from '@portcullis/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { html } from './html.js';
import { sendPage } from './pages/respond.js';

/** Whether the route answers machines (JSON) rather than people (HTML pages). */
export function isMachineRoute(url: string): boolean {
  return /^\/(api|oauth2?|oauth1|token|mcp)(\/|\?|$)/.test(url);
}

/**
 * The demo's own routes answer every error in the RFC shape (`{error, error_description}`) or as a
 * page, never with Fastify's default body; a 5xx never shows its message, which may name SQL or hosts.
 * (The plugin's routes have their own handler.)
 */
export function handleDemoError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  let wire: OAuthError;
  const status = (error as FastifyError).statusCode;
  if (error instanceof OAuthError) wire = error;
  else if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's own client errors: a malformed JSON body, an unsupported content type, too large a body.
    wire = new OAuthError('invalid_request', { status, description: error.message });
  } else wire = toOAuthError(error);
  if (wire.status >= 500) request.log.error({ err: error }, `demo: ${wire.error}`);
  if (isMachineRoute(request.url)) {
    return reply.code(wire.status).headers(wire.headers).header('cache-control', 'no-store').send(wire.toJSON());
  }
  const text = wire.status >= 500 ? 'Something went wrong on our side; please try again.' : (wire.description ?? wire.error);
  return sendPage(request, reply, 'Error', html`<p>${text}</p>`, wire.status);
}
