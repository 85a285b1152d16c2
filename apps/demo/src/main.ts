import { Redis } from 'ioredis';
import { buildApp } from './app.js';
import { bootstrapFirstStart } from './bootstrap.js';
import { claimFreePort, prepareFolders, readConfig } from './config.js';
import { openDatabase } from './db/database.js';
import { serializeRequest } from './log-redaction.js';
import { loadSecrets } from './secrets.js';

/** `pnpm start`: the demo on http://127.0.0.1:3000 (HOST, PORT), data under apps/demo/data. */
async function main(): Promise<void> {
  const config = await claimFreePort(readConfig());
  prepareFolders(config);
  const secrets = loadSecrets({ dataDir: config.dataDir, development: config.development });
  const db = await openDatabase(config.databaseUrl);
  // One connection for sessions and rate-limit counts; a failed command fails fast rather than queueing forever.
  const redis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 2, enableAutoPipelining: true }) : undefined;
  const closeStores = async () => {
    await db.destroy();
    if (redis) await redis.quit().catch(() => redis.disconnect());
  };
  const fastify = await buildApp({
    db,
    development: config.development,
    sessionSecret: secrets.sessionSecret,
    secretKey: secrets.secretKey,
    issuer: config.issuer,
    ...(config.trustProxy === undefined ? {} : { trustProxy: config.trustProxy }),
    ...(config.metricsToken === undefined ? {} : { metricsToken: config.metricsToken }),
    ...(redis ? { redis, redisKeyPrefix: config.redisKeyPrefix } : {}),
    rateLimit: config.rateLimit,
    logger: { level: process.env.LOG_LEVEL ?? 'info', serializers: { req: serializeRequest } },
  }).catch(async (error: unknown) => {
    await closeStores();
    throw error;
  });

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    fastify.log.info({ signal }, 'shutting down: finishing in-flight requests');
    // fastify.close() stops accepting connections and waits for the requests in flight; then the pool closes.
    // A keep-alive connection whose request ends after close() began would stay open for the whole
    // keep-alive timeout (72 s), holding the exit: close such connections as soon as they go idle,
    // and, past SHUTDOWN_TIMEOUT_MS (default 10 s), every connection.
    const sweep = setInterval(() => fastify.server.closeIdleConnections(), 100);
    const deadline = setTimeout(() => fastify.server.closeAllConnections(), Number(process.env.SHUTDOWN_TIMEOUT_MS) || 10_000);
    fastify
      .close()
      .finally(() => {
        clearInterval(sweep);
        clearTimeout(deadline);
      })
      .then(closeStores)
      .then(
        () => process.exit(0),
        (error: unknown) => {
          fastify.log.error(error, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));

  await fastify.listen({ host: config.host, port: config.port });
  const baseUrl = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  const created = await bootstrapFirstStart(fastify, baseUrl, config.development, config.issuer);
  if (created) {
    // Printed once, on the first start only: nothing keeps these in clear.
    process.stdout.write(
      [
        '',
        'First start: save these credentials now, they are not shown again.',
        `  admin user:     ${created.admin.username}`,
        `  admin password: ${created.admin.password}`,
        `  sample client:  ${created.client.name}`,
        `    client_id:     ${created.client.clientId}`,
        `    client_secret: ${created.client.clientSecret}`,
        `    redirect_uri:  ${created.client.redirectUri}`,
        '',
      ].join('\n') + '\n',
    );
  }
  process.stdout.write(`Portcullis polls demo on ${baseUrl} (${config.development ? 'development' : 'production'} mode)\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`cannot start the demo: ${error instanceof Error ? error.message : String(error)}\n`);
  if (error instanceof Error && error.cause) process.stderr.write(`  cause: ${String(error.cause)}\n`);
  process.exit(1);
});
