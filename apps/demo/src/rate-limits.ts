import fastifyRateLimit from '@fastify/rate-limit';
import { OAuthError } from '@portcullis/core';
import type { PortcullisEndpoint } from '@portcullis/fastify';
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Redis } from 'ioredis';

export interface RateLimitSettings {
  /** Requests one client address may make to one limited route per window. */
  max: number;
  /** The window, in milliseconds. */
  windowMs: number;
  /** Counts kept in Redis, so every instance behind a load balancer shares them; in memory otherwise. */
  redis?: Redis;
  /** Prefix of the Redis keys (instances that share a limit share the prefix). */
  keyPrefix?: string;
}

/** Generous for people and for well-behaved clients; a password guesser gets two a second. */
export const DEFAULT_RATE_LIMIT = { max: 120, windowMs: 60_000 } as const;

/**
 * The routes that take credentials or mint them: the plugin's endpoints (found by the endpoint name
 * the plugin puts in each route's config, whatever prefix they are mounted under; not the metadata
 * document), the login form, and the demo's token aliases for the seeds' paths.
 */
const LIMITED_ENDPOINTS = new Set<PortcullisEndpoint>([
  'authorize',
  'token',
  'revoke',
  'introspect',
  'oauth1_request_token',
  'oauth1_authorize',
  'oauth1_access_token',
]);
const LIMITED_ALIAS = /^\/(?:oauth2\/access_token|token)\/?$/;

function isLimited(route: RouteOptions): boolean {
  const endpoint = route.config?.portcullis?.endpoint;
  if (endpoint !== undefined) return LIMITED_ENDPOINTS.has(endpoint);
  if (LIMITED_ALIAS.test(route.url)) return true;
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  // GET /login only draws the form; guessing happens on the POST.
  return route.url === '/login' && methods.includes('POST');
}

/**
 * Brute-force limits on the credential routes: an onRoute hook added before @fastify/rate-limit
 * (whose own onRoute hook reads `config.rateLimit`, and runs after this one) marks the routes as
 * they are declared, the plugin's included.
 * Must be called before the routes are registered.
 */
export async function registerRateLimits(fastify: FastifyInstance, settings: RateLimitSettings): Promise<void> {
  fastify.addHook('onRoute', (route) => {
    if (!isLimited(route)) return;
    route.config = { ...(route.config ?? {}), rateLimit: { max: settings.max, timeWindow: settings.windowMs } } as RouteOptions['config'];
  });
  await fastify.register(fastifyRateLimit, {
    global: false,
    max: settings.max,
    timeWindow: settings.windowMs,
    ...(settings.redis ? { redis: settings.redis, nameSpace: `${settings.keyPrefix ?? 'portcullis-demo:'}rate-limit:` } : {}),
    // If Redis is unreachable the limit is skipped rather than failing logins and token requests.
    skipOnError: true,
    // Thrown to the route's error handler: the plugin's answers JSON routes with the RFC 6749 shape
    // and the authorization endpoint with a page; the demo's does the same for its routes.
    errorResponseBuilder: (_request, context) => {
      const seconds = Math.max(1, Math.ceil(context.ttl / 1000));
      return new OAuthError('temporarily_unavailable', {
        status: context.statusCode,
        description: `Too many requests; retry after ${seconds} seconds.`,
        headers: { 'retry-after': String(seconds) },
      });
    },
  });
}
