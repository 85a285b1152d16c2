import t from 'tap';
import { bearer, buildTestApp, form } from './helpers.js';

t.test('the polls API: each route with its scope, votes persisted', async (t) => {
  const { app, alice, client, pollId } = await buildTestApp();
  t.teardown(() => app.close());
  const issue = (scope: string[], userId: string | null = alice.id) => app.oauth.issueTokens({ clientId: client.id, userId, scope });
  const all = (await issue(['polls:read', 'polls:vote', 'polls:results', 'polls:stats'])).access_token;
  const readOnly = (await issue(['polls:read'])).access_token;
  const clientOnly = (await issue(['polls:vote'], null)).access_token;

  const none = await app.inject({ url: '/api/polls' });
  t.equal(none.statusCode, 401);
  t.match(none.headers['www-authenticate'], /^Bearer realm=/);
  t.notMatch(none.headers['www-authenticate'], /error=/, 'no error code when no token was sent (RFC 6750 3.1)');
  const bad = await app.inject({ url: '/api/polls', headers: bearer('pca_not-a-token') });
  t.equal(bad.statusCode, 401);
  t.match(bad.headers['www-authenticate'], /error="invalid_token"/);
  t.equal(bad.json().error, 'invalid_token');

  const polls = await app.inject({ url: '/api/polls', headers: bearer(readOnly) });
  t.equal(polls.statusCode, 200);
  t.match(polls.json(), { polls: [{ id: pollId, question: 'Tea or coffee?', choices: [{ label: 'Tea' }, { label: 'Coffee' }] }] });
  const choiceId = polls.json().polls[0].choices[1].id as number;

  const noVote = await app.inject({ method: 'POST', url: `/api/polls/${pollId}/vote`, ...form({ choice_id: String(choiceId) }, bearer(readOnly)) });
  t.equal(noVote.statusCode, 403);
  t.match(noVote.headers['www-authenticate'], /error="insufficient_scope"/);
  t.match(noVote.headers['www-authenticate'], /scope="polls:vote"/);
  const count = async () => (await app.demo.db.selectFrom('demo_votes').selectAll().execute()).length;
  t.equal(await count(), 0, 'a refused vote stores nothing');

  const noChoice = await app.inject({ method: 'POST', url: `/api/polls/${pollId}/vote`, ...form({ choice_id: 'x' }, bearer(all)) });
  t.equal(noChoice.statusCode, 400);
  t.equal(noChoice.json().error, 'invalid_request');
  const wrongChoice = await app.inject({ method: 'POST', url: `/api/polls/${pollId}/vote`, ...form({ choice_id: '99999' }, bearer(all)) });
  t.equal(wrongChoice.statusCode, 400);
  const noPoll = await app.inject({ method: 'POST', url: '/api/polls/424242/vote', ...form({ choice_id: String(choiceId) }, bearer(all)) });
  t.equal(noPoll.statusCode, 404);
  const byClient = await app.inject({ method: 'POST', url: `/api/polls/${pollId}/vote`, ...form({ choice_id: String(choiceId) }, bearer(clientOnly)) });
  t.equal(byClient.statusCode, 403);
  t.equal(byClient.json().error, 'user_required');
  t.equal(await count(), 0);

  const vote = await app.inject({ method: 'POST', url: `/api/polls/${pollId}/vote`, ...form({ choice_id: String(choiceId) }, bearer(all)) });
  t.equal(vote.statusCode, 201);
  t.same(vote.json(), { poll_id: pollId, choice_id: choiceId, recorded: true });
  const rows = await app.demo.db.selectFrom('demo_votes').selectAll().execute();
  t.match(rows, [{ poll_id: pollId, choice_id: choiceId, user_id: alice.id, client_id: client.id }]);
  const again = await app.inject({ method: 'POST', url: `/api/polls/${pollId}/vote`, headers: { ...bearer(all), 'content-type': 'application/json' }, payload: JSON.stringify({ choice_id: choiceId }) });
  t.equal(again.statusCode, 409);
  t.equal(again.json().error, 'already_voted');
  const malformed = await app.inject({ method: 'POST', url: `/api/polls/${pollId}/vote`, headers: { ...bearer(all), 'content-type': 'application/json' }, payload: '{"choice_id":' });
  t.equal(malformed.statusCode, 400, 'a malformed body is a client error');
  t.equal(malformed.json().error, 'invalid_request');
  t.same(Object.keys(malformed.json()).sort(), ['error', 'error_description'], 'in the RFC shape, not Fastify\'s');
  const bodyToken = await app.inject({ method: 'POST', url: `/api/polls/${pollId}/vote`, ...form({ choice_id: String(choiceId), access_token: all }) });
  t.equal(bodyToken.statusCode, 409, 'the token in the form body (RFC 6750 section 2.2) is accepted too');
  t.equal(await count(), 1);

  const resultsDenied = await app.inject({ url: `/api/polls/${pollId}/results`, headers: bearer(readOnly) });
  t.equal(resultsDenied.statusCode, 403);
  t.match(resultsDenied.headers['www-authenticate'], /scope="polls:results"/, 'the derived scope is polls:results');
  const results = await app.inject({ url: `/api/polls/${pollId}/results`, headers: bearer(all) });
  t.equal(results.statusCode, 200);
  t.match(results.json(), { poll_id: pollId, total_votes: 1, results: [{ label: 'Tea', votes: 0 }, { label: 'Coffee', votes: 1 }] });
  t.equal((await app.inject({ url: '/api/polls/424242/results', headers: bearer(all) })).statusCode, 404);

  const statsDenied = await app.inject({ url: `/api/polls/${pollId}/stats`, headers: bearer(readOnly) });
  t.equal(statsDenied.statusCode, 403);
  const stats = await app.inject({ url: `/api/polls/${pollId}/stats`, headers: bearer(all) });
  t.equal(stats.statusCode, 200);
  t.match(stats.json(), { poll_id: pollId, total_votes: 1, clients: [{ client_id: client.id, votes: 1 }] });

  const me = await app.inject({ url: '/api/me', headers: bearer(clientOnly) });
  t.equal(me.statusCode, 200);
  t.same(me.json(), { client_id: client.id, user: null, scope: 'polls:vote', protocol: 'oauth2' });
  const index = await app.inject({ url: '/api/', headers: bearer(readOnly) });
  t.equal(index.statusCode, 200);
  t.equal(index.json().user.username, 'alice');

  const declared = app.oauth.declaredScopes().map((d) => d.scope);
  for (const scope of ['polls:read', 'polls:vote', 'polls:results', 'polls:stats']) t.ok(declared.includes(scope), `${scope} is declared by a route`);
});

