import t from 'tap';
import { ALICE_PASSWORD, Browser, buildTestApp, signedHeader } from './helpers.js';

t.test('OAuth 1.0a: three legs through login and consent, signed API requests, replay, revoke', async (t) => {
  const { app, alice, client, pollId } = await buildTestApp();
  t.teardown(() => app.close());
  const consumer = { consumerKey: client.id, consumerSecret: client.secret };

  const unsigned = await app.inject({ method: 'POST', url: '/oauth1/request_token' });
  t.equal(unsigned.statusCode, 400, 'no protocol parameters');
  t.equal(unsigned.json().error, 'parameter_absent');
  const forged = await app.inject({ method: 'POST', url: '/oauth1/request_token', headers: { authorization: signedHeader({ method: 'POST', path: '/oauth1/request_token', ...consumer, consumerSecret: 'pcs_wrong', extra: { oauth_callback: 'https://client.example/cb' } }) } });
  t.equal(forged.statusCode, 401);
  t.equal(forged.json().error, 'signature_invalid');

  const temporary = await app.inject({
    method: 'POST',
    url: '/oauth1/request_token',
    headers: { authorization: signedHeader({ method: 'POST', path: '/oauth1/request_token', ...consumer, extra: { oauth_callback: 'https://client.example/cb' } }) },
  });
  t.equal(temporary.statusCode, 200, temporary.body);
  t.match(temporary.headers['content-type'], /application\/x-www-form-urlencoded/);
  const temp = new URLSearchParams(temporary.body);
  t.equal(temp.get('oauth_callback_confirmed'), 'true');
  const requestToken = temp.get('oauth_token')!;
  const requestSecret = temp.get('oauth_token_secret')!;

  const browser = new Browser(app);
  const authorizePath = `/oauth1/authorize?oauth_token=${encodeURIComponent(requestToken)}`;
  const anonymous = await browser.get(authorizePath);
  t.equal(anonymous.statusCode, 302);
  t.equal(anonymous.headers.location, `/login?returnTo=${encodeURIComponent(authorizePath)}`);
  t.equal((await browser.login('alice', ALICE_PASSWORD, authorizePath)).headers.location, authorizePath);
  const consent = await browser.get(authorizePath);
  t.equal(consent.statusCode, 200);
  t.match(consent.body, /Test &lt;Client&gt;/);
  t.match(consent.body, /See voting statistics of polls/);
  t.match(consent.headers['content-security-policy'], /form-action 'self' https:\/\/client\.example/);
  t.match(consent.body, /name="csrf_token"/, 'the plugin\'s consent page');
  const noCsrf = await browser.post('/oauth1/authorize', { oauth_token: requestToken, decision: 'approve' });
  t.equal(noCsrf.statusCode, 403);
  const forgedCsrf = await browser.post('/oauth1/authorize', { csrf_token: 'forged', decision: 'approve' });
  t.equal(forgedCsrf.statusCode, 403, 'a forged form approves nothing');
  t.equal((await app.demo.storage.listAccessTokens({})).length, 0);
  const approved = await browser.post('/oauth1/authorize', { csrf_token: Browser.csrf(consent.body, 'csrf_token'), decision: 'approve' });
  t.equal(approved.statusCode, 303);
  const callback = new URL(String(approved.headers.location));
  t.equal(callback.origin + callback.pathname, 'https://client.example/cb');
  t.equal(callback.searchParams.get('oauth_token'), requestToken);
  const verifier = callback.searchParams.get('oauth_verifier')!;
  t.ok(verifier);

  const tokenResponse = await app.inject({
    method: 'POST',
    url: '/oauth1/access_token',
    headers: { authorization: signedHeader({ method: 'POST', path: '/oauth1/access_token', ...consumer, token: requestToken, tokenSecret: requestSecret, extra: { oauth_verifier: verifier } }) },
  });
  t.equal(tokenResponse.statusCode, 200, tokenResponse.body);
  const credentials = new URLSearchParams(tokenResponse.body);
  const token = credentials.get('oauth_token')!;
  const tokenSecret = credentials.get('oauth_token_secret')!;
  t.ok(token && tokenSecret);
  const again = await app.inject({
    method: 'POST',
    url: '/oauth1/access_token',
    headers: { authorization: signedHeader({ method: 'POST', path: '/oauth1/access_token', ...consumer, token: requestToken, tokenSecret: requestSecret, extra: { oauth_verifier: verifier } }) },
  });
  t.equal(again.statusCode, 401, 'a request token is single use');

  const signed = { ...consumer, token, tokenSecret };
  const polls = await app.inject({ url: '/api/polls', headers: { authorization: signedHeader({ method: 'GET', path: '/api/polls', ...signed }) } });
  t.equal(polls.statusCode, 200, polls.body);
  const choiceId = String(polls.json().polls[0].choices[0].id);
  const me = await app.inject({ url: '/api/me', headers: { authorization: signedHeader({ method: 'GET', path: '/api/me', ...signed }) } });
  t.same(me.json(), { client_id: client.id, user: { id: alice.id, username: 'alice' }, scope: me.json().scope, protocol: 'oauth1' });
  const votePath = `/api/polls/${pollId}/vote`;
  const vote = await app.inject({
    method: 'POST',
    url: votePath,
    headers: { authorization: signedHeader({ method: 'POST', path: votePath, ...signed, body: { choice_id: choiceId } }), 'content-type': 'application/x-www-form-urlencoded' },
    payload: `choice_id=${choiceId}`,
  });
  t.equal(vote.statusCode, 201, vote.body);
  t.match(await app.demo.db.selectFrom('demo_votes').selectAll().execute(), [{ user_id: alice.id, client_id: client.id }]);
  const tampered = await app.inject({
    method: 'POST',
    url: votePath,
    headers: { authorization: signedHeader({ method: 'POST', path: votePath, ...signed, body: { choice_id: choiceId } }), 'content-type': 'application/x-www-form-urlencoded' },
    payload: `choice_id=999`,
  });
  t.equal(tampered.statusCode, 401, 'a changed body breaks the signature');

  const replayHeader = signedHeader({ method: 'GET', path: '/api/me', ...signed, nonce: 'once-only' });
  t.equal((await app.inject({ url: '/api/me', headers: { authorization: replayHeader } })).statusCode, 200);
  const replay = await app.inject({ url: '/api/me', headers: { authorization: replayHeader } });
  t.equal(replay.statusCode, 401, 'a replayed nonce is refused');
  t.equal(replay.json().error, 'nonce_used');

  const apps = await browser.get('/account/apps');
  t.match(apps.body, /OAuth 1\.0a/);
  await browser.post('/account/apps/revoke', { _csrf: Browser.csrf(apps.body), client_id: client.id });
  const revoked = await app.inject({ url: '/api/me', headers: { authorization: signedHeader({ method: 'GET', path: '/api/me', ...signed }) } });
  t.equal(revoked.statusCode, 401, 'revoked from /account/apps');
});

