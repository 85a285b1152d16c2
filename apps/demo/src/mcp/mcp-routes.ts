import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { invalidToken, OAuthError } from '@portcullis/core';
import { formatBearerChallenge, sendOAuthError, type ScopeGuard } from '@portcullis/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DemoServices } from '../services.js';
import { createPollsMcpServer, MCP_TOOL_SCOPES, type McpToolName, type PollsAuthExtra } from './polls-mcp-server.js';

export interface McpRouteOptions {
  /** The MCP server's resource identifier (RFC 8707, RFC 9728): its URL; the route is served at its path. */
  resource: string;
  /** The realm of the plugin's bearer challenges (its issuer). */
  realm: string;
}

/** The request headers the Streamable HTTP transport reads; the token stays out of its copy. */
const TRANSPORT_HEADERS = ['accept', 'content-type', 'mcp-protocol-version', 'mcp-session-id', 'last-event-id'];

/** The scopes of the tools a JSON-RPC message (or batch) calls, sorted; empty when it calls none. */
export function scopesNeeded(body: unknown): string[] {
  const scopes = new Set<string>();
  for (const message of Array.isArray(body) ? body : [body]) {
    if (message === null || typeof message !== 'object') continue;
    const { method, params } = message as { method?: unknown; params?: { name?: unknown } };
    const name = params?.name;
    if (method === 'tools/call' && typeof name === 'string' && Object.hasOwn(MCP_TOOL_SCOPES, name)) {
      scopes.add(MCP_TOOL_SCOPES[name as McpToolName]);
    }
  }
  return [...scopes].sort();
}

/**
 * The polls MCP server over Streamable HTTP (MCP 2025-11-25, "Transports"), stateless: each POST
 * gets a server and a transport of its own, answered with JSON, and GET and DELETE (a server's
 * SSE stream, a session's end) are 405 as the transport section allows.
 *
 * Every request needs a valid bearer token issued for `options.resource`: its audience must name
 * the MCP server (RFC 8707; MCP authorization, "Token Audience Binding and Validation"), so a
 * token for the demo's API, passed through, is a 401 `invalid_token`. The plugin's `requireScope`
 * answers with its challenge, naming the resource's metadata (RFC 9728 section 5.1), which the
 * plugin serves at `/.well-known/oauth-protected-resource/mcp`. A `tools/call` needs the tool's
 * scope too, checked before the MCP server runs, so that too little scope is the plugin's
 * `403 insufficient_scope` naming the scope to ask for (MCP "Scope Challenge Handling";
 * RFC 6750 section 3.1).
 */
export async function registerMcpRoutes(fastify: FastifyInstance, services: DemoServices, options: McpRouteOptions): Promise<void> {
  const resourceUrl = new URL(options.resource);
  const path = resourceUrl.pathname;
  // A guard per set of scopes, each made once: any valid token (no scope) and each tool's scope now,
  // so the plugin knows these scopes before any request; a batch calling several tools, when first met.
  const guards = new Map<string, ScopeGuard>();
  const guardFor = (scopes: string[]): ScopeGuard => {
    const key = scopes.join(' ');
    let guard = guards.get(key);
    if (guard === undefined) {
      guard = fastify.requireScope(...scopes, { resource: options.resource });
      guards.set(key, guard);
    }
    return guard;
  };
  const anyToken = guardFor([]);
  for (const scope of Object.values(MCP_TOOL_SCOPES)) guardFor([scope]);
  const toolGuard = async (request: FastifyRequest, reply: FastifyReply) => guardFor(scopesNeeded(request.body))(request, reply);
  // An OAuth 1.0a signed request carries no bearer token and no audience: MCP takes bearer tokens
  // in the Authorization header only (MCP authorization, "Token Requirements"). The refusal is
  // the guards' challenge: the scope the message needs and where the resource's metadata is.
  const resourceMetadata = fastify.oauth.resourceMetadataUrl(options.resource) ?? undefined;
  const description = 'The MCP server accepts OAuth 2 bearer tokens only.';
  const bearerOnly = async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.oauth?.protocol === 'oauth2') return undefined;
    const scope = scopesNeeded(request.body).join(' ');
    const challenge = formatBearerChallenge(options.realm, invalidToken(description), { scope, resourceMetadata });
    return sendOAuthError(reply, new OAuthError('invalid_token', { status: 401, description, headers: { 'www-authenticate': challenge } }));
  };

  fastify.post(path, { preHandler: [toolGuard, bearerOnly] }, async (request, reply) => {
    const auth = request.oauth!;
    const authorization = request.headers.authorization ?? '';
    const extra: PollsAuthExtra = { userId: auth.userId };
    const authInfo: AuthInfo = {
      token: authorization.slice(authorization.indexOf(' ') + 1).trim(),
      clientId: auth.clientId,
      scopes: [...auth.scope],
      // The guard let the token in only because its audience names this resource.
      resource: resourceUrl,
      extra,
    };

    const headers = new Headers();
    for (const name of TRANSPORT_HEADERS) {
      const value = request.headers[name];
      if (typeof value === 'string') headers.set(name, value);
    }
    const server = createPollsMcpServer(services.db, request.log);
    const transport = new WebStandardStreamableHTTPServerTransport({ enableJsonResponse: true });
    await server.connect(transport);
    try {
      const response = await transport.handleRequest(new Request(options.resource, { method: 'POST', headers }), { authInfo, parsedBody: request.body });
      reply.code(response.status);
      response.headers.forEach((value, name) => void reply.header(name, value));
      return reply.header('cache-control', 'no-store').send(Buffer.from(await response.arrayBuffer()));
    } finally {
      await server.close();
    }
  });

  const methodNotAllowed = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply
      .code(405)
      .header('allow', 'POST')
      .header('cache-control', 'no-store')
      .send({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this server keeps no sessions and opens no SSE stream.' }, id: null });
  fastify.route({ method: ['GET', 'DELETE'], url: path, preHandler: [anyToken, bearerOnly], handler: methodNotAllowed });
}
