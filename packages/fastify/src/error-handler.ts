import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { invalidRequest, OAuthError, StorageError, toOAuthError } from '@portcullis/core';
import { sendErrorPage } from './html-pages.js';
import { sendOAuthError } from './request-adapter.js';

/**
 * Maps anything thrown on an OAuth route to the OAuth error of the wire, so no Fastify default
 * error body ever reaches a client: schema failures, unparsable or oversized bodies and other
 * content types are `invalid_request`; storage failures `503 temporarily_unavailable`.
 */
export function toWireError(error: unknown): OAuthError {
  if (error instanceof OAuthError || error instanceof StorageError) return toOAuthError(error);
  const fastifyError = error as Partial<FastifyError> | null;
  if (fastifyError?.validation !== undefined) {
    return invalidRequest(`The request is malformed: ${fastifyError.message ?? 'a parameter is invalid'}.`);
  }
  const code = fastifyError?.code;
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || code === 'FST_ERR_CTP_INVALID_TYPE') {
    return invalidRequest('The request body must be application/x-www-form-urlencoded.');
  }
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return invalidRequest('The request body is too large.', { status: 413 });
  }
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return invalidRequest('The request could not be read.');
  }
  return toOAuthError(error);
}

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
