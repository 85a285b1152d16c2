import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  invalidRequest,
  OAuthError,
  type OAuth1AuthorizationRequest,
  type OAuth1CompletionResult,
  type OAuth1Provider,
} from '@portcullis/core';
import type { ScopeRegistry } from '@portcullis/scopes';
import { createConsentFlow, sendCredentialRedirect, toArray, toPageError, type ConsentProtocol } from './consent.js';
import { handleHtmlRouteError, handleJsonRouteError } from './error-handler.js';
import {
  renderDeniedPage,
  renderVerifierPage,
  sendErrorPage,
  setPageHeaders,
} from './html-pages.js';
import type { ResolvedOptions } from './options.js';
import { sendOAuthResponse, toOAuthRequest } from './request-adapter.js';
import { endpointConfig } from './route-config.js';
import { OAuth1AuthorizeBody } from './schemas.js';
import type { OAuth1Paths } from './types.js';

export interface OAuth1RouteOptions {
  provider: OAuth1Provider;
  registry: ScopeRegistry;
  settings: ResolvedOptions;
  paths: OAuth1Paths;
}


/** The OAuth 1.0a side of the consent flow. */
const oauth1Consent: ConsentProtocol<OAuth1AuthorizationRequest> = {
  protocol: 'oauth1',
  hasShape: (request) =>
    typeof request.token === 'string' &&
    typeof request.clientId === 'string' &&
    typeof request.clientName === 'string' &&
    typeof request.callback === 'string' &&
    Array.isArray(request.scope),
  contextOf: (request) => ({ protocol: 'oauth1', oauth1Request: request }),
  // `oob` yields no origin: the form then posts to this server only.
  returnTarget: (request) => request.callback,
  scope: (request) => request.scope,
  // OAuth 1.0a approvals are not remembered: every request token is approved on the page.
  review: async () => ({ required: true, grantedScope: [] }),
  approve: async () => {
    throw new Error('an OAuth 1.0a request is always approved on the consent page');
  },
};

/**
 * The OAuth 1.0a endpoints of RFC 5849 section 2: `POST request_token` and `POST access_token`
 * (form-encoded answers, JSON errors), and `GET|POST authorize` (the same login and consent
 * machinery as OAuth 2, HTML answers).
 */
export async function registerOAuth1Routes(routes: FastifyInstance, options: OAuth1RouteOptions): Promise<void> {
  await routes.register(registerCredentialRoutes, options);
  const { browser } = options.settings;
  if (browser !== null) await routes.register(registerOAuth1AuthorizeRoutes, { ...options, browser });
}

/** Temporary and token credentials (sections 2.1 and 2.3): machine endpoints. */
async function registerCredentialRoutes(routes: FastifyInstance, options: OAuth1RouteOptions): Promise<void> {
  const { provider, settings } = options;
  routes.setErrorHandler(handleJsonRouteError);
  const handlers = {
    request_token: (request: FastifyRequest) => provider.handleRequestTokenRequest(toOAuthRequest(request)),
    access_token: (request: FastifyRequest) => provider.handleAccessTokenRequest(toOAuthRequest(request)),
  };
  for (const [name, handle] of Object.entries(handlers)) {
    // Every method reaches the core, which answers anything but POST with 405 and Allow.
    routes.route({
      method: ['POST', 'GET', 'PUT', 'PATCH', 'DELETE'],
      url: `${settings.oauth1RoutePrefix}/${name}`,
      config: endpointConfig(name === 'request_token' ? 'oauth1_request_token' : 'oauth1_access_token'),
      handler: async (request, reply) => sendOAuthResponse(reply, await handle(request)),
    });
  }
}

/** Resource owner authorization (section 2.2): a browser is on the other end. */
async function registerOAuth1AuthorizeRoutes(
  routes: FastifyInstance,
  options: OAuth1RouteOptions & { browser: NonNullable<ResolvedOptions['browser']> },
): Promise<void> {
  const { provider, registry, settings, paths } = options;
  const consent = createConsentFlow(oauth1Consent, registry, settings, options.browser, paths.authorization);
  routes.setErrorHandler(handleHtmlRouteError);

  function sendCompletion(reply: FastifyReply, result: OAuth1CompletionResult, clientName: string): FastifyReply {
    switch (result.kind) {
      case 'redirect':
        return sendCredentialRedirect(reply, result.location, 303);
      case 'verifier':
        setPageHeaders(reply);
        return reply.code(200).type('text/html; charset=utf-8').send(renderVerifierPage(clientName, result.verifier));
      case 'denied':
        if (result.location !== undefined) return sendCredentialRedirect(reply, result.location, 303);
        setPageHeaders(reply);
        return reply.code(200).type('text/html; charset=utf-8').send(renderDeniedPage(clientName));
      case 'error':
        return sendErrorPage(reply, toPageError(result.status, result.error));
    }
  }

  async function decide(
    request: FastifyRequest,
    reply: FastifyReply,
    body: OAuth1AuthorizeBody,
    decision: 'approve' | 'deny',
  ): Promise<unknown> {
    const taken = await consent.take(request, body.csrf_token);
    if (taken instanceof OAuthError) return sendErrorPage(reply, taken);
    const { pending, user } = taken;
    const scope = body.narrow_scope === undefined ? undefined : toArray(body.granted_scope);
    if (decision === 'approve' && scope !== undefined && scope.length === 0) {
      return sendErrorPage(reply, new OAuthError('invalid_scope', { description: 'Approve at least one permission, or deny.' }));
    }
    const result = await provider.completeAuthorization(pending.request.token, {
      userId: user.id,
      approved: decision === 'approve',
      ...(scope === undefined ? {} : { scope }),
    });
    return sendCompletion(reply, result, pending.request.clientName);
  }

  const authorizePath = `${settings.oauth1RoutePrefix}/authorize`;

  routes.get(authorizePath, { config: endpointConfig('oauth1_authorize') }, async function authorizeOAuth1(request, reply) {
    const resumed = consent.resume(request, reply);
    if (resumed !== undefined) return resumed;
    const result = await provider.validateAuthorizationRequest(toOAuthRequest(request));
    if (result.kind === 'error') return sendErrorPage(reply, toPageError(result.status, result.error));
    return consent.ask(request, reply, result.request, 302);
  });

  routes.route({
    method: ['PUT', 'PATCH', 'DELETE'],
    url: authorizePath,
    config: endpointConfig('oauth1_authorize'),
    handler: async (_request, reply) =>
      sendErrorPage(
        reply,
        invalidRequest('The authorization endpoint takes GET or POST.', { status: 405, headers: { allow: 'GET, POST' } }),
      ),
  });

  routes.post<{ Body: OAuth1AuthorizeBody }>(
    authorizePath,
    { schema: { body: OAuth1AuthorizeBody }, config: endpointConfig('oauth1_authorize') },
    async function authorizeOrDecideOAuth1(request, reply) {
      const { decision } = request.body;
      if (decision !== undefined) return decide(request, reply, request.body, decision);
      const result = await provider.validateAuthorizationRequest(toOAuthRequest(request));
      if (result.kind === 'error') return sendErrorPage(reply, toPageError(result.status, result.error));
      return consent.ask(request, reply, result.request, 303);
    },
  );
}
