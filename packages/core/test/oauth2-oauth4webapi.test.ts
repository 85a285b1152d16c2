// The proof that another framework can import the core: plain node:http, a dozen-line adapter,
// and oauth4webapi, a strict client library, driving a full authorization-code + PKCE +
// refresh + introspect + revoke round trip.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import * as oauth from 'oauth4webapi';
import { MemoryStorage, OAuthError, createAuthorizationServer, type AuthorizationServer, type OAuthRequest, type OAuthResponse } from '../src/index.js';
import { errorLike } from './oauth2-fixtures.js';

/** The in-test adapter: node:http request in, OAuthRequest out; OAuthResponse back onto the wire. */
async function toOAuthRequest(req: IncomingMessage): Promise<OAuthRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let body: Record<string, string | string[]> | undefined;
  if ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    body = {};
    for (const [name, value] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) {
      const seen = body[name];
      body[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
    }
  }
  // Node's headers as they are: the core's request type takes them.
  return { method: req.method ?? 'GET', url: new URL(req.url ?? '/', `http://${req.headers.host}`), headers: req.headers, body, secure: false };
}

function send(res: ServerResponse, response: OAuthResponse): void {
  res.writeHead(response.status, response.headers);
  res.end(typeof response.body === 'string' ? response.body : JSON.stringify(response.body));
}

