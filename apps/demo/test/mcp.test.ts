// The MCP server at /mcp, driven by the MCP SDK's own client against the demo as `pnpm start` runs
// it: discovery from the 401 through the resource's metadata (RFC 9728), code + PKCE + `resource`
// (RFC 8707) through the real login and consent pages, the tools, the 403 insufficient_scope
// challenge followed by the SDK's step-up authorization, and a token for another resource refused.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import t, { type Test } from 'tap';
import { openDatabase } from '../src/db/database.js';
import { scopesNeeded } from '../src/mcp/mcp-routes.js';
import { onEachDatabase } from './databases.js';
import { MemoryClientProvider } from './mcp-client-provider.js';
import { ALICE_PASSWORD, Browser, buildTestApp, SECRET_KEY, SESSION_SECRET, signedHeader, TEST_ISSUER } from './helpers.js';
import { HttpBrowser, runCliProcess, startServer } from './run.js';

/** Registered without a port; the client listens on another one, which RFC 8252 section 7.3 allows. */
const REGISTERED_REDIRECT = 'http://127.0.0.1/callback';
const REDIRECT_URL = 'http://127.0.0.1:49152/callback';

/** A command-line MCP client's provider: a pre-registered public client. */
class TestProvider extends MemoryClientProvider {
  readonly states: string[] = [];

  constructor(
    clientId: string,
    private readonly scope: string,
  ) {
    super(REDIRECT_URL);
    this.information = { client_id: clientId };
  }

  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'MCP test client', redirect_uris: [REDIRECT_URL], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none', scope: this.scope };
  }

  state(): string {
    const state = `state-${this.states.length + 1}`;
    this.states.push(state);
    return state;
  }
}

interface Exchange {
  method: string;
  url: string;
  status: number;
  challenge: string | null;
  /** The form the SDK sent, if any (the token request's). */
  body: string | null;
}

/** fetch, recording what the SDK asked and what it was told. */
function recordingFetch(log: Exchange[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const url = input instanceof Request ? input.url : String(input);
    const body = init?.body instanceof URLSearchParams || typeof init?.body === 'string' ? String(init.body) : null;
    log.push({ method: init?.method ?? (input instanceof Request ? input.method : 'GET'), url, status: response.status, challenge: response.headers.get('www-authenticate'), body });
    return response;
  };
}

/**
 * What the user does with the authorization URL the SDK hands over: logs in (once) and approves
 * on the demo's pages; returns where the browser is sent back to.
 */
async function approve(
  t: Test,
  browser: HttpBrowser,
  base: string,
  authorizationUrl: URL,
  login: { username: string; password: string },
  options: { remembered?: boolean } = {},
): Promise<URL> {
  let page = await browser.request(authorizationUrl.href);
  if (options.remembered) {
    // Approved before: the browser goes straight back to the client, no page.
    t.equal(page.status, 302, 'no consent page: the consent is remembered');
    return new URL(page.location!);
  }
  if (page.status === 302 || page.status === 303) {
    const loginUrl = new URL(page.location!, base);
    t.equal(loginUrl.pathname, '/login', 'a visitor is sent to the login page first');
    const form = await browser.request(loginUrl.href);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
    const returnTo = loginUrl.searchParams.get('returnTo') ?? '';
    const loggedIn = await browser.request(`${base}/login`, { form: { _csrf: csrf, username: login.username, password: login.password, returnTo } });
    t.equal(loggedIn.status, 303, 'logged in');
    page = await browser.request(new URL(loggedIn.location!, base).href);
  }
  t.equal(page.status, 200, 'the consent page');
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  const approved = await browser.request(`${base}/oauth/authorize`, { form: { csrf_token: csrf, decision: 'approve' } });
  t.equal(approved.status, 303, 'approved');
  return new URL(approved.location!);
}

/** Whether the promise fails with the SDK's UnauthorizedError: it needs the user at the authorization URL. */
async function needsUser(promise: Promise<unknown>): Promise<boolean> {
  try {
    await promise;
    return false;
  } catch (error) {
    return error instanceof UnauthorizedError;
  }
}

function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? '').join('');
}

