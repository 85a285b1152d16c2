import fastifyRateLimit from '@fastify/rate-limit';
import { OAuthError } from '@portcullis/core';
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
 * The routes that take credentials or mint them: the login form, the plugin's token, revocation,
 * introspection and authorization endpoints, OAuth 1.0a's three, and the demo's token aliases.
 * Matched on the declared path, so a route added under another prefix is not limited by accident.
 */
const LIMITED_PATH = /^\/(?:oauth\/(?:token|revoke|introspect|authorize)|oauth1\/(?:request_token|authorize|access_token)|oauth2\/access_token|token)\/?$/;

function isLimited(route: RouteOptions): boolean {
  if (LIMITED_PATH.test(route.url)) return true;
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  // GET /login only draws the form; guessing happens on the POST.
  return route.url === '/login' && methods.includes('POST');
}

/**
 * Brute-force limits on the credential routes. The plugin has no rate-limit option, so an onRoute
 * hook added before @fastify/rate-limit (whose own onRoute hook reads `config.rateLimit`, and
 * which runs after this one) marks the routes as they are declared, the plugin's included.
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
