import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { invalidClientMetadata, invalidRequest, type AuthorizationServer } from '@portcullis/core';
import type { ResolvedOptions } from './options.js';
import { sendOAuthError, sendOAuthResponse, toOAuthRequest, toWireError } from './request-adapter.js';
import { endpointConfig } from './route-config.js';
import { ClientIdParams, ClientMetadataBody } from './schemas.js';

export interface RegistrationRouteOptions {
  server: AuthorizationServer;
  settings: ResolvedOptions;
}

/**
 * Dynamic client registration (RFC 7591) at `<routePrefix>/register` and client management
 * (RFC 7592) at `<routePrefix>/register/:clientId`, in a context of their own that parses JSON
 * bodies only. The routes carry the endpoint names `register` and `register_client` in their
 * config, so the application's rate limiter finds them (see the README).
 */
export async function registerRegistrationRoutes(routes: FastifyInstance, options: RegistrationRouteOptions): Promise<void> {
  const { server, settings } = options;
  routes.setErrorHandler(handleRegistrationError);
  // The schemas as written, without Fastify's default type coercion: RFC 7591 metadata is JSON
  // whose types are part of the contract (a string is not a one-element list, nor a list an object).
  routes.setValidatorCompiler(({ schema }) => {
    const check = TypeCompiler.Compile(schema as TSchema);
    return (data: unknown) => {
      if (check.Check(data)) return { value: data };
      const first = check.Errors(data).First();
      return { error: new Error(first === undefined ? 'invalid' : `${first.path || 'body'} ${first.message}`) };
    };
  });
  const url = `${settings.routePrefix}/register`;
  const schema = { body: ClientMetadataBody };

  routes.post<{ Body: ClientMetadataBody }>(
    url,
    { schema, attachValidation: true, config: endpointConfig('register') },
    async (request, reply) => {
      if (request.validationError) return sendOAuthError(reply, invalidClientMetadata(`The client metadata is malformed: ${request.validationError.message}.`));
      return sendOAuthResponse(reply, await server.handleClientRegistration(toOAuthRequest(request), request.body));
    },
  );
  routes.route({
    method: ['GET', 'PUT', 'PATCH', 'DELETE'],
    url,
    config: endpointConfig('register'),
    handler: async (_request, reply) =>
      sendOAuthError(reply, invalidRequest('Clients are registered with POST.', { status: 405, headers: { allow: 'POST' } })),
  });

  const clientUrl = `${url}/:clientId`;
  const config = endpointConfig('register_client');
  const manage = async (request: FastifyRequest<{ Params: ClientIdParams; Body?: ClientMetadataBody }>, reply: FastifyReply) => {
    if (request.validationError) return sendOAuthError(reply, invalidClientMetadata(`The client metadata is malformed: ${request.validationError.message}.`));
    const body = request.method === 'PUT' ? request.body : undefined;
    return sendOAuthResponse(reply, await server.handleClientConfiguration(toOAuthRequest(request), request.params.clientId, body));
  };
  routes.route<{ Params: ClientIdParams }>({ method: ['GET', 'DELETE'], url: clientUrl, schema: { params: ClientIdParams }, config, handler: manage });
  routes.put<{ Params: ClientIdParams; Body: ClientMetadataBody }>(
    clientUrl,
    { schema: { params: ClientIdParams, body: ClientMetadataBody }, attachValidation: true, config },
    manage,
  );
  routes.route({
    method: ['POST', 'PATCH'],
    url: clientUrl,
    config: endpointConfig('register_client'),
    handler: async (_request, reply) =>
      sendOAuthError(reply, invalidRequest('A registered client is read, replaced or deleted.', { status: 405, headers: { allow: 'GET, PUT, DELETE' } })),
  });
}

/** Anything thrown on these routes as an RFC-shaped error; a body of another type is named as JSON's. */
function handleRegistrationError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const code = error.code;
  const wire =
    code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || code === 'FST_ERR_CTP_INVALID_JSON_BODY' || code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
      ? invalidRequest('The request body must be a JSON object (application/json).')
      : toWireError(error);
  if (wire.status >= 500) request.log.error({ err: error }, `portcullis: ${wire.error}`);
  return sendOAuthError(reply, wire);
}
