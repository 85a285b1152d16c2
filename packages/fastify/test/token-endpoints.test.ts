import t from 'tap';
import { basicAuth, buildTestApp, FORM, form, ISSUER } from './helpers.js';

t.test('token, revocation, introspection and metadata endpoints', async (t) => {
  const { app, storage, close } = await buildTestApp();
  t.teardown(close);
  const { client, clientSecret } = await app.oauth.registerClient({
    name: 'Reporting',
    grantTypes: ['client_credentials'],
    scopes: ['read', 'polls:results'],
  });
  const auth = basicAuth(client.id, clientSecret!);

  async function issue(scope = 'read'): Promise<string> {
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: auth },
      payload: form({ grant_type: 'client_credentials', scope }),
    });
    t.equal(response.statusCode, 200);
    return response.json().access_token as string;
  }

  await t.test('client_credentials issues a token', async (t) => {
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: auth },
      payload: form({ grant_type: 'client_credentials', scope: 'read polls:results' }),
    });
    t.equal(response.statusCode, 200);
    t.match(response.headers['content-type'], /^application\/json/);
    t.equal(response.headers['cache-control'], 'no-store');
    t.equal(response.headers.pragma, 'no-cache');
    const body = response.json();
    t.match(body, { token_type: 'Bearer', expires_in: 3600, scope: 'read polls:results' });
    t.match(body.access_token, /^pca_/);
    const live = await storage.listAccessTokens({ clientId: client.id });
    t.ok(live.some((record) => record.scope.includes('polls:results')), 'the token is stored');
    t.notOk(JSON.stringify(live).includes(body.access_token), 'only its digest is stored');
  });

  await t.test('a JSON body is invalid_request, not 415', async (t) => {
    const before = await storage.listAccessTokens({ clientId: client.id });
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/json', authorization: auth },
      payload: JSON.stringify({ grant_type: 'client_credentials' }),
    });
    t.equal(response.statusCode, 400);
    t.equal(response.headers['cache-control'], 'no-store');
    t.same(response.json(), {
      error: 'invalid_request',
      error_description: 'The request body must be application/x-www-form-urlencoded.',
    });
    t.equal((await storage.listAccessTokens({ clientId: client.id })).length, before.length, 'nothing stored');
  });

  await t.test('a text body, an unparsable form type and a body without a type are invalid_request', async (t) => {
    for (const headers of [{ 'content-type': 'text/plain' }, { 'content-type': 'multipart/form-data; boundary=x' }, {}]) {
      const response = await app.inject({ method: 'POST', url: '/oauth/token', headers, payload: 'grant_type=client_credentials' });
      t.equal(response.statusCode, 400, JSON.stringify(headers));
      t.equal(response.json().error, 'invalid_request');
    }
  });

  await t.test('no body at all is invalid_request', async (t) => {
    const response = await app.inject({ method: 'POST', url: '/oauth/token' });
    t.equal(response.statusCode, 400);
    t.equal(response.json().error, 'invalid_request');
    t.type(response.json().error_description, 'string');
  });

  await t.test('a body over the limit is invalid_request with 413', async (t) => {
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: FORM,
      payload: `grant_type=client_credentials&pad=${'x'.repeat(1_100_000)}`,
    });
    t.equal(response.statusCode, 413);
    t.same(response.json(), { error: 'invalid_request', error_description: 'The request body is too large.' });
  });

  await t.test('wrong client secret is 401 invalid_client with a Basic challenge', async (t) => {
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: basicAuth(client.id, 'pcs_wrong') },
      payload: form({ grant_type: 'client_credentials' }),
    });
    t.equal(response.statusCode, 401);
    t.equal(response.json().error, 'invalid_client');
    t.match(response.headers['www-authenticate'], /^Basic /);
  });

  await t.test('an unknown grant type is unsupported_grant_type', async (t) => {
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: auth },
      payload: form({ grant_type: 'urn:example:magic' }),
    });
    t.equal(response.statusCode, 400);
    t.equal(response.json().error, 'unsupported_grant_type');
  });

  await t.test('a repeated parameter is invalid_request', async (t) => {
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: auth },
      payload: form({ grant_type: ['client_credentials', 'client_credentials'] }),
    });
    t.equal(response.statusCode, 400);
    t.equal(response.json().error, 'invalid_request');
  });

  await t.test('other methods on the endpoints are 405 invalid_request with Allow: POST', async (t) => {
    for (const [method, url] of [['GET', '/oauth/token'], ['PUT', '/oauth/revoke'], ['DELETE', '/oauth/introspect']] as const) {
      const response = await app.inject({ method, url });
      t.equal(response.statusCode, 405, `${method} ${url}`);
      t.equal(response.headers.allow, 'POST');
      t.equal(response.json().error, 'invalid_request');
    }
  });

  await t.test('introspection reports an active token and its scope', async (t) => {
    const token = await issue('read');
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { ...FORM, authorization: auth },
      payload: form({ token }),
    });
    t.equal(response.statusCode, 200);
    t.equal(response.headers['cache-control'], 'no-store');
    t.match(response.json(), { active: true, scope: 'read', client_id: client.id, token_type: 'Bearer', iss: ISSUER });
  });

  await t.test('introspection without client authentication is invalid_client', async (t) => {
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: FORM,
      payload: form({ token: 'pca_whatever' }),
    });
    t.equal(response.statusCode, 401);
    t.equal(response.json().error, 'invalid_client');
  });

  await t.test('introspection of an unknown token is inactive', async (t) => {
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { ...FORM, authorization: auth },
      payload: form({ token: 'pca_unknown' }),
    });
    t.equal(response.statusCode, 200);
    t.same(response.json(), { active: false });
  });

  await t.test('revocation revokes the token, and answers 200 for unknown tokens too', async (t) => {
    const token = await issue('read');
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/revoke',
      headers: { ...FORM, authorization: auth },
      payload: form({ token, token_type_hint: 'access_token' }),
    });
    t.equal(response.statusCode, 200);
    t.equal(response.body, '');
    t.equal(response.headers['cache-control'], 'no-store');
    const introspected = await app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { ...FORM, authorization: auth },
      payload: form({ token }),
    });
    t.same(introspected.json(), { active: false });
    const unknown = await app.inject({
      method: 'POST',
      url: '/oauth/revoke',
      headers: { ...FORM, authorization: auth },
      payload: form({ token: 'pca_unknown' }),
    });
    t.equal(unknown.statusCode, 200);
  });

  await t.test('revocation without a token is invalid_request', async (t) => {
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/revoke',
      headers: { ...FORM, authorization: auth },
      payload: form({}),
    });
    t.equal(response.statusCode, 400);
    t.equal(response.json().error, 'invalid_request');
  });

  await t.test('the metadata document refuses other methods with an RFC-shaped 405', async (t) => {
    for (const method of ['POST', 'PUT', 'DELETE'] as const) {
      const response = await app.inject({ method, url: '/.well-known/oauth-authorization-server' });
      t.equal(response.statusCode, 405, method);
      t.equal(response.headers.allow, 'GET, HEAD', method);
      t.equal(response.headers['cache-control'], 'no-store', method);
      t.same(response.json(), { error: 'invalid_request', error_description: 'The metadata document is read with GET.' }, method);
    }
  });

  await t.test('the metadata document names the mounted endpoints', async (t) => {
    const response = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
    t.equal(response.statusCode, 200);
    t.match(response.headers['content-type'], /^application\/json/);
    t.match(response.json(), {
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/oauth/authorize`,
      token_endpoint: `${ISSUER}/oauth/token`,
      revocation_endpoint: `${ISSUER}/oauth/revoke`,
      introspection_endpoint: `${ISSUER}/oauth/introspect`,
      code_challenge_methods_supported: ['S256'],
    });
    t.same(response.json().scopes_supported, ['read', 'write', 'polls:vote', 'polls:results']);
  });
});

t.test('enforceSecure: plain HTTP is refused unless a trusted proxy says https', async (t) => {
  const { app, close } = await buildTestApp({ plugin: { development: false }, fastify: { trustProxy: true } });
  t.teardown(close);
  const { client, clientSecret } = await app.oauth.registerClient({ name: 'Secure', grantTypes: ['client_credentials'], scopes: ['read'] });
  const request = {
    method: 'POST' as const,
    url: '/oauth/token',
    payload: form({ grant_type: 'client_credentials', scope: 'read' }),
  };
  const plain = await app.inject({ ...request, headers: { ...FORM, authorization: basicAuth(client.id, clientSecret!) } });
  t.equal(plain.statusCode, 400);
  t.same(plain.json(), { error: 'invalid_request', error_description: 'TLS required' });
  const proxied = await app.inject({
    ...request,
    headers: { ...FORM, authorization: basicAuth(client.id, clientSecret!), 'x-forwarded-proto': 'https' },
  });
  t.equal(proxied.statusCode, 200);
});

t.test('without trustProxy, X-Forwarded-Proto is ignored', async (t) => {
  const { app, close } = await buildTestApp({ plugin: { development: false } });
  t.teardown(close);
  const { client, clientSecret } = await app.oauth.registerClient({ name: 'Secure', grantTypes: ['client_credentials'], scopes: ['read'] });
  const response = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { ...FORM, authorization: basicAuth(client.id, clientSecret!), 'x-forwarded-proto': 'https' },
    payload: form({ grant_type: 'client_credentials', scope: 'read' }),
  });
  t.equal(response.statusCode, 400);
  t.equal(response.json().error, 'invalid_request');
});

t.test('core options pass through: verifyUser enables the password grant, accessTokenTtl the lifetime', async (t) => {
  const { app, close } = await buildTestApp({
    plugin: {
      accessTokenTtl: 120,
      profile: 'oauth2.0',
      verifyUser: async (username, password) => (username === 'alice' && password === 'wonderland' ? { id: 'u-alice', username } : null),
    },
  });
  t.teardown(close);
  const { client, clientSecret } = await app.oauth.registerClient({ name: 'Legacy', grantTypes: ['password'], scopes: ['read'] });
  const granted = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { ...FORM, authorization: basicAuth(client.id, clientSecret!) },
    payload: form({ grant_type: 'password', username: 'alice', password: 'wonderland', scope: 'read' }),
  });
  t.equal(granted.statusCode, 200);
  t.match(granted.json(), { token_type: 'Bearer', expires_in: 120, scope: 'read' });
  const refused = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { ...FORM, authorization: basicAuth(client.id, clientSecret!) },
    payload: form({ grant_type: 'password', username: 'alice', password: 'wrong', scope: 'read' }),
  });
  t.equal(refused.statusCode, 400);
  t.equal(refused.json().error, 'invalid_grant');
  const metadata = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
  t.ok((metadata.json().grant_types_supported as string[]).includes('password'));
});

t.test("introspection's compiled serializer writes exactly what JSON.stringify writes of the core's answer", async (t) => {
  // Awkward characters for the compiled serializer: quotes, backslashes, controls, line and
  // paragraph separators, a lone surrogate, non-ASCII, and a string past its short-string path.
  const awkward = ['plain', 'quo"te\\back', 'ctl\u0001\n\t', 'sep\u2028\u2029', 'lone\ud800', 'é漢🙂', 'x'.repeat(60) + '"'];
  const usernames = new Map<string, string | null>(awkward.map((id, index) => [id, index % 3 === 2 ? null : `${id}!`]));
  const { app, close } = await buildTestApp({ plugin: { findUsername: async (id) => usernames.get(id) ?? null } });
  t.teardown(close);
  const { client, clientSecret } = await app.oauth.registerClient({ name: 'Serializer', grantTypes: ['client_credentials'], scopes: ['read', 'write'] });
  const authorization = basicAuth(client.id, clientSecret!);
  const tokens = [
    (await app.oauth.issueTokens({ clientId: client.id, userId: null, scope: ['read', 'write'] })).access_token,
    ...(await Promise.all(awkward.map(async (userId) => (await app.oauth.issueTokens({ clientId: client.id, userId, scope: ['read'] })).access_token))),
    'pca_unknown',
  ];
  const withRefresh = await app.oauth.issueTokens({ clientId: client.id, userId: 'plain', scope: ['read'], withRefreshToken: true });
  tokens.push(withRefresh.refresh_token!);
  for (const token of tokens) {
    const payload = form({ token });
    const response = await app.inject({ method: 'POST', url: '/oauth/introspect', headers: { ...FORM, authorization }, payload });
    const expected = await app.oauth.server.handleIntrospectionRequest({
      method: 'POST',
      url: new URL(`${ISSUER}/oauth/introspect`),
      headers: { authorization },
      body: { token },
      secure: true,
    });
    t.equal(response.statusCode, 200);
    t.equal(response.body, JSON.stringify(expected.body), `byte for byte: ${response.body.slice(0, 60)}`);
  }
});

t.test('an echoed request value comes back within the error_description characters, and bounded', async (t) => {
  const { app, close } = await buildTestApp();
  t.teardown(close);
  const { client, clientSecret } = await app.oauth.registerClient({ name: 'Echo', grantTypes: ['client_credentials'], scopes: ['read'] });
  // RFC 6749 section 5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ).
  const descriptionText = /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/;
  const nasty = `"\\\u3002\u2028\u0000é'<>${'\u3002'.repeat(100_000)}`;
  const attempts: Array<{ authorization: string; payload: Record<string, string>; status: number; error: string }> = [
    { authorization: basicAuth(client.id, clientSecret!), payload: { grant_type: nasty }, status: 400, error: 'unsupported_grant_type' },
    { authorization: basicAuth(client.id, clientSecret!), payload: { grant_type: 'client_credentials', scope: `read ${nasty}` }, status: 400, error: 'invalid_scope' },
    { authorization: basicAuth('"\\\u3002\u2028', 'wrong'), payload: { grant_type: 'client_credentials', scope: nasty }, status: 401, error: 'invalid_client' },
  ];
  for (const attempt of attempts) {
    const response = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { ...FORM, authorization: attempt.authorization },
      payload: form(attempt.payload),
    });
    t.equal(response.statusCode, attempt.status, attempt.error);
    const body = response.json();
    t.equal(body.error, attempt.error);
    t.match(body.error_description, descriptionText, `${attempt.error}: the description is within the set`);
    t.ok(body.error_description.length <= 512, `${attempt.error}: ${body.error_description.length} characters, not the megabyte sent`);
    t.ok(response.body.length < 1024, 'the body is small');
    const challenge = response.headers['www-authenticate'];
    if (challenge !== undefined) t.match(challenge, /^[\x20-\x7e]+$/, `${attempt.error}: the challenge is printable ASCII`);
  }
});
