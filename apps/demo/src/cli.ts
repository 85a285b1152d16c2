import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { CLI_CLIENT_ID } from './bootstrap.js';
import { checkClientSettings, ClientSettingsError, GRANT_TYPES, isGrantType } from './client-form.js';
import { LIFETIME_FIELDS, parseLifetime, type ClientLifecycle } from './client-lifecycle.js';
import { prepareFolders, readConfig } from './config.js';
import { createDemoScopes } from './scopes.js';
import { loadSecrets } from './secrets.js';
import { UserInputError } from './users.js';

const USAGE = `usage: pnpm demo <command> [options]   (DATABASE_URL as for the server)
  user:create --username U --password P [--admin] [--email E] [--name N]
  client:create --name N [--client-id ID] [--redirect-uri U ...] [--post-logout-redirect-uri U ...] [--scope "a b"] [--grant-type G ...] [--public] [--oauth1] [--json]
                [--skip-consent] [--access-token-ttl S] [--refresh-token-ttl S] [--code-ttl S]
      grant types: ${GRANT_TYPES.join(', ')}
  client:update --client-id ID [--skip-consent yes|no] [--access-token-ttl S|default] [--refresh-token-ttl S|default] [--code-ttl S|default]
  client:list [--origin admin|dynamic|document] [--json]
  client:delete --client-id ID [--force]   (revokes its tokens first; --force for an administrator's client)
  scopes:sync
  tokens:purge
  keys:list [--json]      the JWS signing keys: kid, algorithm, state (pending, current, retired, expired)
  keys:rotate             a new signing key per algorithm, published now, signing after the lead time
  login --server URL [--client-id ID] [--scope "a b"]
      signs in with the device flow (RFC 8628): prints a code to enter at the server, waits for
      your approval, then lists the polls (default client id: ${CLI_CLIENT_ID})
  oauth1:sign --url U --consumer-key K --consumer-secret S [--method M] [--token T --token-secret TS]
              [--callback C] [--verifier V] [--data "a=1&b=2"]   (prints an OAuth 1.0a Authorization header)`;

const CLIENT_ORIGINS = ['admin', 'dynamic', 'document'] as const;

/** Wrong usage: a one-line message and exit code 2. */
class UsageError extends Error {
  override name = 'UsageError';
}

interface Output {
  out(line: string): void;
}

type Command = (args: string[], app: () => Promise<FastifyInstance>, io: Output, env: NodeJS.ProcessEnv) => Promise<void>;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.split('\n')[0] ?? 'bad arguments' : 'bad arguments');
  }
}

/** The lifetime options of client:create and client:update. */
const LIFETIME_OPTIONS = {
  'access-token-ttl': { type: 'string' },
  'refresh-token-ttl': { type: 'string' },
  'code-ttl': { type: 'string' },
} as const;

function readLifetime(key: (typeof LIFETIME_FIELDS)[number][0], text: string): number | null {
  try {
    return parseLifetime(key, text);
  } catch (error) {
    if (error instanceof ClientSettingsError) throw new UsageError(error.message);
    throw error;
  }
}

/** The lifetimes given to client:create: the server's for those left out. */
function readLifetimes(values: Partial<Record<(typeof LIFETIME_FIELDS)[number][2], string>>): Omit<ClientLifecycle, 'skipConsent'> {
  const lifetimes: Omit<ClientLifecycle, 'skipConsent'> = { accessTokenTtl: null, refreshTokenTtl: null, authorizationCodeTtl: null };
  for (const [key, , option] of LIFETIME_FIELDS) lifetimes[key] = readLifetime(key, values[option] ?? '');
  return lifetimes;
}

