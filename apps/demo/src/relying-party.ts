import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as client from 'openid-client';
import { checkCsrfToken, getCsrfToken } from './csrf.js';
import { html } from './html.js';
import { field, sendPage } from './pages/respond.js';

/**
 * "Sign in with Portcullis": a small OpenID Connect relying party living inside the demo, at
 * `/rp`, using openid-client against the demo's own issuer over HTTP, as any other site would.
 * It is a public client (no secret to keep): the authorization code flow with PKCE (RFC 7636),
 * `state` and `nonce` (OpenID Connect Core 1.0 section 3.1.2.1) kept in the session; openid-client
 * validates the ID token (section 3.1.3.7); sign-out is RP-initiated logout (RP-Initiated Logout 1.0).
 */

/** The example relying party's client, registered on a fresh database's first start (bootstrap.ts). */
export const RP_CLIENT_ID = 'polls-example-rp';
export const RP_CLIENT_NAME = 'Example relying party';
export const RP_SCOPE = 'openid profile email';

/** The session key of a sign-in in progress; kept across the demo's login, which regenerates the session. */
export const RP_PENDING_SESSION_KEY = 'rpPending';

declare module 'fastify' {
  interface Session {
    /** The checks of the authorization request the relying party sent, until its callback. */
    rpPending?: { codeVerifier: string; state: string; nonce: string };
    /**
     * What the relying party learnt at sign-in: the ID token's claims, the UserInfo answer, and the
     * ID token itself as the logout's `id_token_hint`. No access or refresh token is kept.
     */
    rpSignedIn?: { idToken: string; claims: Record<string, unknown>; userinfo: Record<string, unknown> | null };
  }
}

export function relyingPartyRedirectUri(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/rp/callback`;
}

export function relyingPartyPostLogoutUri(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/rp`;
}

