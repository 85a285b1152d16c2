import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  OAuthError,
  serverError,
  type AuthorizationRequest,
  type AuthorizationServer,
  type AuthorizeResult,
  type AuthenticatedUser,
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
import { handleHtmlRouteError } from './error-handler.js';
import { sendErrorPage } from './html-pages.js';
import type { ConsentContext, ResolvedOptions } from './options.js';
import { CONSENT_FIELDS } from './options.js';
import { sendRedirect } from './redirects.js';
import { toOAuthRequest } from './request-adapter.js';
import { AuthorizeBody, AuthorizeQuery } from './schemas.js';
import type { MountedPaths } from './types.js';
import { endpointConfig } from './route-config.js';

export interface AuthorizeRouteOptions {
  server: AuthorizationServer;
  registry: ScopeRegistry;
  settings: ResolvedOptions;
  paths: MountedPaths;
}

/** What the session keeps under `sessionKey` between the authorization request, login and consent. */
interface PendingAuthorization extends PendingConsent {
  request: AuthorizationRequest;
}

/** The pending request, if the session holds one of the right shape (stores hand back parsed JSON). */
function readPending(session: SessionLike, key: string): PendingAuthorization | null {
  const value = session.get(key) as Partial<PendingAuthorization> | null | undefined;
  if (value === null || typeof value !== 'object') return null;
  const request = value.request as Partial<AuthorizationRequest> | undefined;
  if (
    request === null ||
    typeof request !== 'object' ||
    typeof request.clientId !== 'string' ||
    typeof request.redirectUri !== 'string' ||
    !Array.isArray(request.scope)
  ) {
    return null;
  }
  return value as PendingAuthorization;
}

/** `GET|POST {routePrefix}/authorize`: the authorization request, login hand-off, consent and decision. */
export async function registerAuthorizeRoutes(routes: FastifyInstance, options: AuthorizeRouteOptions): Promise<void> {
  const { server, registry, settings, paths } = options;
  const { sessionKey, getUser, loginUrl, renderConsent } = settings;

  routes.setErrorHandler(handleHtmlRouteError);

  function sendResult(reply: FastifyReply, result: AuthorizeResult, redirectStatus: number): FastifyReply {
    if (result.kind === 'redirect') {
      // The location carries a code or a token: nothing on the way may keep it.
      reply.header('cache-control', 'no-store');
      reply.header('referrer-policy', 'no-referrer');
      return sendRedirect(reply, result.location, redirectStatus);
    }
    if (result.kind === 'error') {
      const error =
        result.error.status === result.status
          ? result.error
          : new OAuthError(result.error.error, {
              status: result.status,
              headers: result.error.headers,
              ...(result.error.description === undefined ? {} : { description: result.error.description }),
            });
      return sendErrorPage(reply, error);
    }
    throw serverError('The authorization request reached an unexpected state.');
  }

  async function askConsent(
    request: FastifyRequest,
    reply: FastifyReply,
    authorization: AuthorizationRequest,
    redirectStatus: number,
  ): Promise<unknown> {
    const session = sessionOf(request);
    const user: AuthenticatedUser | null = await getUser(request);
    if (user === null || user === undefined) {
      session.set(sessionKey, { request: authorization } satisfies PendingAuthorization);
      // A GET comes back with its own query (validated afresh); a POSTed request resumes from the
      // session. The path is ours, never the request's: `//host/...` would make it an open redirect.
      const query = request.url.indexOf('?');
      const returnTo =
        request.method === 'GET' && query !== -1 ? `${paths.authorization}${request.url.slice(query)}` : paths.authorization;
      reply.header('cache-control', 'no-store');
      return sendRedirect(reply, locateLogin(loginUrl, request, returnTo), redirectStatus);
    }
    const csrfToken = randomBytes(32).toString('base64url');
    session.set(sessionKey, { request: authorization, csrfToken, userId: user.id } satisfies PendingAuthorization);
    const context: ConsentContext = {
      protocol: 'oauth2',
      authorizationRequest: authorization,
      user,
      scopes: describeScopes(registry, authorization.scope),
      action: paths.authorization,
      csrfToken,
      fields: CONSENT_FIELDS,
    };
    return sendConsentPage(request, reply, context, authorization.redirectUri, renderConsent);
  }

  async function decide(request: FastifyRequest, reply: FastifyReply, body: AuthorizeBody): Promise<unknown> {
    const session = sessionOf(request);
    const taken = await takeConsentDecision(
      request,
      session,
      sessionKey,
      readPending(session, sessionKey),
      typeof body.csrf_token === 'string' ? body.csrf_token : undefined,
      getUser,
    );
    if (taken instanceof OAuthError) return sendErrorPage(reply, taken);
    const { pending, user } = taken;
    const approved = body.decision === 'approve';
    // The core narrows to a subset of the request and refuses an approval that kept no scope.
    const scope = body.narrow_scope === undefined ? undefined : toArray(body.granted_scope);
    const result = await server.completeAuthorization(pending.request, {
      userId: user.id,
      approved,
      ...(scope === undefined ? {} : { scope }),
    });
    return sendResult(reply, result, 303);
  }

  const authorizePath = `${settings.routePrefix}/authorize`;

  routes.get<{ Querystring: AuthorizeQuery }>(
    authorizePath,
    { schema: { querystring: AuthorizeQuery }, config: endpointConfig('authorize') },
    async function authorize(request, reply) {
      // Back from the login page without the query: resume the request kept in the session.
      if (!request.url.includes('?')) {
        const pending = readPending(sessionOf(request), sessionKey);
        if (pending !== null) return askConsent(request, reply, pending.request, 302);
      }
      const result = await server.validateAuthorizationRequest(toOAuthRequest(request));
      if (result.kind === 'consent') return askConsent(request, reply, result.request, 302);
      return sendResult(reply, result, 302);
    },
  );

  // Other methods reach the core too, which answers 405 with Allow (on the HTML error page).
  routes.route({
    method: ['PUT', 'PATCH', 'DELETE'],
    url: authorizePath,
    config: endpointConfig('authorize'),
    handler: async (request, reply) => sendResult(reply, await server.validateAuthorizationRequest(toOAuthRequest(request)), 303),
  });

  routes.post<{ Body: AuthorizeBody }>(
    authorizePath,
    { schema: { body: AuthorizeBody }, config: endpointConfig('authorize') },
    async function authorizeOrDecide(request, reply) {
      if (request.body.decision !== undefined) return decide(request, reply, request.body);
      const result = await server.validateAuthorizationRequest(toOAuthRequest(request));
      if (result.kind === 'consent') return askConsent(request, reply, result.request, 303);
      return sendResult(reply, result, 303);
    },
  );
}