t.test('oauth4webapi round trip over node:http', async (t) => {
  // The issuer names the port, known only once listening: the server is created after.
  const holder: { server?: AuthorizationServer } = {};
  const http = createServer(async (req, res) => {
    const server = holder.server;
    if (server === undefined) throw new Error('not ready');
    const request = await toOAuthRequest(req);
    switch (request.url.pathname) {
      case '/.well-known/oauth-authorization-server':
        return send(res, server.getMetadata());
      case '/oauth/authorize': {
        let result = await server.validateAuthorizationRequest(request);
        // The consent page of a real app; here the user approves at once.
        if (result.kind === 'consent') result = await server.completeAuthorization(result.request, { userId: 'user-1', approved: true });
        if (result.kind === 'redirect') {
          res.writeHead(302, { location: result.location });
          return res.end();
        }
        if (result.kind === 'error') return send(res, { status: result.status, headers: { 'content-type': 'application/json' }, body: result.error.toJSON() });
        return;
      }
      case '/oauth/token':
        return send(res, await server.handleTokenRequest(request));
      case '/oauth/revoke':
        return send(res, await server.handleRevocationRequest(request));
      case '/oauth/introspect':
        return send(res, await server.handleIntrospectionRequest(request));
      case '/api/me': {
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
        try {
          const grant = await server.verifyAccessToken(token, ['read']);
          return send(res, { status: 200, headers: { 'content-type': 'application/json' }, body: { user: grant.userId } });
        } catch (error) {
          if (!(error instanceof OAuthError)) throw error;
          return send(res, { status: error.status, headers: error.headers, body: '' });
        }
      }
      default:
        res.writeHead(404);
        res.end();
    }
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => http.close(() => resolve())));
  const { port } = http.address() as AddressInfo;
  const issuerText = `http://127.0.0.1:${port}`;
  const storage = new MemoryStorage();
  const server = createAuthorizationServer({ storage, issuer: issuerText, enforceSecure: false });
  holder.server = server;
  const registered = await server.registerClient({ name: 'oauth4webapi', redirectUris: ['http://127.0.0.1/callback'] });
  const insecure = { [oauth.allowInsecureRequests]: true } as const;

  // Discovery (RFC 8414).
  const issuer = new URL(issuerText);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  t.equal(as.issuer, issuerText);
  t.same(as.code_challenge_methods_supported, ['S256']);

  const client: oauth.Client = { client_id: registered.client.id };
  const clientAuth = oauth.ClientSecretBasic(registered.clientSecret ?? '');
  const redirectUri = 'http://127.0.0.1:61234/callback';

  // Authorization request with PKCE S256 and state.
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const authorizationUrl = new URL(as.authorization_endpoint ?? '');
  authorizationUrl.searchParams.set('client_id', client.client_id);
  authorizationUrl.searchParams.set('redirect_uri', redirectUri);
  authorizationUrl.searchParams.set('response_type', 'code');
  authorizationUrl.searchParams.set('scope', 'read write');
  authorizationUrl.searchParams.set('state', state);
  authorizationUrl.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  authorizationUrl.searchParams.set('code_challenge_method', 'S256');
  const authorization = await fetch(authorizationUrl, { redirect: 'manual' });
  t.equal(authorization.status, 302);
  const location = new URL(authorization.headers.get('location') ?? '');
  t.equal(`${location.origin}${location.pathname}`, redirectUri, 'back to the loopback port the app chose');
  const callback = oauth.validateAuthResponse(as, client, location, state);

  // Code exchange.
  const tokens = await oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(as, client, clientAuth, callback, redirectUri, verifier, insecure),
  );
  t.equal(tokens.token_type, 'bearer', 'oauth4webapi lower-cases the token type');
  t.equal(tokens.scope, 'read write');
  t.equal(tokens.expires_in, 3600);
  t.ok(tokens.refresh_token);

  // A protected resource.
  const me = await oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL('/api/me', issuer), undefined, undefined, insecure);
  t.equal(me.status, 200);
  t.same(await me.json(), { user: 'user-1' });

  // Replaying the code fails.
  const replay = oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(as, client, clientAuth, callback, redirectUri, verifier, insecure),
  );
  await t.rejects(replay, errorLike({ error: 'invalid_grant' }));
  // ...and revoked what the code gave.
  // oauth4webapi parses the RFC 6750 challenge and throws it.
  await t.rejects(oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL('/api/me', issuer), undefined, undefined, insecure), errorLike({
    status: 401,
    cause: [{ scheme: 'bearer', parameters: { realm: issuerText, error: 'invalid_token', error_description: 'The access token has been revoked.' } }],
  }));

  // A second authorization for the rest of the trip.
  const verifier2 = oauth.generateRandomCodeVerifier();
  authorizationUrl.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier2));
  const second = new URL((await fetch(authorizationUrl, { redirect: 'manual' })).headers.get('location') ?? '');
  const tokens2 = await oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(as, client, clientAuth, oauth.validateAuthResponse(as, client, second, state), redirectUri, verifier2, insecure),
  );

  // Refresh with rotation.
  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens2.refresh_token ?? '', { ...insecure, additionalParameters: { scope: 'read' } }),
  );
  t.equal(refreshed.scope, 'read');
  t.not(refreshed.refresh_token, tokens2.refresh_token, 'rotated');

  // Introspection.
  const active = await oauth.processIntrospectionResponse(
    as,
    client,
    await oauth.introspectionRequest(as, client, clientAuth, refreshed.access_token, insecure),
  );
  t.match(active, { active: true, scope: 'read', client_id: client.client_id, token_type: 'Bearer', sub: 'user-1', iss: issuerText });

  // Revoke the refresh token: the family goes, the access token with it.
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth, refreshed.refresh_token ?? '', insecure));
  const inactive = await oauth.processIntrospectionResponse(
    as,
    client,
    await oauth.introspectionRequest(as, client, clientAuth, refreshed.access_token, insecure),
  );
  t.same(inactive, { active: false });
  await t.rejects(oauth.protectedResourceRequest(refreshed.access_token, 'GET', new URL('/api/me', issuer), undefined, undefined, insecure), errorLike({
    status: 401,
    cause: [{ scheme: 'bearer', parameters: { error: 'invalid_token' } }],
  }));
  await t.rejects(
    oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshed.refresh_token ?? '', insecure)),
    errorLike({ error: 'invalid_grant' }),
  );

  // A public client: no secret, PKCE required.
  const spa = await server.registerClient({ name: 'spa', type: 'public', redirectUris: [redirectUri] });
  const spaClient: oauth.Client = { client_id: spa.client.id, token_endpoint_auth_method: 'none' };
  const spaVerifier = oauth.generateRandomCodeVerifier();
  const spaUrl = new URL(as.authorization_endpoint ?? '');
  spaUrl.search = new URLSearchParams({
    client_id: spa.client.id,
    response_type: 'code',
    code_challenge: await oauth.calculatePKCECodeChallenge(spaVerifier),
    code_challenge_method: 'S256',
  }).toString();
  const spaCallback = oauth.validateAuthResponse(as, spaClient, new URL((await fetch(spaUrl, { redirect: 'manual' })).headers.get('location') ?? ''), oauth.expectNoState);
  const spaTokens = await oauth.processAuthorizationCodeResponse(
    as,
    spaClient,
    await oauth.authorizationCodeGrantRequest(as, spaClient, oauth.None(), spaCallback, redirectUri, spaVerifier, insecure),
  );
  t.equal(spaTokens.scope, 'read write');
});
