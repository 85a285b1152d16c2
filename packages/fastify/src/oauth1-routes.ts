import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  invalidRequest,
  OAuthError,
  type AuthenticatedUser,
  type OAuth1AuthorizationRequest,
  type OAuth1CompletionResult,
  type OAuth1Provider,
} from '@portcullis/core';
import type { ScopeRegistry } from '@portcullis/scopes';
import {
  describeScopes,
  locateLogin,
  sendConsentPage,
  sessionOf,
  takeConsentDecision,
  toArray,
  type PendingConsent,
  type SessionLike,
} from './consent-session.js';
import { handleHtmlRouteError, handleJsonRouteError } from './error-handler.js';
import {
  renderDeniedPage,
  renderVerifierPage,
  sendErrorPage,
  setPageHeaders,
} from './html-pages.js';
import { CONSENT_FIELDS, type ConsentContext, type ResolvedOptions } from './options.js';
import { sendRedirect } from './redirects.js';
import { sendOAuthResponse, toOAuthRequest } from './request-adapter.js';
import { endpointConfig } from './route-config.js';
import type { OAuth1Paths } from './types.js';

export interface OAuth1RouteOptions {
  provider: OAuth1Provider;
  registry: ScopeRegistry;
  settings: ResolvedOptions;
  paths: OAuth1Paths;
}

type FormBody = Record<string, string | string[] | undefined>;

/**
 * What the session keeps under `sessionKey` between the authorization request, login and
 * consent. The same key as OAuth 2's pending request (applications keep that key across the
 * session regeneration of their login), told apart by `protocol`.
 */
interface PendingOAuth1Authorization extends PendingConsent {
  protocol: 'oauth1';
  request: OAuth1AuthorizationRequest;
}

/** The pending OAuth 1.0a request, if the session holds one of the right shape (stores hand back parsed JSON). */
function readPending(session: SessionLike, key: string): PendingOAuth1Authorization | null {
  const value = session.get(key) as Partial<PendingOAuth1Authorization> | null | undefined;
  if (value === null || typeof value !== 'object' || value.protocol !== 'oauth1') return null;
  const request = value.request as Partial<OAuth1AuthorizationRequest> | null | undefined;
  if (
    request === null ||
    typeof request !== 'object' ||
    typeof request.token !== 'string' ||
    typeof request.clientId !== 'string' ||
    typeof request.clientName !== 'string' ||
    typeof request.callback !== 'string' ||
    !Array.isArray(request.scope)
  ) {
    return null;
  }
  return value as PendingOAuth1Authorization;
}

/** A form field sent once, or undefined (absent or repeated). */
function single(body: FormBody, name: string): string | undefined {
  const value = body[name];
  return typeof value === 'string' ? value : undefined;
}

function readBody(request: FastifyRequest): FormBody {
  const body = request.body;
  return body !== null && typeof body === 'object' ? (body as FormBody) : {};
}

/** The core's `{ status, error }` as one error, the status of the result winning. */
function toPageError(status: number, error: OAuthError): OAuthError {
  if (error.status === status) return error;
  return new OAuthError(error.error, {
    status,
    headers: error.headers,
    ...(error.description === undefined ? {} : { description: error.description }),
  });
}

/**
 * The OAuth 1.0a endpoints of RFC 5849 section 2: `POST request_token` and `POST access_token`
 * (form-encoded answers, JSON errors), and `GET|POST authorize` (the same login and consent
 * machinery as OAuth 2, HTML answers).
 */
