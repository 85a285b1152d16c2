import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  OAuthError,
  SCOPE_CLAIMS,
  serverError,
  type AuthorizationRequest,
  type AuthorizationServer,
  type AuthorizeResult,
} from '@portcullis/core';
import type { ScopeRegistry } from '@portcullis/scopes';
import { createConsentFlow, sendCredentialRedirect, toArray, toPageError, type ConsentProtocol } from './consent.js';
import { handleHtmlRouteError } from './error-handler.js';
import { sendErrorPage } from './html-pages.js';
import type { ResolvedOptions } from './options.js';
import { toOAuthRequest } from './request-adapter.js';
import { AuthorizeBody, AuthorizeQuery } from './schemas.js';
import type { MountedPaths } from './types.js';
import { endpointConfig } from './route-config.js';

export interface AuthorizeRouteOptions {
  server: AuthorizationServer;
  registry: ScopeRegistry;
  settings: ResolvedOptions;
  browser: NonNullable<ResolvedOptions['browser']>;
  paths: MountedPaths;
}

/** The claims of OpenID Connect Core 1.0 section 5.1 as the consent page names them. */
const CLAIM_WORDS: Readonly<Record<string, string>> = {
  name: 'your name',
  family_name: 'your family name',
  given_name: 'your given name',
  middle_name: 'your middle name',
  nickname: 'your nickname',
  preferred_username: 'your username',
  profile: 'your profile page',
  picture: 'your picture',
  website: 'your website',
  gender: 'your gender',
  birthdate: 'your birthday',
  zoneinfo: 'your time zone',
  locale: 'your language',
  updated_at: 'when your profile changed',
  email: 'your email address',
  email_verified: 'whether it is verified',
  address: 'your postal address',
  phone_number: 'your phone number',
  phone_number_verified: 'whether it is verified',
};

/** `GET|POST {routePrefix}/authorize`: the authorization request, login hand-off, consent and decision. */
export async function registerAuthorizeRoutes(routes: FastifyInstance, options: AuthorizeRouteOptions): Promise<void> {
  const { server, registry, settings, paths } = options;

  function sendResult(reply: FastifyReply, result: AuthorizeResult, redirectStatus: number): FastifyReply {
    if (result.kind === 'redirect') return sendCredentialRedirect(reply, result.location, redirectStatus);
    if (result.kind === 'error') return sendErrorPage(reply, toPageError(result.status, result.error));
    throw serverError('The authorization request reached an unexpected state.');
  }

  /** The OAuth 2 side of the consent flow: the core decides whether consent is remembered. */
  const oauth2Consent: ConsentProtocol<AuthorizationRequest> = {
    protocol: 'oauth2',
    hasShape: (request) =>
      typeof request.clientId === 'string' && typeof request.redirectUri === 'string' && Array.isArray(request.scope),
    contextOf: (request) => ({ protocol: 'oauth2', authorizationRequest: request }),
    returnTarget: (request) => request.redirectUri,
    scope: (request) => request.scope,
    // OpenID Connect requests decide login and consent in the core (prompt, max_age, id_token_hint).
    interact: (request, user, loginAsked) => server.resolveInteraction(request, user, { loginAsked }),
    claimsOf: (scope) => (server.openidEnabled ? (SCOPE_CLAIMS[scope] ?? []).map((claim) => CLAIM_WORDS[claim] ?? claim) : []),
    review: (request, user) => server.reviewConsent(request, user.id),
    approve: async (request, user, reply, redirectStatus) =>
      sendResult(
        reply,
        await server.completeAuthorization(request, {
          userId: user.id,
          ...(user.authTime instanceof Date && { authTime: user.authTime }),
          approved: true,
        }),
        redirectStatus,
      ),
  };
  const consent = createConsentFlow(oauth2Consent, registry, settings, options.browser, paths.authorization);

  routes.setErrorHandler(handleHtmlRouteError);

  async function decide(request: FastifyRequest, reply: FastifyReply, body: AuthorizeBody): Promise<unknown> {
    const taken = await consent.take(request, typeof body.csrf_token === 'string' ? body.csrf_token : undefined);
    if (taken instanceof OAuthError) return sendErrorPage(reply, taken);
    const { pending, user } = taken;
    const approved = body.decision === 'approve';
    // The core narrows to a subset of the request and refuses an approval that kept no scope.
    const scope = body.narrow_scope === undefined ? undefined : toArray(body.granted_scope);
    const result = await server.completeAuthorization(pending.request, {
      userId: user.id,
      ...(user.authTime instanceof Date && { authTime: user.authTime }),
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
      const resumed = consent.resume(request, reply);
      if (resumed !== undefined) return resumed;
      const result = await server.validateAuthorizationRequest(toOAuthRequest(request));
      if (result.kind === 'consent') return consent.ask(request, reply, result.request, 302);
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
      if (result.kind === 'consent') return consent.ask(request, reply, result.request, 303);
      return sendResult(reply, result, 303);
    },
  );
}
