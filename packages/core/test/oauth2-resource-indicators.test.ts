// RFC 8707 in the core: which resources exist, the audience a grant gets, its narrowing, and the
// verifier's audience check, on the memory store.
import t from 'tap';
import {
  basicAuthorization,
  bodyOf,
  CHALLENGE,
  countRows,
  createAuthorizeRequest,
  createFixture,
  createFormRequest,
  errorLike,
  ISSUER,
  obtainCode,
  REDIRECT_URI,
  registerTestClient,
  tokenRequest,
  VERIFIER,
} from './oauth2-fixtures.js';

const API = 'https://api.example.com/v1';
const MCP = 'https://auth.example.com/mcp';

t.test('the options: resources and defaultAudience must be resource identifiers; registerResource adds one', async (t) => {
  for (const bad of ['relative/path', 'https://api.example.com/#top', '', 42]) {
    t.throws(() => createFixture({ resources: [bad as string] }), TypeError, String(bad));
    t.throws(() => createFixture({ defaultAudience: [bad as string] }), TypeError, String(bad));
  }
  const fixture = createFixture({ resources: [API], defaultAudience: [ISSUER] });
  t.same(fixture.server.resources(), [API, ISSUER], 'the default audience is known too');
  fixture.server.registerResource(MCP);
  t.same(fixture.server.resources(), [API, ISSUER, MCP]);
  t.throws(() => fixture.server.registerResource('mcp'), TypeError);
  t.same(fixture.server.options.defaultAudience, [ISSUER]);
});

t.test('a code for two resources: exchanged narrowed to one, refreshed narrowed to the other, never widened', async (t) => {
  const fixture = createFixture({ resources: [API, MCP] });
  const client = await registerTestClient(fixture, { grantTypes: ['authorization_code', 'refresh_token'] });
  const code = await obtainCode(fixture, client, { resource: [API, MCP] });
  t.same(fixture.storage.snapshot().authorizationCodes[0]?.audience, [API, MCP], 'the code holds the grant');

  const widened = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER, resource: ISSUER }),
  );
  t.equal(widened.status, 400);
  t.same(bodyOf(widened).error, 'invalid_target');
  t.equal(fixture.storage.snapshot().authorizationCodes[0]?.consumedAt, null, 'a refused resource does not spend the code');

  const exchanged = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER, resource: MCP }),
  );
  t.equal(exchanged.status, 200);
  const tokens = bodyOf(exchanged) as { access_token: string; refresh_token: string };
  t.same((await fixture.server.verifyAccessToken(tokens.access_token, [], MCP)).audience, [MCP]);
  await t.rejects(
    fixture.server.verifyAccessToken(tokens.access_token, [], API),
    errorLike({ error: 'invalid_token', status: 401, description: 'The access token was not issued for this resource.' }),
  );
  t.same(fixture.storage.snapshot().refreshTokens[0]?.audience, [API, MCP], 'the refresh token keeps the grant');

  const before = countRows(fixture.storage);
  const refusedRefresh = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, resource: [API, ISSUER] }),
  );
  t.equal(refusedRefresh.status, 400);
  t.same(bodyOf(refusedRefresh).error, 'invalid_target');
  t.same(countRows(fixture.storage), before, 'nothing stored');
  const refreshed = await fixture.server.handleTokenRequest(
    tokenRequest(client, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, resource: API }),
  );
  t.equal(refreshed.status, 200);
  const access = await fixture.server.verifyAccessToken((bodyOf(refreshed) as { access_token: string }).access_token);
  t.same(access.audience, [API]);
});

t.test('a client limited to resources; the default audience leaves out the others', async (t) => {
  const fixture = createFixture({ resources: [API, MCP], defaultAudience: [API, MCP] });
  const limited = await registerTestClient(fixture, { grantTypes: ['client_credentials'], resources: [MCP] });
  t.same(limited.client.resources, [MCP]);
  const refused = await fixture.server.handleTokenRequest(tokenRequest(limited, { grant_type: 'client_credentials', resource: API }));
  t.equal(refused.status, 400);
  t.same(bodyOf(refused), { error: 'invalid_target', error_description: 'The resource is unknown to this server or not open to the client.' });
  const defaulted = await fixture.server.handleTokenRequest(tokenRequest(limited, { grant_type: 'client_credentials' }));
  const grant = await fixture.server.verifyAccessToken((bodyOf(defaulted) as { access_token: string }).access_token);
  t.same(grant.audience, [MCP]);
  await t.rejects(registerTestClient(fixture, { resources: ['not a uri'] }), errorLike({ error: 'invalid_request' }));
  await t.rejects(
    fixture.server.issueTokens({ clientId: limited.client.id, userId: null, resource: [API] }),
    errorLike({ error: 'invalid_target' }),
  );
  const byHand = await fixture.server.issueTokens({ clientId: limited.client.id, userId: null, resource: [MCP] });
  t.same((await fixture.server.verifyAccessToken(byHand.access_token)).audience, [MCP]);
});

t.test('the authorization endpoint: resource may repeat, other parameters still may not; invalid_target is redirected', async (t) => {
  const fixture = createFixture({ resources: [API, MCP] });
  const client = await registerTestClient(fixture);
  const base = { response_type: 'code', client_id: client.client.id, redirect_uri: REDIRECT_URI, code_challenge: CHALLENGE, code_challenge_method: 'S256', state: 's' };
  const asked = await fixture.server.validateAuthorizationRequest(createAuthorizeRequest({ ...base, resource: [API, MCP, API] }));
  t.equal(asked.kind, 'consent');
  if (asked.kind === 'consent') t.same(asked.request.resource, [API, MCP], 'repeats of one value count once');
  const unknown = await fixture.server.validateAuthorizationRequest(createAuthorizeRequest({ ...base, resource: 'https://elsewhere.example/' }));
  t.equal(unknown.kind, 'redirect');
  if (unknown.kind === 'redirect') {
    const location = new URL(unknown.location);
    t.equal(location.searchParams.get('error'), 'invalid_target');
    t.equal(location.searchParams.get('state'), 's');
  }
  const repeatedScope = await fixture.server.validateAuthorizationRequest(createAuthorizeRequest({ ...base, scope: ['read', 'write'] }));
  t.equal(repeatedScope.kind, 'redirect');
  if (repeatedScope.kind === 'redirect') t.equal(new URL(repeatedScope.location).searchParams.get('error'), 'invalid_request');

  const introspected = await fixture.server.issueTokens({ clientId: client.client.id, userId: 'u', resource: [API, MCP] });
  const response = await fixture.server.handleIntrospectionRequest(
    createFormRequest('/oauth/introspect', { token: introspected.access_token }, { authorization: basicAuthorization(client.client.id, client.clientSecret!) }),
  );
  t.match(bodyOf(response), { active: true, aud: [API, MCP] });
});
