import fastifyRateLimit from '@fastify/rate-limit';
import { OAuthError } from '@portcullis/core';
import type { PortcullisEndpoint } from '@portcullis/fastify';
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Redis } from 'ioredis';

export interface RateLimitSettings {
  /** Requests one client address may make per window to the password routes together, and to each other limited route. */
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
 * The plugin's other endpoints that take credentials or mint them, each limited on its own (found
 * by the endpoint name the plugin puts in each route's config, whatever prefix they are mounted
 * under; not the metadata document).
 */
const LIMITED_ENDPOINTS = new Set<PortcullisEndpoint>([
  'authorize',
  'device_authorization',
  'device',
  'revoke',
  'introspect',
  'register',
  'register_client',
  'oauth1_request_token',
  'oauth1_authorize',
  'oauth1_access_token',
]);
const TOKEN_ALIAS = /^\/(?:oauth2\/access_token|token)\/?$/;

/**
 * Where passwords and client secrets are guessed: the plugin's token endpoint, the demo's aliases
 * of it at the Django providers' paths, and the login form. They share one count per client address, so
 * spreading guesses over them gains nothing.
 */
function takesPasswords(route: RouteOptions): boolean {
  const endpoint = route.config?.portcullis?.endpoint;
  if (endpoint !== undefined) return endpoint === 'token';
  if (TOKEN_ALIAS.test(route.url)) return true;
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  // GET /login only draws the form; guessing happens on the POST.
  return route.url === '/login' && methods.includes('POST');
}

function isLimited(route: RouteOptions): boolean {
  const endpoint = route.config?.portcullis?.endpoint;
  return endpoint !== undefined && LIMITED_ENDPOINTS.has(endpoint);
}

/**
 * Brute-force limits on the credential routes, the plugin's included, marked by an onRoute hook
 * as they are declared. The routes that take passwords share one limiter, made once: its one store
 * holds one count per client address (@fastify/rate-limit gives every route configured through
 * `config.rateLimit` a store of its own, in memory and in Redis alike). The other endpoints each
 * count on their own, through `config.rateLimit`, read by the plugin's onRoute hook that runs after
 * this one.
 * Must be called before the routes are registered.
 */
export async function registerRateLimits(fastify: FastifyInstance, settings: RateLimitSettings): Promise<void> {
  // Made once the plugin is registered; the hook must come first, so it reads it when routes arrive.
  const shared: { passwordLimit?: ReturnType<FastifyInstance['rateLimit']> } = {};
  fastify.addHook('onRoute', (route) => {
    const passwordLimit = shared.passwordLimit;
    if (takesPasswords(route)) {
      if (!passwordLimit) throw new Error('registerRateLimits: a route was declared before the rate limiter was ready');
      route.onRequest = [...(Array.isArray(route.onRequest) ? route.onRequest : route.onRequest ? [route.onRequest] : []), passwordLimit];
    } else if (isLimited(route)) {
      route.config = { ...(route.config ?? {}), rateLimit: { max: settings.max, timeWindow: settings.windowMs } } as RouteOptions['config'];
    }
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
  shared.passwordLimit = fastify.rateLimit({ max: settings.max, timeWindow: settings.windowMs, keyGenerator: (request) => `passwords:${request.ip}` });
}
