import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import fastifyFormbody from '@fastify/formbody';
import { MemoryStorage, type OAuthStorage } from '@portcullis/core';
import fastifyPortcullis from '@portcullis/fastify';
import Fastify from 'fastify';
import type { Client, ClientCredentialsModel, Token } from '@node-oauth/oauth2-server';
import type { Fixtures, PeerTargetId, ServerSpec } from '../protocol.js';
import { openBaselineDatabase, randomItemId } from './baseline-app.js';
import { openKyselyStore } from './kysely-store.js';
import { fromFastify, type BenchServer } from './bench-server.js';

/**
 * The servers of `pnpm bench:peers`, each set up as its own documentation shows, in a few lines:
 * a bare Fastify (the yardstick), oidc-provider, @node-oauth/oauth2-server on Express, and
 * Portcullis as packages/fastify/README.md sets it up. Each issues the tokens its protected route
 * is then asked to validate, through its own API, before the load begins.
 */

const ISSUER = 'http://127.0.0.1';
const CLIENT_ID = 'bench-client';
/** Fixed so that runs are repeatable; it guards nothing but benchmark servers. */
const CLIENT_SECRET = 'bench-client-secret-0123456789abcdef0123456789abcdef';

export async function createPeerServer(target: PeerTargetId, spec: ServerSpec): Promise<BenchServer> {
  const tokens = Math.min(spec.liveTokens, 1000);
  if (target.startsWith('bare-db-')) return createBareDatabaseServer(spec, tokens);
  if (target.startsWith('bare-')) return createBareServer(tokens);
  if (target.startsWith('oidc-provider-')) return createOidcProviderServer(tokens);
  if (target.startsWith('oauth2-server-')) return createOAuth2ServerServer(tokens);
  return createPortcullisServer(spec, tokens);
}

/** A BenchServer around a plain Node request handler (Koa's, Express's). */
function fromHandler(
  handler: Parameters<typeof createServer>[1],
  fixtures: Fixtures,
): BenchServer {
  const server: Server = createServer(handler);
  return {
    server,
    fixtures,
    listen: () => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve())),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The least a Fastify route of each kind does: parse a form and answer, answer a GET. */
async function createBareServer(tokens: number): Promise<BenchServer> {
  const app = Fastify({ logger: false });
  await app.register(fastifyFormbody);
  app.post('/token', async (request) => ({ ok: true, fields: Object.keys(request.body as object).length }));
  app.get('/resource', async () => ({ ok: true }));
  return fromFastify(app, { fixtures: bareFixtures(tokens), close: () => app.close() });
}

/**
 * A bare server's credentials: none of them is checked, but its requests carry the same headers
 * as the servers it is compared with.
 */
function bareFixtures(tokens: number): Fixtures {
  const accessTokens = Array.from({ length: tokens }, () => randomBytes(32).toString('base64url'));
  return { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, tokenPath: '/token', resourcePath: '/resource', accessTokens };
}

/**
 * The database rows' yardstick: the bare routes doing the least a server keeping its tokens in
 * `spec.store` does per request, through the same driver as the store and with no OAuth: the
 * POST reads one row and writes one (a client, then a token), the GET reads one row.
 */
async function createBareDatabaseServer(spec: ServerSpec, tokens: number): Promise<BenchServer> {
  const database = openBaselineDatabase(spec);
  const app = Fastify({ logger: false });
  await app.register(fastifyFormbody);
  app.post('/token', async (request, reply) => {
    if ((await database.selectItem(randomItemId())) === undefined) return reply.code(404).send({ error: 'not_found' });
    await database.insertEvent(String((request.body as { grant_type?: string }).grant_type));
    return { ok: true };
  });
  app.get('/resource', async (_request, reply) => {
    const row = await database.selectItem(randomItemId());
    return row === undefined ? reply.code(404).send({ error: 'not_found' }) : row;
  });
  return fromFastify(app, {
    fixtures: bareFixtures(tokens),
    close: async () => {
      await app.close();
      await database.close();
    },
  });
}

/**
 * oidc-provider with its default (memory) adapter, the client_credentials grant enabled and
 * opaque access tokens (its default when no resource indicator is asked for). The protected
 * route is a provider middleware that finds the token in the provider's own store, as its
 * userinfo and introspection endpoints do, and checks its scope.
 */
async function createOidcProviderServer(tokens: number): Promise<BenchServer> {
  const { default: Provider } = await import('oidc-provider');
  const provider = new Provider(ISSUER, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'read',
      },
    ],
    scopes: ['read'],
    features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
    ttl: { ClientCredentials: 3600 },
  });
  provider.use(async (ctx, next) => {
    if (ctx.path !== '/api/resource' || ctx.method !== 'GET') return next();
    const value = /^Bearer (.+)$/.exec(ctx.get('authorization'))?.[1];
    const token = value ? await provider.ClientCredentials.find(value) : undefined;
    if (!token || !token.scope?.split(' ').includes('read')) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      return;
    }
    ctx.body = { client_id: token.clientId, scope: token.scope };
  });
  const client = await provider.Client.find(CLIENT_ID);
  if (!client) throw new Error('oidc-provider did not load its client');
  const accessTokens: string[] = [];
  for (let i = 0; i < tokens; i += 1) accessTokens.push(await new provider.ClientCredentials({ client, scope: 'read' }).save());
  return fromHandler(provider.callback(), {
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    tokenPath: '/token',
    resourcePath: '/api/resource',
    accessTokens,
  });
}