t.test('OAuth 1.0a: deny sends the client back with permission_denied', async (t) => {
  const { app, client } = await buildTestApp();
  t.teardown(() => app.close());
  const temporary = await app.inject({
    method: 'POST',
    url: '/oauth1/request_token',
    headers: { authorization: signedHeader({ method: 'POST', path: '/oauth1/request_token', consumerKey: client.id, consumerSecret: client.secret, extra: { oauth_callback: 'https://client.example/cb' } }) },
  });
  const requestToken = new URLSearchParams(temporary.body).get('oauth_token')!;
  const browser = new Browser(app);
  await browser.login('alice', ALICE_PASSWORD);
  const consent = await browser.get(`/oauth1/authorize?oauth_token=${encodeURIComponent(requestToken)}`);
  const denied = await browser.post('/oauth1/authorize', { csrf_token: Browser.csrf(consent.body, 'csrf_token'), decision: 'deny' });
  t.equal(denied.statusCode, 303);
  const location = new URL(String(denied.headers.location));
  t.equal(location.searchParams.get('oauth_problem'), 'permission_denied');
  t.equal(location.searchParams.get('oauth_verifier'), null);
  const unknown = await browser.get('/oauth1/authorize?oauth_token=pcq_unknown');
  t.equal(unknown.statusCode >= 400, true, 'an unknown request token gets an error page');
  t.match(unknown.headers['content-type'], /text\/html/);
});