const commands: Record<string, Command> = {
  async 'user:create'(args, app, io) {
    const values = parse(args, {
      username: { type: 'string' },
      password: { type: 'string' },
      admin: { type: 'boolean' },
      email: { type: 'string' },
      name: { type: 'string' },
    });
    if (!values.username) throw new UsageError('user:create needs --username');
    if (!values.password) throw new UsageError('user:create needs --password');
    const fastify = await app();
    try {
      const { createUser } = await import('./users.js');
      const user = await createUser(fastify.demo.db, {
        username: values.username,
        password: values.password,
        isAdmin: values.admin === true,
        ...(values.email === undefined ? {} : { email: values.email }),
        ...(values.name === undefined ? {} : { name: values.name }),
      });
      io.out(`created ${user.isAdmin ? 'admin ' : ''}user ${user.username} (id ${user.id})`);
    } catch (error) {
      if (error instanceof UserInputError) throw new UsageError(error.message);
      throw error;
    }
  },

  async 'client:create'(args, app, io, env) {
    const values = parse(args, {
      name: { type: 'string' },
      'client-id': { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
      scope: { type: 'string', multiple: true },
      'grant-type': { type: 'string', multiple: true },
      public: { type: 'boolean' },
      oauth1: { type: 'boolean' },
      json: { type: 'boolean' },
      'skip-consent': { type: 'boolean' },
      ...LIFETIME_OPTIONS,
    });
    if (!values.name) throw new UsageError('client:create needs --name');
    const lifetimes = readLifetimes(values);
    const grantTypes = values['grant-type'] ?? ['authorization_code', 'refresh_token'];
    const unknown = grantTypes.find((g) => !isGrantType(g));
    if (unknown !== undefined) throw new UsageError(`unknown grant type ${JSON.stringify(unknown)} (use ${GRANT_TYPES.join(', ')})`);
    // Checked before the database is opened: a usage error answers at once and touches nothing.
    const scopes = createDemoScopes();
    const scopeNames = values.scope ? values.scope.flatMap((s) => s.split(' ')).filter(Boolean) : scopes.list().map((s) => s.name);
    let settings;
    try {
      settings = checkClientSettings(
        {
          name: values.name,
          redirectUris: values['redirect-uri'] ?? [],
          postLogoutRedirectUris: values['post-logout-redirect-uri'] ?? [],
          scopes: scopeNames,
          grantTypes: grantTypes.filter(isGrantType),
          type: values.public ? 'public' : 'confidential',
          oauth1Enabled: values.oauth1 === true,
          rsaPublicKey: null,
        },
        scopes,
        // The server's rule: TLS, so https redirect URIs (http on loopback), outside development.
        { enforceSecure: !readConfig(env).development },
      );
    } catch (error) {
      if (error instanceof ClientSettingsError) throw new UsageError(error.message);
      throw error;
    }
    const { oauthOperations } = (await app()).demo;
    if (settings.oauth1Enabled && !oauthOperations.sealSecret) throw new UsageError('--oauth1 needs PORTCULLIS_SECRET_KEY');
    let registered;
    try {
      registered = await oauthOperations.registerClient({
        ...settings,
        ...lifetimes,
        skipConsent: values['skip-consent'] === true,
        ownerId: null,
        ...(values['client-id'] ? { clientId: values['client-id'] } : {}),
      });
    } catch (error) {
      const description = (error as { description?: unknown }).description;
      if (typeof description === 'string') throw new UsageError(description);
      throw error;
    }
    if (values.json) {
      io.out(JSON.stringify(registered.clientSecret ? { client_id: registered.client.id, client_secret: registered.clientSecret } : { client_id: registered.client.id }));
      return;
    }
    io.out(`client_id:     ${registered.client.id}`);
    if (registered.clientSecret) {
      io.out(`client_secret: ${registered.clientSecret}`);
      io.out('The secret is shown only this once; only its digest is stored.');
    } else {
      io.out('A public client: no secret; it must use PKCE.');
    }
  },

  async 'client:update'(args, app, io) {
    const values = parse(args, { 'client-id': { type: 'string' }, 'skip-consent': { type: 'string' }, ...LIFETIME_OPTIONS });
    const clientId = values['client-id'];
    if (!clientId) throw new UsageError('client:update needs --client-id');
    const skip = values['skip-consent'];
    if (skip !== undefined && skip !== 'yes' && skip !== 'no') throw new UsageError('--skip-consent takes yes or no');
    // Only the options given change; each lifetime option takes seconds, or `default` for the server's.
    const update: Partial<ClientLifecycle> = { ...(skip === undefined ? {} : { skipConsent: skip === 'yes' }) };
    for (const [key, , option] of LIFETIME_FIELDS) {
      if (values[option] !== undefined) update[key] = readLifetime(key, values[option]);
    }
    if (Object.keys(update).length === 0) throw new UsageError('client:update needs something to change');
    const updated = await (await app()).demo.storage.updateClient(clientId, { ...update, updatedAt: new Date() });
    if (updated === null) throw new UsageError(`no client ${JSON.stringify(clientId)}`);
    const seconds = (value: number | null | undefined) => (value == null ? 'default' : String(value));
    io.out(
      `${updated.id}  skip-consent=${updated.skipConsent ? 'yes' : 'no'}  access-token-ttl=${seconds(updated.accessTokenTtl)}  ` +
        `refresh-token-ttl=${seconds(updated.refreshTokenTtl)}  code-ttl=${seconds(updated.authorizationCodeTtl)}`,
    );
  },

  async 'client:list'(args, app, io) {
    const values = parse(args, { origin: { type: 'string' }, json: { type: 'boolean' } });
    if (values.origin !== undefined && !(CLIENT_ORIGINS as readonly string[]).includes(values.origin)) {
      throw new UsageError(`unknown origin ${JSON.stringify(values.origin)} (use ${CLIENT_ORIGINS.join(', ')})`);
    }
    const all = await (await app()).demo.storage.listClients();
    const clients = values.origin === undefined ? all : all.filter((c) => (c.origin ?? 'admin') === values.origin);
    if (values.json) {
      io.out(
        JSON.stringify(
          clients.map((c) => ({
            client_id: c.id,
            name: c.name,
            type: c.type,
            origin: c.origin ?? 'admin',
            grant_types: c.grantTypes,
            redirect_uris: c.redirectUris,
            scope: c.scopes.join(' '),
            oauth1: c.oauth1Enabled,
            disabled: c.disabled,
            last_used_at: c.lastUsedAt ? c.lastUsedAt.toISOString() : null,
          })),
        ),
      );
      return;
    }
    if (clients.length === 0) return io.out('no clients');
    for (const c of clients) {
      io.out(
        `${c.id}  ${c.name}  ${c.type}  origin=${c.origin ?? 'admin'}  grants=${c.grantTypes.join(',')}  scope="${c.scopes.join(' ')}"  ` +
          `oauth1=${c.oauth1Enabled ? 'on' : 'off'}  last-used=${c.lastUsedAt ? c.lastUsedAt.toISOString() : 'never'}${c.disabled ? '  DISABLED' : ''}`,
      );
    }
  },

  async 'client:delete'(args, app, io) {
    const values = parse(args, { 'client-id': { type: 'string' }, force: { type: 'boolean' } });
    const clientId = values['client-id'];
    if (!clientId) throw new UsageError('client:delete needs --client-id');
    const { storage, oauthOperations } = (await app()).demo;
    const client = await storage.findClient(clientId);
    if (client === null) throw new UsageError(`no client ${JSON.stringify(clientId)}`);
    if ((client.origin ?? 'admin') === 'admin' && values.force !== true) {
      throw new UsageError(`${clientId} was registered by an administrator; add --force to delete it`);
    }
    // The core's delete, as RFC 7592's DELETE: its tokens are revoked first.
    await oauthOperations.deleteClient(clientId);
    io.out(`deleted client ${clientId} (${client.name}); its tokens are revoked`);
  },

  async 'scopes:sync'(args, app, io) {
    parse(args, {});
    const fastify = await app();
    const { syncableScopes } = await import('./pages/admin-routes.js');
    const records = syncableScopes(fastify.demo, fastify.demo.oauthOperations);
    await fastify.demo.storage.saveScopes(records);
    io.out(`synced ${records.length} scopes: ${records.map((r) => r.name).join(' ')}`);
  },

  // A client-side helper for the README's curl walkthrough: curl cannot sign OAuth 1.0a requests.
  async 'oauth1:sign'(args, _app, io) {
    const values = parse(args, {
      method: { type: 'string' },
      url: { type: 'string' },
      'consumer-key': { type: 'string' },
      'consumer-secret': { type: 'string' },
      token: { type: 'string' },
      'token-secret': { type: 'string' },
      callback: { type: 'string' },
      verifier: { type: 'string' },
      data: { type: 'string' },
    });
    for (const name of ['url', 'consumer-key', 'consumer-secret'] as const) {
      if (!values[name]) throw new UsageError(`oauth1:sign needs --${name}`);
    }
    let url: URL;
    try {
      url = new URL(values.url!);
    } catch {
      throw new UsageError('--url must be an absolute URL');
    }
    const { formatAuthorizationHeader, signRequest } = await import('@portcullis/core');
    const { randomBytes } = await import('node:crypto');
    const extra: Record<string, string> = {};
    if (values.callback) extra.oauth_callback = values.callback;
    if (values.verifier) extra.oauth_verifier = values.verifier;
    const body = values.data === undefined ? undefined : Object.fromEntries(new URLSearchParams(values.data));
    const parameters = signRequest({
      method: (values.method ?? 'GET').toUpperCase(),
      url,
      consumerKey: values['consumer-key']!,
      signatureMethod: 'HMAC-SHA1',
      credentials: { consumerSecret: values['consumer-secret']!, tokenSecret: values['token-secret'] ?? '' },
      ...(values.token ? { token: values.token } : {}),
      timestamp: Math.floor(Date.now() / 1000),
      nonce: randomBytes(16).toString('hex'),
      extra,
      ...(body ? { body } : {}),
    });
    io.out(formatAuthorizationHeader(parameters));
  },

  async 'tokens:purge'(args, app, io) {
    parse(args, {});
    const fastify = await app();
    const purged = await fastify.oauth.purgeExpired();
    const { DatabaseSessionStore } = await import('./session-store.js');
    const sessions = await new DatabaseSessionStore(fastify.demo.db).purgeExpired();
    io.out(
      `purged ${purged.accessTokens} access tokens, ${purged.refreshTokens} refresh tokens, ${purged.authorizationCodes} codes, ` +
        `${purged.requestTokens} request tokens, ${purged.oauth1AccessTokens} OAuth 1.0a tokens, ${purged.nonces} nonces, ` +
        `${purged.clients} unused registered clients, ${purged.signingKeys} signing keys, ${purged.deviceCodes} device codes, ${sessions} sessions`,
    );
  },

  async 'keys:list'(args, app, io) {
    const values = parse(args, { json: { type: 'boolean' } });
    const keys = await (await app()).oauth.server.signingKeys!.list();
    if (values.json) {
      io.out(JSON.stringify(keys));
      return;
    }
    if (keys.length === 0) io.out('no signing keys yet: one is made when first needed');
    const time = (date: Date | null) => (date === null ? '-' : date.toISOString());
    for (const key of keys) {
      io.out(`${key.kid}  ${key.alg.padEnd(5)}  ${key.state.padEnd(7)}  activates ${time(key.activatesAt)}  retires ${time(key.retiresAt)}  expires ${time(key.expiresAt)}`);
    }
  },

  async 'keys:rotate'(args, app, io) {
    parse(args, {});
    const made = await (await app()).oauth.rotateSigningKeys();
    for (const key of made) io.out(`new ${key.alg} key ${key.kid}: published now, signs from ${key.activatesAt.toISOString()}`);
  },

  async login(args, _app, io) {
    const values = parse(args, { server: { type: 'string' }, 'client-id': { type: 'string' }, scope: { type: 'string' } });
    if (!values.server) throw new UsageError('login needs --server URL, e.g. --server http://127.0.0.1:3000');
    if (!URL.canParse(values.server)) throw new UsageError(`--server ${JSON.stringify(values.server)} is not a URL`);
    // Loaded only here: no other command talks to a server.
    const { loginWithDeviceFlow } = await import('./device-login.js');
    await loginWithDeviceFlow({
      server: new URL(values.server),
      clientId: values['client-id'] ?? CLI_CLIENT_ID,
      scope: values.scope ?? 'polls:read',
      out: io.out,
    });
  },
};

/** Runs one command; returns the exit code (0 done, 1 failed, 2 bad usage). */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(USAGE + '\n');
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`error: unknown command ${JSON.stringify(name)} (try: ${Object.keys(commands).join(', ')})\n`);
    return 2;
  }
  let fastify: FastifyInstance | undefined;
  const app = async () => {
    if (fastify) return fastify;
    const config = readConfig(env);
    prepareFolders(config);
    const secrets = loadSecrets({ dataDir: config.dataDir, development: config.development, env });
    // Loaded only when a command needs it, so usage errors answer at once.
    const { buildApp } = await import('./app.js');
    fastify = await buildApp({
      databaseUrl: config.databaseUrl,
      development: config.development,
      sessionSecret: secrets.sessionSecret,
      secretKey: secrets.secretKey,
      issuer: config.issuer,
    });
    await fastify.ready();
    return fastify;
  };
  try {
    await command(args, app, { out: (line) => process.stdout.write(line + '\n') }, env);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`error: ${message.split('\n')[0]}\n`);
    return error instanceof UsageError ? 2 : 1;
  } finally {
    await fastify?.close();
  }
}

// Run only as the entry point, so tests can import runCli.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
