import { createOAuth1Provider, OAuthError, type OAuth1CompletionResult, type OAuth1Provider } from '@portcullis/core';
import type { RequestVerifier } from '@portcullis/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkCsrfToken, getCsrfToken } from '../csrf.js';
import { html } from '../html.js';
import { answerOAuth, toOAuthRequest } from '../oauth-request.js';
import type { DemoServices } from '../services.js';
import { field, sendPage } from './respond.js';

const PATHS = {
  requestToken: '/oauth1/request_token',
  authorize: '/oauth1/authorize',
  accessToken: '/oauth1/access_token',
} as const;

/** A cheap look for OAuth 1.0a credentials: an `OAuth` Authorization header, or `oauth_signature` in the query or form. */
function carriesSignature(request: FastifyRequest): boolean {
  const authorization = request.headers.authorization;
  if (authorization !== undefined && /^OAuth\s/i.test(authorization)) return true;
  const query = request.query as Record<string, unknown> | null;
  if (query && typeof query === 'object' && 'oauth_signature' in query) return true;
  const body = request.body as Record<string, unknown> | null | undefined;
  return !!body && typeof body === 'object' && 'oauth_signature' in body;
}

function sendErrorPage(request: FastifyRequest, reply: FastifyReply, status: number, error: OAuthError): FastifyReply {
  return sendPage(request, reply, 'Authorization failed', html`<p><code>${error.error}</code>: ${error.description ?? ''}</p>`, status);
}

/**
 * OAuth 1.0a (RFC 5849) for the demo: the three legs and signed requests on the API, through the
 * core's provider. @portcullis/fastify is to mount these itself (issue 6); until it does, the
 * demo mounts them, and it steps aside once the plugin has them.
 */
export async function registerOAuth1Routes(fastify: FastifyInstance, services: DemoServices, secretKey: string, development: boolean): Promise<OAuth1Provider | null> {
  if (fastify.hasRoute({ method: 'POST', url: PATHS.requestToken }) || fastify.oauth.verifiers.some((v) => v.name === 'oauth1')) return null;
  const provider = createOAuth1Provider({
    storage: services.storage,
    secretKey,
    scopes: services.scopes,
    realm: 'portcullis-polls',
    enforceSecure: !development,
  });

  // requireScope asks this when a request has no bearer token; the guard then checks the scopes.
  const verifier: RequestVerifier = {
    name: 'oauth1',
    verify(request) {
      if (!carriesSignature(request)) return null;
      return provider.verifySignedRequest(toOAuthRequest(request)).then((grant) => ({
        protocol: 'oauth1' as const,
        clientId: grant.clientId,
        userId: grant.userId,
        scope: grant.scope,
        tokenId: grant.tokenId,
      }));
    },
  };
  fastify.oauth.verifiers.push(verifier);

  fastify.post(PATHS.requestToken, async (request, reply) => answerOAuth(reply, () => provider.handleRequestTokenRequest(toOAuthRequest(request))));
  fastify.post(PATHS.accessToken, async (request, reply) => answerOAuth(reply, () => provider.handleAccessTokenRequest(toOAuthRequest(request))));

  fastify.get(PATHS.authorize, async (request, reply) => {
    const result = await provider.validateAuthorizationRequest(toOAuthRequest(request));
    if (result.kind === 'error') return sendErrorPage(request, reply, result.status, result.error);
    if (!request.session.get('userId')) return reply.redirect(`/login?returnTo=${encodeURIComponent(request.url)}`, 302);
    const { request: pending } = result;
    // The decision form redirects to the client's callback: allow that origin as a form target.
    let callbackOrigin = '';
    try {
      if (pending.callback !== 'oob') callbackOrigin = ` ${new URL(pending.callback).origin}`;
    } catch {
      callbackOrigin = '';
    }
    reply.header(
      'content-security-policy',
      `default-src 'none'; style-src 'unsafe-inline'; form-action 'self'${callbackOrigin}; frame-ancestors 'none'; base-uri 'none'`,
    );
    const body = html`
<p><strong>${pending.clientName}</strong> asks to act for you (OAuth 1.0a). It would be able to:</p>
<ul id="oauth1-scopes">${pending.scope.map((s) => html`<li>${services.scopes.get(s)?.description ?? s} <small>(<code>${s}</code>)</small></li>`)}</ul>
<form method="post" action="${PATHS.authorize}">
  <input type="hidden" name="_csrf" value="${getCsrfToken(request)}">
  <input type="hidden" name="oauth_token" value="${pending.token}">
  <button type="submit" name="decision" value="approve">Approve</button>
  <button type="submit" name="decision" value="deny">Deny</button>
</form>`;
    return sendPage(request, reply, `Authorize ${pending.clientName}`, body);
  });

  fastify.post(PATHS.authorize, async (request, reply) => {
    const userId = request.session.get('userId');
    if (!userId) return sendErrorPage(request, reply, 403, new OAuthError('access_denied', { description: 'Log in first.' }));
    if (!checkCsrfToken(request, field(request.body, '_csrf'))) {
      return sendErrorPage(request, reply, 403, new OAuthError('invalid_request', { description: 'The form has expired; start again from the application.' }));
    }
    const decision = field(request.body, 'decision');
    if (decision !== 'approve' && decision !== 'deny') {
      return sendErrorPage(request, reply, 400, new OAuthError('invalid_request', { description: 'decision must be approve or deny.' }));
    }
    const validated = await provider.validateAuthorizationRequest(toOAuthRequest(request));
    if (validated.kind === 'error') return sendErrorPage(request, reply, validated.status, validated.error);
    const result: OAuth1CompletionResult = await provider.completeAuthorization(validated.request.token, { userId, approved: decision === 'approve' });
    reply.header('cache-control', 'no-store');
    switch (result.kind) {
      case 'redirect':
        return reply.redirect(result.location, 303);
      case 'verifier':
        return sendPage(request, reply, 'Authorized', html`<p>Type this verifier into the application:</p><p><code id="oauth-verifier">${result.verifier}</code></p>`);
      case 'denied':
        if (result.location) return reply.redirect(result.location, 303);
        return sendPage(request, reply, 'Denied', html`<p>The application was not authorized.</p>`);
      case 'error':
        return sendErrorPage(request, reply, result.status, result.error);
    }
  });
  return provider;
}
