import * as oauth from 'oauth4webapi';
import t from 'tap';
import { Browser, buildTestApp, findFreePort, readCsrfToken } from './helpers.js';

t.test('oauth4webapi drives discovery, code + PKCE through login and consent, refresh, a protected route and revocation', async (t) => {
  const port = await findFreePort();
  const origin = `http://127.0.0.1:${port}`;
  const { app, close } = await buildTestApp({
    plugin: { issuer: origin },
    routes: (app) => {
      app.get('/api/polls/:id/results', { preHandler: app.requireScope({ auto: true }) }, async (request) => ({
        poll: 7,
        user: request.oauth?.userId,
        scope: request.oauth?.scope,
      }));
    },
  });
  t.teardown(close);
  await app.listen({ port, host: '127.0.0.1' });

  const redirectUri = `${origin}/callback`;
  const registered = await app.oauth.registerClient({
    name: 'Round trip',
    redirectUris: [redirectUri],
    scopes: ['read', 'polls:results'],
  });
  const client: oauth.Client = { client_id: registered.client.id };
  const clientAuth = oauth.ClientSecretBasic(registered.clientSecret!);
  const insecure = { [oauth.allowInsecureRequests]: true };
  const issuer = new URL(origin);

  // Discovery through the RFC 8414 metadata document.
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  t.equal(as.issuer, origin);
  t.equal(as.token_endpoint, `${origin}/oauth/token`);
  t.equal(as.authorization_endpoint, `${origin}/oauth/authorize`);
  t.equal(as.revocation_endpoint, `${origin}/oauth/revoke`);
  // The default profile, OAuth 2.1: the code grant with S256, nothing the profile removed.
  t.strictSame(as.code_challenge_methods_supported, ['S256']);
  t.strictSame(as.response_types_supported, ['code']);
  t.strictSame(as.grant_types_supported, ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code']);

  // The authorization request, as the client builds it.
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const authorizationUrl = new URL(as.authorization_endpoint!);
  authorizationUrl.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: redirectUri,
    scope: 'polls:results',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  }).toString();

  // The browser: sent to login, logs in, comes back, sees the consent page, approves.
  const browser = new Browser();
  const toLogin = await browser.fetch(authorizationUrl);
  t.equal(toLogin.status, 302);
  const loginLocation = new URL(toLogin.headers.get('location')!, origin);
  t.equal(loginLocation.pathname, '/login');
  const returnTo = loginLocation.searchParams.get('next')!;
  t.equal(returnTo, `${authorizationUrl.pathname}${authorizationUrl.search}`);
  const loggedIn = await browser.fetch(`${origin}/login?user=carol`, { method: 'POST' });
  t.equal(loggedIn.status, 200);
  const consent = await browser.fetch(new URL(returnTo, origin));
  t.equal(consent.status, 200);
  t.equal(consent.headers.get('x-frame-options'), 'DENY');
  const page = await consent.text();
  t.match(page, /Round trip/);
  t.match(page, new RegExp(`You will be sent back to <strong>127\\.0\\.0\\.1:${port}</strong>`));
  const approved = await browser.fetch(as.authorization_endpoint!, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ decision: 'approve', csrf_token: readCsrfToken(page) }),
  });
  t.equal(approved.status, 303);
  const callback = new URL(approved.headers.get('location')!);
  t.equal(`${callback.origin}${callback.pathname}`, redirectUri);

  // Back at the client: the response is checked (state, iss) and the code exchanged with the verifier.
  const callbackParameters = oauth.validateAuthResponse(as, client, callback, state);
  const tokens = await oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(as, client, clientAuth, callbackParameters, redirectUri, codeVerifier, insecure),
  );
  t.equal(tokens.token_type, 'bearer');
  t.equal(tokens.scope, 'polls:results');
  t.ok(tokens.refresh_token);

  // Refresh: a new pair, the old refresh token rotated away.
  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, insecure),
  );
  t.not(refreshed.access_token, tokens.access_token);
  t.not(refreshed.refresh_token, tokens.refresh_token);

  // The protected route, with the refreshed token.
  const resource = new URL(`${origin}/api/polls/7/results`);
  const allowed = await oauth.protectedResourceRequest(refreshed.access_token, 'GET', resource, undefined, undefined, insecure);
  t.equal(allowed.status, 200);
  t.same(await allowed.json(), { poll: 7, user: 'carol', scope: ['polls:results'] });

  // Revocation, then the protected route refuses the token.
  await oauth.processRevocationResponse(
    await oauth.revocationRequest(as, client, clientAuth, refreshed.access_token, insecure),
  );
  const refusal = await oauth
    .protectedResourceRequest(refreshed.access_token, 'GET', resource, undefined, undefined, insecure)
    .then(
      () => null,
      (error: unknown) => error,
    );
  t.ok(refusal instanceof oauth.WWWAuthenticateChallengeError, 'the revoked token is challenged');
  const challenge = refusal as oauth.WWWAuthenticateChallengeError;
  t.equal(challenge.response.status, 401);
  t.equal(challenge.cause[0]?.scheme, 'bearer');
  t.equal(challenge.cause[0]?.parameters.error, 'invalid_token');
  t.equal(challenge.cause[0]?.parameters.realm, origin);
});