/**
 * @node-oauth/oauth2-server on Express, with an in-memory model as its documentation writes one:
 * clients and tokens in plain objects, `token()` on the token route and `authenticate()` in
 * front of the protected one.
 */
async function createOAuth2ServerServer(tokens: number): Promise<BenchServer> {
  const { default: OAuth2Server, Request, Response } = await import('@node-oauth/oauth2-server');
  const { default: express } = await import('express');
  const clients: Client[] = [{ id: CLIENT_ID, secret: CLIENT_SECRET, grants: ['client_credentials'] }];
  const stored = new Map<string, Token>();
  const model: ClientCredentialsModel = {
    getClient: async (id, secret) => clients.find((c) => c.id === id && c.secret === secret) ?? null,
    getUserFromClient: async (client) => ({ id: client.id }),
    saveToken: async (token, client, user) => {
      const saved: Token = { ...token, client, user };
      stored.set(token.accessToken, saved);
      return saved;
    },
    getAccessToken: async (accessToken) => stored.get(accessToken) ?? null,
    verifyScope: async (token, scope) => scope.every((s) => token.scope?.includes(s)),
  };
  const oauth = new OAuth2Server({ model });
  const app = express();
  app.disable('x-powered-by');
  app.use(express.urlencoded({ extended: false }));
  app.post('/oauth/token', async (req, res) => {
    const response = new Response(res);
    try {
      const token = await oauth.token(new Request(req), response);
      res.set(response.headers).json({ access_token: token.accessToken, token_type: 'Bearer', expires_in: 3600, scope: token.scope?.join(' ') });
    } catch (error) {
      const failure = error as { code?: number; name?: string; message?: string };
      res.status(failure.code ?? 500).json({ error: failure.name, error_description: failure.message });
    }
  });
  app.get('/api/resource', async (req, res) => {
    try {
      const token = await oauth.authenticate(new Request(req), new Response(res), { scope: ['read'] });
      res.json({ client_id: token.client.id, scope: token.scope?.join(' ') });
    } catch (error) {
      const failure = error as { code?: number; name?: string };
      res.status(failure.code ?? 500).json({ error: failure.name });
    }
  });
  const accessTokens: string[] = [];
  for (let i = 0; i < tokens; i += 1) {
    const value = randomBytes(32).toString('hex');
    await model.saveToken({ accessToken: value, accessTokenExpiresAt: new Date(Date.now() + 3600_000), scope: ['read'], client: clients[0]!, user: {} }, clients[0]!, {});
    accessTokens.push(value);
  }
  return fromHandler(app, { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, tokenPath: '/oauth/token', resourcePath: '/api/resource', accessTokens });
}

/** Portcullis as packages/fastify/README.md sets up a token-only server for machine clients, on the spec's store. */
async function createPortcullisServer(spec: ServerSpec, tokens: number): Promise<BenchServer> {
  let storage: OAuthStorage;
  let closeStore = async (): Promise<void> => {};
  if (spec.store === 'memory' || spec.store === null) storage = new MemoryStorage();
  else {
    const urls = { mysql: spec.mysqlUrl, postgres: spec.postgresUrl, sqlite: `sqlite:${spec.sqlitePath}` };
    const opened = await openKyselyStore(urls[spec.store]);
    storage = opened.storage;
    closeStore = opened.close;
  }
  const app = Fastify();
  await app.register(fastifyPortcullis, {
    storage,
    issuer: ISSUER,
    development: true,
    authorizationEndpoint: false,
  });
  app.get('/api/resource', { preHandler: app.requireScope('read') }, async (request) => ({
    client_id: request.oauth?.clientId,
    scope: request.oauth?.scope.join(' '),
  }));
  await app.ready();
  const { client, clientSecret } = await app.oauth.registerClient({
    name: 'bench peer',
    grantTypes: ['client_credentials'],
    scopes: ['read'],
  });
  const accessTokens: string[] = [];
  for (let i = 0; i < tokens; i += 1) {
    accessTokens.push((await app.oauth.issueTokens({ clientId: client.id, userId: null, scope: ['read'] })).access_token);
  }
  const fixtures: Fixtures = {
    clientId: client.id,
    clientSecret: clientSecret ?? '',
    tokenPath: '/oauth/token',
    resourcePath: '/api/resource',
    accessTokens,
  };
  return fromFastify(app, {
    fixtures,
    close: async () => {
      await app.close();
      await closeStore();
    },
  });
}
