import type { FastifyReply } from 'fastify';
import { isUriText, serverError } from '@portcullis/core';
import { sendErrorPage } from './html-pages.js';

/**
 * Sends the browser to `location` when a Location header can carry it as it stands: RFC 3986
 * characters only (`isUriText`). The core builds its locations that way and refuses stored URIs
 * that are not; this guards what else reaches a redirect (an application's `loginUrl` function),
 * since Node refuses some such headers only when the reply is written, after the route is done,
 * where the failure would escape as a framework 500 or an unhandled rejection. Otherwise the
 * server's error page, 500: the fault is the server's. The location itself is not logged, as
 * it may carry a code or a token.
 */
export function sendRedirect(reply: FastifyReply, location: string, status: number): FastifyReply {
  if (typeof location === 'string' && isUriText(location)) return reply.redirect(location, status);
  reply.log.error('portcullis: a redirect location holds characters outside RFC 3986; the error page was sent instead');
  return sendErrorPage(reply, serverError('The authorization server could not redirect the browser.'));
}
