import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OAuthError } from '@portcullis/core';
import { sendErrorPage } from './html-pages.js';
import { sendOAuthError, toWireError } from './request-adapter.js';

function logError(request: FastifyRequest, error: unknown, wire: OAuthError): void {
  // Server-side failures are logged with their cause; client mistakes are routine.
  if (wire.status >= 500) request.log.error({ err: error }, `portcullis: ${wire.error}`);
  else request.log.debug({ error: wire.error }, 'portcullis: rejected request');
}

/** The error handler of the JSON endpoints (token, revocation, introspection, metadata). */
export function handleJsonRouteError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const wire = toWireError(error);
  logError(request, error, wire);
  return sendOAuthError(reply, wire);
}

/** The error handler of the authorize endpoint: a browser is on the other end, so an HTML page. */
export function handleHtmlRouteError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const wire = toWireError(error);
  logError(request, error, wire);
  return sendErrorPage(reply, wire);
}
