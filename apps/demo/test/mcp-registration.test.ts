// An MCP client with no pre-registered client: the MCP SDK's own client reads the metadata,
// registers itself at the demo's registration endpoint (RFC 7591), goes through the real login and
// consent pages, and calls a tool on /mcp; then manages its registration (RFC 7592).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import t, { type Test } from 'tap';
import { openDatabase } from '../src/db/database.js';
import { onEachDatabase } from './databases.js';
import { MemoryClientProvider } from './mcp-client-provider.js';
import { buildTestApp, SECRET_KEY, SESSION_SECRET } from './helpers.js';
import { HttpBrowser, startServer } from './run.js';

const REDIRECT_URL = 'http://127.0.0.1:49153/callback';

/** A command-line MCP client's provider that registers itself: it starts with no client information. */
class RegisteringProvider extends MemoryClientProvider {
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'Self-registered MCP client',
      redirect_uris: [REDIRECT_URL],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      software_id: 'portcullis-mcp-registration-test',
    };
  }

  state(): string {
    return 'state-1';
  }
}

/** Logs in on the demo's login page and approves on its consent page; returns the callback URL. */
async function approve(t: Test, browser: HttpBrowser, base: string, authorizationUrl: URL, password: string): Promise<URL> {
  let page = await browser.request(authorizationUrl.href);
  t.equal(page.status, 302, 'a visitor is sent to the login page');
  const loginUrl = new URL(page.location!, base);
  const form = await browser.request(loginUrl.href);
  const loginCsrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
  const returnTo = loginUrl.searchParams.get('returnTo') ?? '';
  const loggedIn = await browser.request(`${base}/login`, { form: { _csrf: loginCsrf, username: 'admin', password, returnTo } });
  t.equal(loggedIn.status, 303, 'logged in');
  page = await browser.request(new URL(loggedIn.location!, base).href);
  t.equal(page.status, 200, 'the consent page');
  t.match(page.body, /Self-registered MCP client/, 'names the registered client');
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  const approved = await browser.request(`${base}/oauth/authorize`, { form: { csrf_token: csrf, decision: 'approve' } });
  t.equal(approved.status, 303, 'approved');
  return new URL(approved.location!);
}