class RelyingPartyError extends Error {
  constructor(
    readonly title: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export async function registerRelyingPartyRoutes(fastify: FastifyInstance, options: { issuer: string }): Promise<void> {
  const issuer = options.issuer.replace(/\/+$/, '');
  const redirectUri = relyingPartyRedirectUri(issuer);
  const postLogoutUri = relyingPartyPostLogoutUri(issuer);

  /**
   * Discovery (OpenID Connect Discovery 1.0) at the configured public issuer URL: it answers only
   * while the demo listens there. Plain HTTP is allowed only for an `http:` issuer (development).
   */
  const discover = async (): Promise<client.Configuration> => {
    try {
      return await client.discovery(new URL(issuer), RP_CLIENT_ID, undefined, client.None(), {
        timeout: 5,
        ...(new URL(issuer).protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}),
      });
    } catch (error) {
      fastify.log.warn({ err: error }, 'relying party: discovery failed');
      throw new RelyingPartyError('Issuer unreachable', `The issuer ${issuer} did not answer its OpenID Connect discovery: ${describe(error)}`, 502);
    }
  };

  const registered = async (): Promise<boolean> => (await fastify.demo.storage.findClient(RP_CLIENT_ID)) !== null;

  const fail = (request: FastifyRequest, reply: FastifyReply, error: unknown) => {
    if (!(error instanceof RelyingPartyError)) throw error;
    return sendPage(
      request,
      reply,
      error.title,
      html`<p class="flash error" id="rp-error">${error.message}</p><p><a href="/rp">Back to the example relying party</a></p>`,
      error.status,
    );
  };

  fastify.get('/rp', async (request, reply) => {
    const signedIn = request.session.get('rpSignedIn');
    if (signedIn) {
      const rows = (claims: Record<string, unknown>) =>
        Object.entries(claims).map(([k, v]) => html`<tr><th>${k}</th><td><code data-claim="${k}">${typeof v === 'string' ? v : JSON.stringify(v)}</code></td></tr>`);
      const body = html`
<p>The example relying party signed you in with Portcullis. openid-client validated this ID token (signature, issuer, audience, expiry, nonce):</p>
<table id="id-token-claims">${rows(signedIn.claims)}</table>
<h2>UserInfo</h2>
${signedIn.userinfo ? html`<table id="userinfo">${rows(signedIn.userinfo)}</table>` : html`<p>The UserInfo endpoint did not answer.</p>`}
<form method="post" action="/rp/logout"><input type="hidden" name="_csrf" value="${getCsrfToken(request)}">
<button type="submit" id="rp-sign-out">Sign out (RP-initiated logout)</button></form>`;
      return sendPage(request, reply, 'Signed in with Portcullis', body);
    }
    if (!(await registered())) {
      return fail(request, reply, new RelyingPartyError('Example relying party', `Its client ${RP_CLIENT_ID} is not registered: the demo registers it on a fresh database's first start.`, 503));
    }
    const body = html`
<p>A small OpenID Connect relying party inside the demo, as another site would use Portcullis:
discovery, the authorization code flow with PKCE, state and nonce, ID token validation and UserInfo
by <code>openid-client</code>, and RP-initiated logout.</p>
<p><a href="/rp/login" id="rp-sign-in">Sign in with Portcullis</a></p>`;
    return sendPage(request, reply, 'Example relying party', body);
  });

  fastify.get('/rp/login', async (request, reply) => {
    try {
      const config = await discover();
      const codeVerifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      request.session.set('rpPending', { codeVerifier, state, nonce });
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: RP_SCOPE,
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return reply.redirect(url.href, 303);
    } catch (error) {
      return fail(request, reply, error);
    }
  });

  fastify.get('/rp/callback', async (request, reply) => {
    const pending = request.session.get('rpPending');
    request.session.set('rpPending', undefined);
    try {
      if (!pending) throw new RelyingPartyError('Sign-in failed', 'No sign-in is in progress in this browser; start again.', 400);
      const config = await discover();
      // openid-client takes the redirect URI from this URL: the public one, with the query received.
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        tokens = await client.authorizationCodeGrant(config, new URL(`${redirectUri}${query}`), {
          pkceCodeVerifier: pending.codeVerifier,
          expectedState: pending.state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        });
      } catch (error) {
        throw new RelyingPartyError('Sign-in failed', describe(error), 400);
      }
      const claims = tokens.claims()!;
      let userinfo: Record<string, unknown> | null = null;
      try {
        userinfo = { ...(await client.fetchUserInfo(config, tokens.access_token, claims.sub)) };
      } catch (error) {
        fastify.log.warn({ err: error }, 'relying party: UserInfo failed');
      }
      request.session.set('rpSignedIn', { idToken: tokens.id_token!, claims: { ...claims }, userinfo });
      return reply.redirect('/rp', 303);
    } catch (error) {
      return fail(request, reply, error);
    }
  });

  // A form with the CSRF token: no other site can sign the user out.
  fastify.post('/rp/logout', async (request, reply) => {
    if (!checkCsrfToken(request, field(request.body, '_csrf'))) {
      return sendPage(request, reply, 'Sign out', html`<p>Your form expired; please try again.</p>`, 403);
    }
    const signedIn = request.session.get('rpSignedIn');
    request.session.set('rpSignedIn', undefined);
    if (!signedIn) return reply.redirect('/rp', 303);
    try {
      const config = await discover();
      const url = client.buildEndSessionUrl(config, { id_token_hint: signedIn.idToken, post_logout_redirect_uri: postLogoutUri });
      return reply.redirect(url.href, 303);
    } catch (error) {
      return fail(request, reply, error);
    }
  });
}

/** An error's OAuth `error` and description when it carries them (openid-client's errors do), else its message. */
function describe(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { error: code, error_description: description, message } = error as { error?: unknown; error_description?: unknown; message?: unknown };
    if (typeof code === 'string') return typeof description === 'string' ? `${code}: ${description}` : code;
    if (typeof message === 'string') return message;
  }
  return String(error);
}
