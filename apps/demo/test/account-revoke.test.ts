// Revoking an app on /account/apps ends every credential the user gave it, the ones not yet
// exchanged included: an authorization code and an approved OAuth 1.0a request token.
import t from 'tap';
import { ALICE_PASSWORD, Browser, buildTestApp, signedHeader } from './helpers.js';

const REDIRECT_URI = 'https://client.example/cb';

t.test('revoking an app on /account/apps leaves no code or request token to exchange', async (t) => {
  const { app, alice, client } = await buildTestApp();
  t.teardown(() => app.close());
  const consumer = { consumerKey: client.id, consumerSecret: client.secret };
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;
  const browser = new Browser(app);
  await browser.login('alice', ALICE_PASSWORD);

  const approveCode = async (state: string): Promise<string> => {
    const consent = await browser.get(
      `/oauth/authorize?response_type=code&client_id=${encodeURIComponent(client.id)}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&scope=polls%3Aread&state=${state}`,
    );
    // Once approved, the consent is remembered: the same request is answered without the page.
    const approved =
      consent.statusCode === 302 ? consent : await browser.post('/oauth/authorize', { csrf_token: Browser.csrf(consent.body, 'csrf_token'), decision: 'approve' });
    return new URL(String(approved.headers.location)).searchParams.get('code') ?? '';
  };
  const exchangeCode = (code: string) =>
    app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
      payload: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }).toString(),
    });

  // Tokens the app holds (so it is listed), and a second code it has not exchanged yet.
  const first = await exchangeCode(await approveCode('first'));
  t.equal(first.statusCode, 200);
  const accessToken = first.json().access_token as string;
  const pendingCode = await approveCode('second');
  t.ok(pendingCode, 'a second code, not exchanged');

  // An OAuth 1.0a request token the user approved, not exchanged yet.
  const temporary = await app.inject({
    method: 'POST',
    url: '/oauth1/request_token',
    headers: { authorization: signedHeader({ method: 'POST', path: '/oauth1/request_token', ...consumer, extra: { oauth_callback: REDIRECT_URI } }) },
  });
  t.equal(temporary.statusCode, 200);
  const temp = new URLSearchParams(temporary.body);
  const requestToken = temp.get('oauth_token')!;
  const consent = await browser.get(`/oauth1/authorize?oauth_token=${encodeURIComponent(requestToken)}`);
  const approved = await browser.post('/oauth1/authorize', { csrf_token: Browser.csrf(consent.body, 'csrf_token'), decision: 'approve' });
  const verifier = new URL(String(approved.headers.location)).searchParams.get('oauth_verifier')!;
  t.ok(verifier, 'an approved request token');

  const apps = await browser.get('/account/apps');
  const revoked = await browser.post('/account/apps/revoke', { _csrf: Browser.csrf(apps.body), client_id: client.id });
  t.equal(revoked.statusCode, 303);
  t.match((await browser.get('/account/apps')).body, /4 credentials revoked/, 'access and refresh token, code and request token');

  const late = await exchangeCode(pendingCode);
  t.equal(late.statusCode, 400, 'the code not yet exchanged buys nothing');
  t.equal(late.json().error, 'invalid_grant');
  const lateOAuth1 = await app.inject({
    method: 'POST',
    url: '/oauth1/access_token',
    headers: {
      authorization: signedHeader({ method: 'POST', path: '/oauth1/access_token', ...consumer, token: requestToken, tokenSecret: temp.get('oauth_token_secret')!, extra: { oauth_verifier: verifier } }),
    },
  });
  t.equal(lateOAuth1.statusCode, 401, 'the approved request token buys nothing');
  t.equal(lateOAuth1.json().error, 'token_used');
  t.equal((await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${accessToken}` } })).statusCode, 401, 'the access token is revoked');
  const live = await app.demo.storage.listAccessTokens({ clientId: client.id, liveAt: new Date() });
  t.equal(live.length, 0, 'no live access token of the app is left');
  t.same(await app.demo.storage.listGrants(alice.id, new Date()), [], 'alice has granted the app nothing any more');
});
