// The MCP SDK's own client with no registration: its client_id is the URL of a Client ID Metadata
// Document served by this test over HTTPS on a loopback address, which the demo in development
// mode may fetch. Discovery, consent, the code exchange with PKCE, and a tool call on /mcp.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { generate } from 'selfsigned';
import { sql } from 'kysely';
import t from 'tap';
import { openDatabase } from '../src/db/database.js';
import { SECRET_KEY, SESSION_SECRET } from './helpers.js';
import { MemoryClientProvider } from './mcp-client-provider.js';
import { HttpBrowser, startServer } from './run.js';

const REDIRECT_URL = 'http://127.0.0.1:49152/callback';

/** A provider that knows only the URL of its metadata document: the SDK uses it as client_id. */
class DocumentProvider extends MemoryClientProvider {
  constructor(readonly clientMetadataUrl: string) {
    super(REDIRECT_URL);
  }

  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'MCP document client', redirect_uris: [REDIRECT_URL], token_endpoint_auth_method: 'none' };
  }
}

t.test('the MCP SDK client identifies itself with a client metadata document and calls a tool', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'demo-cimd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keySize: 2048,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, pems.cert);
  let documentUrl = '';
  let fetches = 0;
  const documents = createServer({ key: pems.private, cert: pems.cert }, (request, response) => {
    fetches += 1;
    if (request.url !== '/mcp-client.json') {
      response.writeHead(404);
      return response.end();
    }
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' });
    response.end(JSON.stringify({ client_id: documentUrl, client_name: 'MCP document client', redirect_uris: [REDIRECT_URL], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' }));
  });
  await new Promise<void>((resolve) => documents.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    documents.closeAllConnections();
    documents.close();
  });
  documentUrl = `https://127.0.0.1:${(documents.address() as AddressInfo).port}/mcp-client.json`;

  const databaseUrl = `sqlite:${join(dir, 'demo.sqlite')}`;
  // The demo trusts the test's certificate the way Node trusts any extra authority.
  const env = { DATABASE_URL: databaseUrl, DATA_DIR: dir, NODE_ENV: 'development', SESSION_SECRET, PORTCULLIS_SECRET_KEY: SECRET_KEY, NODE_EXTRA_CA_CERTS: caFile };
  const server = await startServer(env);
  t.teardown(() => (server.child.exitCode === null ? server.stop() : undefined));
  const password = /admin password: (\S+)/.exec(server.output())?.[1] ?? '';
  const base = server.baseUrl;

  const metadata = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
  t.equal(metadata.client_id_metadata_document_supported, true);

  const provider = new DocumentProvider(documentUrl);
  const first = new Client({ name: 'portcullis-cimd-test', version: '1.0.0' });
  let unauthorized = false;
  try {
    await first.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { authProvider: provider }));
  } catch (error) {
    unauthorized = error instanceof UnauthorizedError;
  }
  t.ok(unauthorized, 'the first connect needs the user');
  const authorizationUrl = provider.authorizationUrl!;
  t.equal(authorizationUrl.searchParams.get('client_id'), documentUrl, 'the SDK uses the document URL as client_id, with no registration');

  const browser = new HttpBrowser();
  let page = await browser.request(authorizationUrl.href);
  t.equal(page.status, 302, 'to the login page');
  const loginUrl = new URL(page.location!, base);
  const form = await browser.request(loginUrl.href);
  const loginCsrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
  const loggedIn = await browser.request(`${base}/login`, { form: { _csrf: loginCsrf, username: 'admin', password, returnTo: loginUrl.searchParams.get('returnTo') ?? '' } });
  t.equal(loggedIn.status, 303);
  page = await browser.request(new URL(loggedIn.location!, base).href);
  t.equal(page.status, 200, 'the consent page');
  t.match(page.body, /MCP document client/);
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  const approved = await browser.request(`${base}/oauth/authorize`, { form: { csrf_token: csrf, decision: 'approve' } });
  t.equal(approved.status, 303);
  const callback = new URL(approved.location!);
  t.equal(`${callback.origin}${callback.pathname}`, REDIRECT_URL);
  const code = callback.searchParams.get('code');
  t.ok(code);

  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { authProvider: provider });
  await transport.finishAuth(code!);
  t.match(provider.tokens(), { access_token: /^pca_/, refresh_token: /^pcr_/ });
  const client = new Client({ name: 'portcullis-cimd-test', version: '1.0.0' });
  t.teardown(() => client.close());
  await client.connect(transport);
  const listed = await client.callTool({ name: 'list_polls', arguments: {} });
  t.notOk(listed.isError);
  t.ok(fetches >= 1, 'the demo fetched the document');

  const db = await openDatabase(databaseUrl);
  t.teardown(() => db.destroy());
  const clients = await sql<{ id: string; origin: string; name: string; disabled: number; last_used_at: string | number | null }>`select id, origin, name, disabled, last_used_at from portcullis_clients where id = ${documentUrl}`.execute(db);
  t.equal(clients.rows.length, 1, 'the client is recorded when it obtains tokens');
  t.match(clients.rows[0], { origin: 'document', name: 'MCP document client' });
  t.equal(Number(clients.rows[0]!.disabled), 0);
  t.ok(Number(clients.rows[0]!.last_used_at) > 0, 'with its last use');
  const tokens = await sql<{ id: string }>`select id from portcullis_access_tokens where client_id = ${documentUrl}`.execute(db);
  t.equal(tokens.rows.length, 1, 'the access token belongs to the document URL');

  // The administrator (the browser signed in as admin) finds it among the document clients and disables it.
  const admin = await browser.request(`${base}/admin`);
  t.equal(admin.status, 200);
  const documentGroup = /<table id="clients-document">([\s\S]*?)<\/table>/.exec(admin.body)?.[1] ?? '';
  t.match(documentGroup, `data-client-id="${documentUrl}"`);
  t.match(documentGroup, new RegExp(`<td class="last-used">${new Date(Number(clients.rows[0]!.last_used_at)).toISOString()}</td>`));
  const adminCsrf = /name="_csrf" value="([^"]+)"/.exec(admin.body)?.[1] ?? '';
  const disabled = await browser.request(`${base}/admin/clients/${encodeURIComponent(documentUrl)}/state`, { form: { _csrf: adminCsrf, disabled: 'on' } });
  t.equal(disabled.status, 303);
  const state = await sql<{ disabled: number }>`select disabled from portcullis_clients where id = ${documentUrl}`.execute(db);
  t.equal(Number(state.rows[0]!.disabled), 1, 'stored disabled');
  const live = await sql<{ id: string }>`select id from portcullis_access_tokens where client_id = ${documentUrl} and revoked_at is null`.execute(db);
  t.same(live.rows, [], 'its access token is revoked');
  const refreshes = await sql<{ id: string }>`select id from portcullis_refresh_tokens where client_id = ${documentUrl} and revoked_at is null`.execute(db);
  t.same(refreshes.rows, [], 'and its refresh token');
  const fetchesBefore = fetches;
  const again = await browser.request(authorizationUrl.href);
  t.equal(again.status, 400, 'the authorization endpoint refuses it while its document is cached');
  t.match(again.body, /unknown or disabled/);
  t.equal(fetches, fetchesBefore, 'without fetching its document');
  const refreshed = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: provider.tokens()!.refresh_token!, client_id: documentUrl }).toString(),
  });
  t.equal(refreshed.status, 401);
  t.equal(((await refreshed.json()) as Record<string, unknown>).error, 'invalid_client', 'and so does the token endpoint');
});