export async function registerOAuth1Routes(routes: FastifyInstance, options: OAuth1RouteOptions): Promise<void> {
  await routes.register(registerCredentialRoutes, options);
  await routes.register(registerOAuth1AuthorizeRoutes, options);
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
async function registerOAuth1AuthorizeRoutes(routes: FastifyInstance, options: OAuth1RouteOptions): Promise<void> {
  const { provider, registry, settings, paths } = options;
  const { sessionKey, getUser, loginUrl, renderConsent } = settings;
  routes.setErrorHandler(handleHtmlRouteError);

  async function askConsent(
    request: FastifyRequest,
    reply: FastifyReply,
    pendingRequest: OAuth1AuthorizationRequest,
    redirectStatus: number,
  ): Promise<unknown> {
    const session = sessionOf(request);
    const user: AuthenticatedUser | null = await getUser(request);
    if (user === null || user === undefined) {
      session.set(sessionKey, { protocol: 'oauth1', request: pendingRequest } satisfies PendingOAuth1Authorization);
      // A GET comes back with its own query (checked afresh); a POSTed request resumes from the
      // session. The path is ours, never the request's: `//host/...` would make it an open redirect.
      const query = request.url.indexOf('?');
      const returnTo =
        request.method === 'GET' && query !== -1 ? `${paths.authorization}${request.url.slice(query)}` : paths.authorization;
      reply.header('cache-control', 'no-store');
      return sendRedirect(reply, locateLogin(loginUrl, request, returnTo), redirectStatus);
    }
    const csrfToken = randomBytes(32).toString('base64url');
    session.set(sessionKey, {
      protocol: 'oauth1',
      request: pendingRequest,
      csrfToken,
      userId: user.id,
    } satisfies PendingOAuth1Authorization);
    const context: ConsentContext = {
      protocol: 'oauth1',
      oauth1Request: pendingRequest,
      user,
      scopes: describeScopes(registry, pendingRequest.scope),
      action: paths.authorization,
      csrfToken,
      fields: CONSENT_FIELDS,
    };
    // `oob` yields no origin: the form then posts to this server only.
    return sendConsentPage(request, reply, context, pendingRequest.callback, renderConsent);
  }

  function sendCompletion(reply: FastifyReply, result: OAuth1CompletionResult, clientName: string): FastifyReply {
    switch (result.kind) {
      case 'redirect':
        // The location carries the verifier: nothing on the way may keep it.
        reply.header('cache-control', 'no-store');
        reply.header('referrer-policy', 'no-referrer');
        return sendRedirect(reply, result.location, 303);
      case 'verifier':
        setPageHeaders(reply);
        return reply.code(200).type('text/html; charset=utf-8').send(renderVerifierPage(clientName, result.verifier));
      case 'denied':
        if (result.location !== undefined) {
          reply.header('cache-control', 'no-store');
          reply.header('referrer-policy', 'no-referrer');
          return sendRedirect(reply, result.location, 303);
        }
        setPageHeaders(reply);
        return reply.code(200).type('text/html; charset=utf-8').send(renderDeniedPage(clientName));
      case 'error':
        return sendErrorPage(reply, toPageError(result.status, result.error));
    }
  }

  async function decide(request: FastifyRequest, reply: FastifyReply, body: FormBody): Promise<unknown> {
    const decision = single(body, CONSENT_FIELDS.decision);
    if (decision !== 'approve' && decision !== 'deny') {
      return sendErrorPage(reply, invalidRequest('The decision must be "approve" or "deny".'));
    }
    const session = sessionOf(request);
    const taken = await takeConsentDecision(
      request,
      session,
      sessionKey,
      readPending(session, sessionKey),
      single(body, CONSENT_FIELDS.csrfToken),
      getUser,
    );
    if (taken instanceof OAuthError) return sendErrorPage(reply, taken);
    const { pending, user } = taken;
    const scope =
      body[CONSENT_FIELDS.narrowScope] === undefined ? undefined : toArray(body[CONSENT_FIELDS.grantedScope]);
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
    // Back from the login page without the query: resume the request kept in the session.
    if (!request.url.includes('?')) {
      const pending = readPending(sessionOf(request), sessionKey);
      if (pending !== null) return askConsent(request, reply, pending.request, 302);
    }
    const result = await provider.validateAuthorizationRequest(toOAuthRequest(request));
    if (result.kind === 'error') return sendErrorPage(reply, toPageError(result.status, result.error));
    return askConsent(request, reply, result.request, 302);
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

  routes.post(authorizePath, { config: endpointConfig('oauth1_authorize') }, async function authorizeOrDecideOAuth1(request, reply) {
    const body = readBody(request);
    if (body[CONSENT_FIELDS.decision] !== undefined) return decide(request, reply, body);
    const result = await provider.validateAuthorizationRequest(toOAuthRequest(request));
    if (result.kind === 'error') return sendErrorPage(reply, toPageError(result.status, result.error));
    return askConsent(request, reply, result.request, 303);
  });
}
