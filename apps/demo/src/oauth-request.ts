import { invalidRequest, OAuthError, toOAuthError, type OAuthRequest, type OAuthResponse } from '@portcullis/core';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Whether the body was sent as `application/x-www-form-urlencoded` (the only body OAuth reads). */
export function isFormRequest(request: FastifyRequest): boolean {
  const type = request.headers['content-type'];
  return type !== undefined && type.split(';', 1)[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/** The core's plain request from a Fastify one, for the routes the demo mounts itself. */
export function toOAuthRequest(request: FastifyRequest): OAuthRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  const body = isFormRequest(request) && request.body && typeof request.body === 'object' ? (request.body as Record<string, string | string[]>) : undefined;
  let url: URL;
  try {
    // Concatenated, not resolved against a base: a path of `//host/x` must stay a path.
    url = new URL(`${request.protocol}://${request.host}${request.url}`);
  } catch (cause) {
    throw invalidRequest('The Host header is malformed.', { cause });
  }
  return {
    method: request.method,
    url,
    headers,
    body,
    secure: request.protocol === 'https',
  };
}

export function sendOAuthResponse(reply: FastifyReply, response: OAuthResponse): FastifyReply {
  return reply.code(response.status).headers(response.headers).send(response.body);
}

/**
 * Runs a core endpoint for a route the demo mounts: anything thrown (a malformed request, a
 * storage failure) answers in the RFC's JSON shape, never as Fastify's default 500.
 */
export async function answerOAuth(reply: FastifyReply, run: () => Promise<OAuthResponse>): Promise<FastifyReply> {
  try {
    return sendOAuthResponse(reply, await run());
  } catch (error) {
    const wire = error instanceof OAuthError ? error : toOAuthError(error);
    if (wire.status >= 500) reply.log.error({ err: error }, `demo: ${wire.error}`);
    return reply.code(wire.status).headers(wire.headers).header('cache-control', 'no-store').send(wire.toJSON());
  }
}