await onEachDatabase('an MCP client registers itself', async (t, database) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'demo-mcp-registration-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { DATABASE_URL: database.url, DATA_DIR: dataDir, NODE_ENV: 'development', SESSION_SECRET, PORTCULLIS_SECRET_KEY: SECRET_KEY };
  const server = await startServer(env);
  t.teardown(() => (server.child.exitCode === null ? server.stop() : undefined));
  const password = /admin password: (\S+)/.exec(server.output())?.[1] ?? '';
  const base = server.baseUrl;
  const db = await openDatabase(database.url);
  t.teardown(() => db.destroy());
  const clientsBefore = await db.selectFrom('portcullis_clients').select('id').execute();

  const metadata = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
  t.equal(metadata.registration_endpoint, `${base}/oauth/register`, 'the metadata advertises registration');

  const provider = new RegisteringProvider(REDIRECT_URL);
  // The SDK keeps only the fields its schema knows; the registration response is read here whole.
  const registrations: Record<string, unknown>[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const url = input instanceof Request ? input.url : String(input);
    if (url === `${base}/oauth/register`) registrations.push({ status: response.status, ...((await response.clone().json()) as object) });
    return response;
  };
  const first = new Client({ name: 'portcullis-mcp-registration-test', version: '1.0.0' });
  let refused: unknown;
  try {
    await first.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { authProvider: provider, fetch: recordingFetch }));
  } catch (error) {
    refused = error;
  }
  t.ok(refused instanceof UnauthorizedError, 'the first connect needs the user');
  t.equal(registrations.length, 1, 'the SDK registered once');
  const information = registrations[0];
  t.match(information, { status: 201, client_id: /^pci_/, registration_access_token: /^pcg_/, token_endpoint_auth_method: 'none' }, 'a public client');
  t.notOk(information && 'client_secret' in information, 'with no secret');
  const clientId = String(information?.client_id);
  t.equal(provider.information?.client_id, clientId, 'the SDK kept the client id');
  const stored = await db.selectFrom('portcullis_clients').selectAll().where('id', '=', clientId).executeTakeFirstOrThrow();
  t.equal(stored.origin, 'dynamic');
  t.equal(stored.type, 'public');
  t.ok(stored.unused_expires_at !== null, 'pending until it obtains a token');
  t.equal((await db.selectFrom('portcullis_clients').select('id').execute()).length, clientsBefore.length + 1, 'one client more');

  const authorizationUrl = provider.authorizationUrl!;
  t.equal(authorizationUrl.searchParams.get('client_id'), clientId);
  const callback = await approve(t, new HttpBrowser(), base, authorizationUrl, password);
  t.equal(`${callback.origin}${callback.pathname}`, REDIRECT_URL);
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { authProvider: provider, fetch: recordingFetch });
  await transport.finishAuth(callback.searchParams.get('code')!);
  t.match(provider.tokens(), { access_token: /^pca_/ });

  const client = new Client({ name: 'portcullis-mcp-registration-test', version: '1.0.0' });
  t.teardown(() => client.close());
  await client.connect(transport);
  const listed = await client.callTool({ name: 'list_polls', arguments: {} });
  t.notOk(listed.isError, 'a tool call on /mcp with the self-registered client');
  t.match(JSON.stringify(listed.content), /What's up\?/);
  const used = await db.selectFrom('portcullis_clients').select(['unused_expires_at', 'last_used_at']).where('id', '=', clientId).executeTakeFirstOrThrow();
  t.equal(used.unused_expires_at, null, 'a client that obtained a token no longer expires');
  t.ok(used.last_used_at !== null);

  // RFC 7592: the registration access token reads the registration; another value reads nothing.
  const uri = String(information?.registration_client_uri);
  t.equal(uri, `${base}/oauth/register/${clientId}`);
  const read = await fetch(uri, { headers: { authorization: `Bearer ${String(information?.registration_access_token)}` } });
  t.equal(read.status, 200);
  t.match(await read.json(), { client_id: clientId, client_name: 'Self-registered MCP client', software_id: 'portcullis-mcp-registration-test' });
  const wrong = await fetch(uri, { method: 'DELETE', headers: { authorization: 'Bearer pcg_not-the-token' } });
  t.equal(wrong.status, 401);
  t.match(wrong.headers.get('www-authenticate'), /^Bearer realm="[^"]+", error="invalid_token"/);
  t.match(await wrong.json(), { error: 'invalid_token' });
  t.ok(await db.selectFrom('portcullis_clients').select('id').where('id', '=', clientId).executeTakeFirst(), 'the client stays');
  t.equal(registrations.length, 1, 'and the SDK never registered again');
});

t.test('the registration endpoint is rate limited per client address; a refused request stores nothing', async (t) => {
  const { app } = await buildTestApp({ rateLimit: { max: 2, windowMs: 60_000 } });
  t.teardown(() => app.close());
  const metadata = { client_name: 'Flood', redirect_uris: [REDIRECT_URL], token_endpoint_auth_method: 'none' };
  const register = (remoteAddress: string) => app.inject({ method: 'POST', url: '/oauth/register', payload: metadata, remoteAddress });
  const count = async () => (await app.demo.storage.listClients()).length;
  const before = await count();
  t.equal((await register('192.0.2.1')).statusCode, 201);
  t.equal((await register('192.0.2.1')).statusCode, 201);
  const limited = await register('192.0.2.1');
  t.equal(limited.statusCode, 429, 'the third from one address is refused');
  t.ok(limited.headers['retry-after'], 'with Retry-After');
  t.match(limited.json(), { error: 'temporarily_unavailable' });
  t.equal(await count(), before + 2, 'and not stored');
  t.equal((await register('192.0.2.2')).statusCode, 201, 'another address is counted on its own');
});
