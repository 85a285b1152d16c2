import * as oauth from 'oauth4webapi';
import t, { type Test } from 'tap';
import { tokenDigest } from '@portcullis/core';
import { Browser, buildTestApp, findFreePort, readCsrfToken, type TestAppOptions } from './helpers.js';

const insecure = { [oauth.allowInsecureRequests]: true };

/**
 * A listening app, a browser signed in as carol, and oauth4webapi as the client: `authorize`
 * starts an authorization request and answers whatever comes back (a consent page it approves,
 * or the redirect straight to the client) with the code exchanged for tokens.
 */
async function setup(t: Test, plugin: TestAppOptions['plugin'] = {}, input: { skipConsent?: boolean } = {}) {
  const port = await findFreePort();
  const origin = `http://127.0.0.1:${port}`;
  const { app, storage, close } = await buildTestApp({ plugin: { issuer: origin, ...plugin } });
  t.teardown(close);
  await app.listen({ port, host: '127.0.0.1' });
  const redirectUri = `${origin}/callback`;
  const registered = await app.oauth.registerClient({
    name: 'Lifecycle app',
    redirectUris: [redirectUri],
    scopes: ['read', 'write', 'polls:results'],
    ...input,
  });
  const client: oauth.Client = { client_id: registered.client.id };
  const clientAuth = oauth.ClientSecretBasic(registered.clientSecret!);
  const issuer = new URL(origin);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  const browser = new Browser();
  t.equal((await browser.fetch(`${origin}/login?user=carol`, { method: 'POST' })).status, 200);

  async function authorize(scope: string, extra: Record<string, string> = {}) {
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint!);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: redirectUri,
      scope,
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      ...extra,
    }).toString();
    const first = await browser.fetch(url);
    let page: string | null = null;
    let redirect = first;
    if (first.status === 200) {
      page = await first.text();
      redirect = await browser.fetch(as.authorization_endpoint!, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ decision: 'approve', csrf_token: readCsrfToken(page) }),
      });
    }
    const location = redirect.headers.get('location');
    const callback = new URL(location ?? '', origin);
    const parameters = oauth.validateAuthResponse(as, client, callback, state);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, clientAuth, parameters, redirectUri, codeVerifier, insecure),
    );
    return { page, status: first.status, redirect, tokens };
  }

  const refresh = async (token: string) =>
    oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, clientAuth, token, insecure));

  return { app, storage, registered, authorize, refresh };
}

t.test('remembered consent: the page once, then straight back to the client until the request asks for more', async (t) => {
  const { storage, registered, authorize } = await setup(t);

  const first = await authorize('read');
  t.equal(first.status, 200, 'the first request shows the consent page');
  t.notMatch(first.page, /class="new"/, 'nothing to mark on a first request');
  t.equal(first.tokens.scope, 'read');
  t.match(await storage.findConsent({ clientId: registered.client.id, userId: 'carol' }), { scope: ['read'], audience: [] });

  const again = await authorize('read');
  t.equal(again.status, 302, 'the same request is answered without a page');
  t.equal(again.page, null);
  t.equal(again.redirect.headers.get('cache-control'), 'no-store');
  t.equal(again.tokens.scope, 'read', 'and its code buys tokens');

  const wider = await authorize('read polls:results');
  t.equal(wider.status, 200, 'one more scope: asked');
  t.match(wider.page, /<code>read<\/code><\/label> <small class="granted">already allowed<\/small>/, 'read is marked as allowed before');
  t.match(wider.page, /<code>polls:results<\/code><\/label> <strong class="new">new<\/strong>/, 'polls:results as new');
  t.match(await storage.findConsent({ clientId: registered.client.id, userId: 'carol' }), { scope: ['read', 'polls:results'] });

  const asked = await authorize('read', { prompt: 'consent' });
  t.equal(asked.status, 200, 'prompt=consent always shows the page');
  t.equal((await authorize('polls:results')).status, 302, 'a subset of what was approved is not asked');
});

t.test('skipConsent: a first-party client goes straight back, unless it sends prompt=consent', async (t) => {
  const { storage, registered, authorize } = await setup(t, {}, { skipConsent: true });
  t.equal((await storage.findClient(registered.client.id))?.skipConsent, true);
  const direct = await authorize('read write');
  t.equal(direct.status, 302, 'no consent page');
  t.equal(direct.tokens.scope, 'read write');
  const asked = await authorize('read', { prompt: 'consent' });
  t.equal(asked.status, 200, 'the page when asked for');
  t.match(asked.page, /Lifecycle app/);
});

t.test('refreshTokenReuseInterval over HTTP: a retry gets a fresh pair; a replay after the interval revokes the family', async (t) => {
  let now = Date.now();
  const { storage, authorize, refresh } = await setup(t, { refreshTokenReuseInterval: 30, clock: () => new Date(now) });
  const { tokens } = await authorize('read');
  const original = tokens.refresh_token!;

  const rotated = await refresh(original);
  now += 20_000;
  const retried = await refresh(original);
  t.not(retried.refresh_token, rotated.refresh_token, 'the retry gets its own pair');
  t.not(retried.access_token, rotated.access_token);
  for (const token of [rotated.refresh_token!, retried.refresh_token!]) {
    t.match(await storage.findRefreshToken(tokenDigest(token)), { revokedAt: null, consumedAt: null }, 'both successors are live');
  }
  t.ok(await refresh(rotated.refresh_token!), 'and the first one still refreshes');

  now += 11_000;
  const replay = await refresh(original).then(
    () => null,
    (error: unknown) => error,
  );
  t.ok(replay instanceof oauth.ResponseBodyError, 'after the interval the token is refused');
  t.equal((replay as oauth.ResponseBodyError).error, 'invalid_grant');
  t.equal((replay as oauth.ResponseBodyError).status, 400);
  t.not((await storage.findRefreshToken(tokenDigest(retried.refresh_token!)))?.revokedAt, null, 'and the family is revoked');
});