t.test('django-oauth2-provider\'s password grant at /oauth2/access_token/, credentials in the body', async (t) => {
  const { app, client } = await buildTestApp();
  t.teardown(() => app.close());
  const ok = await app.inject({
    method: 'POST',
    url: '/oauth2/access_token/',
    ...form({ client_id: client.id, client_secret: client.secret, grant_type: 'password', username: 'alice', password: 'alice-password', scope: 'read polls:read' }),
  });
  t.equal(ok.statusCode, 200);
  t.equal(ok.headers['cache-control'], 'no-store');
  const body = ok.json();
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
  t.equal(body.token_type, 'Bearer');
  t.equal(body.scope, 'read polls:read');
  t.equal((await app.inject({ url: '/api/polls', headers: bearer(body.access_token) })).statusCode, 200);

  const wrong = await app.inject({ method: 'POST', url: '/oauth2/access_token', ...form({ client_id: client.id, client_secret: client.secret, grant_type: 'password', username: 'alice', password: 'wrong' }) });
  t.equal(wrong.statusCode, 400);
  t.equal(wrong.json().error, 'invalid_grant');
  const badClient = await app.inject({ method: 'POST', url: '/oauth2/access_token/', ...form({ client_id: client.id, client_secret: 'pcs_wrong', grant_type: 'password', username: 'alice', password: 'alice-password' }) });
  t.equal(badClient.statusCode, 401);
  t.equal(badClient.json().error, 'invalid_client');
  const oauthost = await app.inject({ method: 'POST', url: '/token/', ...form({ client_id: client.id, client_secret: client.secret, grant_type: 'client_credentials', scope: 'polls:stats' }) });
  t.equal(oauthost.statusCode, 200, 'oauthost\'s token/ path works too');
  t.equal(oauthost.json().scope, 'polls:stats');
  const auth = await app.inject({ url: `/auth/?client_id=${client.id}&response_type=code` });
  t.equal(auth.statusCode, 302);
  t.equal(auth.headers.location, `/oauth/authorize?client_id=${client.id}&response_type=code`, 'oauthost\'s auth/ leads to the authorization endpoint');
  const json = await app.inject({ method: 'POST', url: '/oauth2/access_token/', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ grant_type: 'password' }) });
  t.equal(json.statusCode, 400);
  t.equal(json.json().error, 'invalid_request');
});

t.test('API, token and metadata responses carry no Set-Cookie: the session stays on the browser pages', async (t) => {
  const { app, client } = await buildTestApp();
  t.teardown(() => app.close());
  const basic = `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;
  const token = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    ...form({ grant_type: 'client_credentials', scope: 'polls:read' }, { authorization: basic }),
  });
  t.equal(token.statusCode, 200);
  t.equal(token.headers['set-cookie'], undefined, 'token response');
  const polls = await app.inject({ url: '/api/polls', headers: bearer(token.json().access_token) });
  t.equal(polls.statusCode, 200);
  t.equal(polls.headers['set-cookie'], undefined, 'protected API response');
  const refused = await app.inject({ url: '/api/polls' });
  t.equal(refused.statusCode, 401);
  t.equal(refused.headers['set-cookie'], undefined, 'refused API response');
  const metadata = await app.inject({ url: '/.well-known/oauth-authorization-server' });
  t.equal(metadata.statusCode, 200);
  t.equal(metadata.headers['set-cookie'], undefined, 'metadata');
  t.equal(metadata.json().jwks_uri, `${metadata.json().issuer}/oauth/jwks.json`, 'the metadata names the JWK Set');
  const jwks = await app.inject({ url: '/oauth/jwks.json' });
  t.equal(jwks.statusCode, 200);
  t.equal(jwks.headers['set-cookie'], undefined, 'JWK Set');
  t.strictSame(jwks.json().keys.map((key: { alg: string }) => key.alg).sort(), ['ES256', 'EdDSA', 'RS256'], 'a public key per algorithm');
  const login = await app.inject({ url: '/oauth/authorize?response_type=code&client_id=' + client.id });
  t.equal(login.statusCode, 302, 'the browser endpoint still keeps its request in the session');
  t.match(login.headers['set-cookie'], /polls_session=/);
});