/** The MCP server's resource identifier (RFC 8707) and its metadata (RFC 9728 section 3.1). */
const MCP_RESOURCE = `${TEST_ISSUER}/mcp`;
const MCP_METADATA = `${TEST_ISSUER}/.well-known/oauth-protected-resource/mcp`;

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };

function toolCall(id: number, name: string, args: Record<string, unknown>) {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } };
}

t.test('scopesNeeded: the scopes of the tools a message or a batch calls', async (t) => {
  t.same(scopesNeeded(toolCall(1, 'vote', {})), ['polls:vote']);
  t.same(scopesNeeded([toolCall(1, 'poll_results', {}), toolCall(2, 'list_polls', {}), toolCall(3, 'poll_results', {})]), ['polls:read', 'polls:results']);
  t.same(scopesNeeded({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), [], 'listing needs any valid token');
  t.same(scopesNeeded(toolCall(1, 'toString', {})), [], 'an unknown tool (the SDK answers it) needs no scope of ours');
  t.same(scopesNeeded([null, 'x', 7, { method: 'tools/call', params: null }]), []);
});

t.test('the /mcp endpoint: tokens, scopes, methods and bad bodies', async (t) => {
  const { app, alice, client, pollId } = await buildTestApp();
  t.teardown(() => app.close());
  const tokenFor = async (userId: string | null, scope: string[]) =>
    (await app.oauth.issueTokens({ clientId: client.id, userId, scope, resource: [MCP_RESOURCE], withRefreshToken: false })).access_token;
  const post = (body: unknown, headers: Record<string, string>) => app.inject({ method: 'POST', url: '/mcp', headers: { ...MCP_HEADERS, ...headers }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
  const votes = async () => (await app.demo.db.selectFrom('demo_votes').select('user_id').execute()).length;
  const choiceId = Number((await app.demo.db.selectFrom('demo_choices').select('id').where('poll_id', '=', pollId).executeTakeFirstOrThrow()).id);

  const anonymous = await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, {});
  t.equal(anonymous.statusCode, 401);
  t.equal(anonymous.headers['www-authenticate'], `Bearer realm="${TEST_ISSUER}", resource_metadata="${MCP_METADATA}"`);
  t.equal(anonymous.body, '', 'RFC 6750 section 3.1: no error code without credentials');
  const forged = await post(toolCall(1, 'vote', { poll_id: pollId, choice_id: choiceId }), { authorization: 'Bearer pca_forged' });
  t.equal(forged.statusCode, 401);
  t.match(forged.headers['www-authenticate'], /^Bearer realm="[^"]+", error="invalid_token"/);
  t.match(forged.headers['www-authenticate'], /, scope="polls:vote", resource_metadata="([^"]+)"$/);
  t.ok(String(forged.headers['www-authenticate']).endsWith(`resource_metadata="${MCP_METADATA}"`));
  t.equal(await votes(), 0);

  // The MCP server's metadata (RFC 9728): where its tokens come from and the scopes its tools need.
  const metadata = await app.inject({ url: '/.well-known/oauth-protected-resource/mcp' });
  t.equal(metadata.statusCode, 200);
  t.match(metadata.headers['content-type'], /^application\/json/);
  t.match(metadata.json(), { resource: MCP_RESOURCE, authorization_servers: [TEST_ISSUER], scopes_supported: ['polls:read', 'polls:results', 'polls:vote'] });

  // A token for the demo's API (asked for without `resource`: the default audience, the issuer)
  // opens the API but not the MCP server: MCP forbids passing a token through to another resource.
  const apiToken = (await app.oauth.issueTokens({ clientId: client.id, userId: alice.id, scope: ['polls:read', 'polls:vote'], withRefreshToken: false })).access_token;
  const apiRequest = await app.inject({ url: '/api/polls', headers: { authorization: `Bearer ${apiToken}` } });
  t.equal(apiRequest.statusCode, 200, 'a token requested without resource opens the API');
  const passedThrough = await post(toolCall(1, 'vote', { poll_id: pollId, choice_id: choiceId }), { authorization: `Bearer ${apiToken}` });
  t.equal(passedThrough.statusCode, 401, 'and is refused by the MCP server');
  t.match(passedThrough.json(), { error: 'invalid_token' });
  t.match(passedThrough.headers['www-authenticate'], /^Bearer realm="[^"]+", error="invalid_token", error_description="[^"]+", scope="polls:vote", resource_metadata="[^"]+"$/);
  t.ok(String(passedThrough.headers['www-authenticate']).endsWith(`resource_metadata="${MCP_METADATA}"`));
  t.equal(await votes(), 0, 'the passed-through token votes for nobody');
  const mcpToken = await tokenFor(alice.id, ['polls:read']);
  const onApi = await app.inject({ url: '/api/polls', headers: { authorization: `Bearer ${mcpToken}` } });
  t.equal(onApi.statusCode, 401, "and the MCP server's token does not open the API");
  t.match(onApi.json(), { error: 'invalid_token' });

  const readOnly = { authorization: `Bearer ${await tokenFor(alice.id, ['polls:read'])}` };
  const batch = await post([toolCall(1, 'list_polls', {}), toolCall(2, 'poll_results', { poll_id: pollId })], readOnly);
  t.equal(batch.statusCode, 403, 'a batch needs the scopes of every tool it calls');
  t.match(batch.headers['www-authenticate'], /error="insufficient_scope", .*scope="polls:read polls:results"/);
  t.ok(String(batch.headers['www-authenticate']).endsWith(`resource_metadata="${MCP_METADATA}"`));
  const both = { authorization: `Bearer ${await tokenFor(alice.id, ['polls:read', 'polls:results'])}` };
  const answered = await post([toolCall(1, 'list_polls', {}), toolCall(2, 'poll_results', { poll_id: pollId })], both);
  t.equal(answered.statusCode, 200, answered.body);
  t.same((answered.json() as { id: number }[]).map((m) => m.id).sort(), [1, 2]);

  const clientOnly = { authorization: `Bearer ${await tokenFor(null, ['polls:vote'])}` };
  const noUser = await post(toolCall(3, 'vote', { poll_id: pollId, choice_id: choiceId }), clientOnly);
  t.equal(noUser.statusCode, 200);
  t.match(noUser.json(), { id: 3, result: { isError: true, content: [{ text: /issued to the client alone/ }] } });
  t.equal(await votes(), 0, 'a client-only token votes for nobody');

  const voter = { authorization: `Bearer ${await tokenFor(alice.id, ['polls:vote'])}` };
  const notAChoice = await post(toolCall(4, 'vote', { poll_id: pollId, choice_id: 9999 }), voter);
  t.match(notAChoice.json(), { id: 4, result: { isError: true, content: [{ text: /not a choice of poll/ }] } });
  const badArguments = await post(toolCall(5, 'vote', { poll_id: 'one' }), voter);
  t.equal(badArguments.statusCode, 200);
  t.match(badArguments.json(), { id: 5, result: { isError: true } }, 'arguments the schema refuses are a tool error');
  t.equal(await votes(), 0);

  const malformed = await post('{"jsonrpc":', voter);
  t.equal(malformed.statusCode, 400);
  t.match(malformed.json(), { error: 'invalid_request' });
  const notJsonRpc = await post({ hello: 'world' }, voter);
  t.equal(notJsonRpc.statusCode, 400);
  t.match(notJsonRpc.json(), { jsonrpc: '2.0', error: { code: -32700 }, id: null });

  for (const method of ['GET', 'DELETE'] as const) {
    const refused = await app.inject({ method, url: '/mcp', headers: { ...voter, accept: 'text/event-stream' } });
    t.equal(refused.statusCode, 405, `${method}: no SSE stream and no session`);
    t.equal(refused.headers.allow, 'POST');
    t.match(refused.json(), { jsonrpc: '2.0', error: { code: -32000 }, id: null });
    const anonymousMethod = await app.inject({ method, url: '/mcp' });
    t.equal(anonymousMethod.statusCode, 401, `${method} needs a token too`);
    t.equal(anonymousMethod.headers['www-authenticate'], `Bearer realm="${TEST_ISSUER}", resource_metadata="${MCP_METADATA}"`);
  }

  // OAuth 1.0a token credentials open the REST API, but not the MCP server: it takes bearer tokens only.
  const consumer = { consumerKey: client.id, consumerSecret: client.secret };
  const temporary = new URLSearchParams(
    (await app.inject({ method: 'POST', url: '/oauth1/request_token', headers: { authorization: signedHeader({ method: 'POST', path: '/oauth1/request_token', ...consumer, extra: { oauth_callback: 'oob' } }) } })).body,
  );
  const browser = new Browser(app);
  const authorizePath = `/oauth1/authorize?oauth_token=${encodeURIComponent(temporary.get('oauth_token')!)}`;
  await browser.login('alice', ALICE_PASSWORD, authorizePath);
  const consent = await browser.get(authorizePath);
  const verifierPage = await browser.post('/oauth1/authorize', { csrf_token: Browser.csrf(consent.body, 'csrf_token'), decision: 'approve' });
  const verifier = /id="oauth_verifier">([^<]+)</.exec(verifierPage.body)?.[1] ?? '';
  const credentials = new URLSearchParams(
    (
      await app.inject({
        method: 'POST',
        url: '/oauth1/access_token',
        headers: { authorization: signedHeader({ method: 'POST', path: '/oauth1/access_token', ...consumer, token: temporary.get('oauth_token')!, tokenSecret: temporary.get('oauth_token_secret')!, extra: { oauth_verifier: verifier } }) },
      })
    ).body,
  );
  const signed = { ...consumer, token: credentials.get('oauth_token')!, tokenSecret: credentials.get('oauth_token_secret')! };
  t.equal((await app.inject({ url: '/api/me', headers: { authorization: signedHeader({ method: 'GET', path: '/api/me', ...signed }) } })).statusCode, 200, 'the credentials work on the API');
  const oauth1 = await post(toolCall(6, 'vote', { poll_id: pollId, choice_id: choiceId }), { authorization: signedHeader({ method: 'POST', path: '/mcp', ...signed }) });
  t.equal(oauth1.statusCode, 401);
  t.equal(
    oauth1.headers['www-authenticate'],
    `Bearer realm="${TEST_ISSUER}", error="invalid_token", error_description="The MCP server accepts OAuth 2 bearer tokens only.", scope="polls:vote", resource_metadata="${MCP_METADATA}"`,
  );
  t.same(oauth1.json(), { error: 'invalid_token', error_description: 'The MCP server accepts OAuth 2 bearer tokens only.' });
  t.equal(await votes(), 0, 'and changes nothing');
});

await onEachDatabase('the MCP server', async (t, database) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'demo-mcp-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { DATABASE_URL: database.url, DATA_DIR: dataDir, NODE_ENV: 'development', SESSION_SECRET, PORTCULLIS_SECRET_KEY: SECRET_KEY };

  // The MCP client is registered as a command-line client would be: public, a loopback redirect.
  const created = await runCliProcess(['client:create', '--name', 'MCP test client', '--public', '--redirect-uri', REGISTERED_REDIRECT, '--scope', 'polls:read polls:vote polls:results', '--json'], env);
  t.equal(created.code, 0, created.stderr);
  const clientId = (JSON.parse(created.stdout) as { client_id: string }).client_id;
  // And a confidential client of the demo's REST API, whose tokens are asked for without `resource`.
  const apiCreated = await runCliProcess(['client:create', '--name', 'API client', '--grant-type', 'password', '--scope', 'polls:read polls:vote', '--json'], env);
  t.equal(apiCreated.code, 0, apiCreated.stderr);
  const apiClient = JSON.parse(apiCreated.stdout) as { client_id: string; client_secret: string };

  const server = await startServer(env);
  t.teardown(() => (server.child.exitCode === null ? server.stop() : undefined));
  const password = /admin password: (\S+)/.exec(server.output())?.[1] ?? '';
  const base = server.baseUrl;
  const db = await openDatabase(database.url);
  t.teardown(() => db.destroy());

  const exchanges: Exchange[] = [];
  const provider = new TestProvider(clientId, 'polls:read polls:vote');
  const transportOptions = { authProvider: provider, fetch: recordingFetch(exchanges) };
  const browser = new HttpBrowser();

  // 1. No token: 401, discovery, and the SDK hands over an authorization URL.
  const first = new Client({ name: 'portcullis-mcp-test', version: '1.0.0' });
  t.ok(await needsUser(first.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), transportOptions))), 'the first connect needs the user');
  const metadataUrl = `${base}/.well-known/oauth-protected-resource/mcp`;
  t.match(exchanges[0], { method: 'POST', url: `${base}/mcp`, status: 401, challenge: `Bearer realm="${base}", resource_metadata="${metadataUrl}"` }, 'the first request gets 401 naming the metadata');
  t.match(exchanges[1], { method: 'GET', url: metadataUrl, status: 200 }, "the SDK read the MCP server's metadata (RFC 9728) from the challenge");
  t.ok(exchanges.some((e) => e.url === `${base}/.well-known/oauth-authorization-server` && e.status === 200), "then the authorization server's metadata");
  const authorizationUrl = provider.authorizationUrl!;
  t.equal(`${authorizationUrl.origin}${authorizationUrl.pathname}`, `${base}/oauth/authorize`);
  t.match(Object.fromEntries(authorizationUrl.searchParams), {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URL,
    // MCP's scope selection: no scope in the challenge, so the metadata's scopes_supported.
    scope: 'polls:read polls:results polls:vote',
    code_challenge_method: 'S256',
    code_challenge: /^[\w-]{43}$/,
    state: 'state-1',
    resource: `${base}/mcp`,
  });

  // 2. The user logs in and consents on the real pages; the SDK exchanges the code (PKCE).
  const callback = await approve(t, browser, base, authorizationUrl, { username: 'admin', password });
  t.equal(`${callback.origin}${callback.pathname}`, REDIRECT_URL, 'back to the port the client listens on');
  t.equal(callback.searchParams.get('state'), 'state-1');
  const code = callback.searchParams.get('code');
  t.ok(code, 'a code');
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), transportOptions);
  await transport.finishAuth(code!);
  t.match(provider.tokens(), { access_token: /^pca_/, refresh_token: /^pcr_/, token_type: /^bearer$/i, scope: 'polls:read polls:results polls:vote' });
  const tokenRequests = exchanges.filter((e) => e.url === `${base}/oauth/token`);
  t.equal(tokenRequests.length, 1);
  t.match(Object.fromEntries(new URLSearchParams(tokenRequests[0]!.body ?? '')), { grant_type: 'authorization_code', code: code!, resource: `${base}/mcp`, code_verifier: /^[\w.~-]{43,128}$/ }, 'the token request names the resource too');
  t.equal(tokenRequests[0]!.status, 200);

  // 3. Connected: the tools, list_polls and vote.
  const client = new Client({ name: 'portcullis-mcp-test', version: '1.0.0' });
  t.teardown(() => client.close());
  await client.connect(transport);
  t.same((await client.listTools()).tools.map((tool) => tool.name), ['list_polls', 'vote', 'poll_results']);

  const listed = await client.callTool({ name: 'list_polls', arguments: {} });
  t.notOk(listed.isError);
  const polls = (JSON.parse(textOf(listed)) as { polls: { id: number; question: string; choices: { id: number; label: string }[] }[] }).polls;
  t.same(polls.map((p) => p.question), ["What's up?", 'Which grant do you use most?']);
  const poll = polls[0]!;
  const choice = poll.choices[2]!;

  const voted = await client.callTool({ name: 'vote', arguments: { poll_id: poll.id, choice_id: choice.id } });
  t.notOk(voted.isError, textOf(voted));
  t.same(JSON.parse(textOf(voted)), { poll_id: poll.id, choice_id: choice.id, recorded: true });
  const admin = await db.selectFrom('demo_users').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow();
  const votes = await db.selectFrom('demo_votes').select(['poll_id', 'choice_id', 'user_id', 'client_id']).execute();
  t.same(
    votes.map((v) => ({ poll_id: Number(v.poll_id), choice_id: Number(v.choice_id), user_id: v.user_id, client_id: v.client_id })),
    [{ poll_id: poll.id, choice_id: choice.id, user_id: admin.id, client_id: clientId }],
    'the vote is stored, for the user who consented, through the MCP client',
  );
  const again = await client.callTool({ name: 'vote', arguments: { poll_id: poll.id, choice_id: choice.id } });
  t.equal(again.isError, true, 'a second vote is refused');
  t.match(textOf(again), /voted in this poll already/);
  t.equal((await db.selectFrom('demo_votes').select('user_id').execute()).length, 1, 'and stores nothing');

  // 4. A token with less scope, as the client narrows it on refresh (RFC 6749 section 6), and no
  // refresh token kept: poll_results needs polls:results, which it lacks; the MCP scope challenge.
  const narrowed = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: provider.tokens()!.refresh_token!, client_id: clientId, scope: 'polls:read polls:vote', resource: `${base}/mcp` }),
  });
  t.equal(narrowed.status, 200);
  const narrowedTokens = (await narrowed.json()) as OAuthTokens;
  t.equal(narrowedTokens.scope, 'polls:read polls:vote');
  provider.saveTokens({ ...narrowedTokens, refresh_token: undefined });
  const call = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'poll_results', arguments: { poll_id: poll.id } } };
  const forbidden = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${provider.tokens()!.access_token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify(call),
  });
  t.equal(forbidden.status, 403);
  const challenge = forbidden.headers.get('www-authenticate') ?? '';
  t.match(challenge, /^Bearer realm="[^"]+", error="insufficient_scope", /);
  t.match(challenge, /, scope="polls:results"/, 'the challenge names the scope to ask for');
  t.ok(challenge.endsWith(`, resource_metadata="${metadataUrl}"`), 'and the metadata');
  t.same(await forbidden.json(), { error: 'insufficient_scope', error_description: "This resource needs the scope 'polls:results'." });

  // The SDK steps up on that 403: with no refresh token to try first, it asks the user for the scope.
  provider.authorizationUrl = undefined;
  t.ok(await needsUser(client.callTool({ name: 'poll_results', arguments: { poll_id: poll.id } })), 'the step-up needs the user');
  const stepUp = provider.authorizationUrl as URL | undefined;
  t.equal(stepUp?.searchParams.get('scope'), 'polls:results', 'the SDK asks for the scope the challenge named');
  t.equal(stepUp?.searchParams.get('resource'), `${base}/mcp`, 'for the MCP server again');
  // The first consent covered polls:results (the refresh above only narrowed the token), so the
  // user is not asked again.
  const stepUpCallback = await approve(t, browser, base, stepUp!, { username: 'admin', password }, { remembered: true });
  t.equal(stepUpCallback.searchParams.get('state'), 'state-2');
  await transport.finishAuth(stepUpCallback.searchParams.get('code')!);
  t.equal(provider.tokens()?.scope, 'polls:results');
  const results = await client.callTool({ name: 'poll_results', arguments: { poll_id: poll.id } });
  t.notOk(results.isError, textOf(results));
  t.match(JSON.parse(textOf(results)), { poll_id: poll.id, total_votes: 1, results: [{ votes: 0 }, { votes: 0 }, { choice_id: choice.id, votes: 1 }] });

  // 5. A token issued for another resource (the API's, the default audience) is not passed through:
  // it opens the API, and the MCP server answers 401 invalid_token and records no vote.
  const apiTokenResponse = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${apiClient.client_id}:${apiClient.client_secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'password', username: 'admin', password, scope: 'polls:read polls:vote' }),
  });
  t.equal(apiTokenResponse.status, 200);
  const apiToken = ((await apiTokenResponse.json()) as { access_token: string }).access_token;
  const me = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${apiToken}` } });
  t.equal(me.status, 200, 'the token opens the API');
  const otherPoll = polls[1]!;
  const passedThrough = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'vote', arguments: { poll_id: otherPoll.id, choice_id: otherPoll.choices[0]!.id } } }),
  });
  t.equal(passedThrough.status, 401);
  t.match(await passedThrough.json(), { error: 'invalid_token' });
  const refusal = passedThrough.headers.get('www-authenticate') ?? '';
  t.match(refusal, /^Bearer realm="[^"]+", error="invalid_token", /);
  t.ok(refusal.endsWith(`, scope="polls:vote", resource_metadata="${metadataUrl}"`), refusal);
  t.equal((await db.selectFrom('demo_votes').select('user_id').execute()).length, 1, 'and records no vote');
});
