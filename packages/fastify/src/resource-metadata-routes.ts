import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { invalidRequest } from '@portcullis/core';
import { PROTECTED_RESOURCE_WELL_KNOWN, type ProtectedResources } from './protected-resources.js';
import { sendOAuthError } from './request-adapter.js';
import { endpointConfig } from './route-config.js';

/**
 * `GET /.well-known/oauth-protected-resource[/<path>]` (RFC 9728 section 3): the metadata of each
 * resource the guards protect, at the host's root. A path no resource has goes to the
 * application's not-found handler; other methods get a 405 with Allow.
 */
export function registerResourceMetadataRoutes(root: FastifyInstance, resources: ProtectedResources): void {
  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    const rest = (request.params as { '*'?: string })['*'];
    const document = resources.document(rest === undefined ? PROTECTED_RESOURCE_WELL_KNOWN : `${PROTECTED_RESOURCE_WELL_KNOWN}/${rest}`);
    if (document === null) return reply.callNotFound();
    // Public and cacheable, as the authorization server's metadata (RFC 9728 section 3.2).
    return reply.header('cache-control', 'public, max-age=3600').type('application/json').send(document);
  };
  const refuse = async (_request: FastifyRequest, reply: FastifyReply) =>
    sendOAuthError(reply, invalidRequest('The metadata document is read with GET.', { status: 405, headers: { allow: 'GET, HEAD' } }));
  for (const url of [PROTECTED_RESOURCE_WELL_KNOWN, `${PROTECTED_RESOURCE_WELL_KNOWN}/*`]) {
    root.get(url, { config: endpointConfig('resource_metadata') }, serve);
    root.route({ method: ['POST', 'PUT', 'PATCH', 'DELETE'], url, config: endpointConfig('resource_metadata'), handler: refuse });
  }
}
