import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { constantTimeEqual, invalidRequest, type AuthorizationServer } from '@portcullis/core';
import { sendCredentialRedirect, sessionOf, toPageError } from './consent.js';
import { handleHtmlRouteError } from './error-handler.js';
import { renderLogoutConfirmPage, renderSignedOutPage, sendErrorPage, setPageHeaders, toFormActionSource } from './html-pages.js';
import type { EndSession, GetUser, ResolvedOptions } from './options.js';
import { toOAuthRequest } from './request-adapter.js';
import { endpointConfig } from './route-config.js';

export interface LogoutRouteOptions {
  server: AuthorizationServer;
  settings: ResolvedOptions;
  getUser: GetUser;
  endSession: EndSession;
  /** The mounted path of the endpoint: the confirmation form posts back to it. */
  path: string;
}

/** What the session keeps while the user is asked: the form's CSRF token and where to go after. */
interface PendingLogout {
  csrfToken: string;
  location: string | null;
}

/**
 * `GET|POST {routePrefix}/logout`: OpenID Connect RP-Initiated Logout 1.0. The core checks the
 * request; a request the `id_token_hint` proves is the signed-in user's client's ends the session
 * at once, any other asks the user with a form (a cross-site link must not sign anyone out).
 * Afterwards the browser goes to the registered `post_logout_redirect_uri` with `state`, or sees a
 * signed-out page.
 */
export async function registerLogoutRoutes(routes: FastifyInstance, options: LogoutRouteOptions): Promise<void> {
  const { server, settings, getUser, endSession, path } = options;
  const pendingKey = `${settings.sessionKey}Logout`;
  routes.setErrorHandler(handleHtmlRouteError);

  function finish(reply: FastifyReply, location: string | null, signedOut: boolean): FastifyReply {
    if (location !== null) return sendCredentialRedirect(reply, location, 303);
    setPageHeaders(reply);
    return reply.type('text/html; charset=utf-8').send(renderSignedOutPage(signedOut));
  }

  async function confirmed(request: FastifyRequest, reply: FastifyReply, body: Record<string, unknown>): Promise<unknown> {
    const session = sessionOf(request);
    const pending = session.get(pendingKey) as Partial<PendingLogout> | null | undefined;
    const csrfToken = body.csrf_token;
    if (pending === null || typeof pending !== 'object' || typeof pending.csrfToken !== 'string') {
      return sendErrorPage(reply, invalidRequest('No logout is waiting for a decision; start again from the application.'));
    }
    if (typeof csrfToken !== 'string' || !constantTimeEqual(csrfToken, pending.csrfToken)) {
      return sendErrorPage(reply, invalidRequest('The logout form has expired or was not sent by this server.', { status: 403 }));
    }
    session.set(pendingKey, undefined);
    const signOut = body.logout === 'yes';
    if (signOut) await endSession(request, reply);
    return finish(reply, typeof pending.location === 'string' ? pending.location : null, signOut);
  }

  async function logout(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const body = request.method === 'POST' && request.body !== null && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : null;
    if (body !== null && body.logout !== undefined) return confirmed(request, reply, body);
    const user = (await getUser(request)) ?? null;
    const result = await server.validateEndSessionRequest(toOAuthRequest(request), user?.id ?? null);
    if (result.kind === 'error') return sendErrorPage(reply, toPageError(result.status, result.error));
    if (result.confirm && user !== null) {
      const csrfToken = randomBytes(32).toString('base64url');
      sessionOf(request).set(pendingKey, { csrfToken, location: result.location } satisfies PendingLogout);
      setPageHeaders(reply, result.location === null ? undefined : toFormActionSource(result.location));
      return reply
        .type('text/html; charset=utf-8')
        .send(renderLogoutConfirmPage({ action: path, csrfToken, clientName: result.clientName, username: user.username ?? user.id }));
    }
    if (user !== null) await endSession(request, reply);
    return finish(reply, result.location, true);
  }

  const url = `${settings.routePrefix}/logout`;
  routes.route({ method: ['GET', 'POST'], url, config: endpointConfig('end_session'), handler: logout });
}
