import { timingSafeEqual, createHash } from 'node:crypto';
import type { PortcullisEvent } from '@portcullis/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Histogram, Registry } from 'prom-client';

/**
 * The demo's Prometheus metrics, in a registry of this app's own (not prom-client's global one),
 * so that several apps in one process count apart. Counters move with the server's events; the
 * latency histogram with every response.
 */
export class DemoMetrics {
  readonly registry = new Registry();
  readonly #issued = new Counter({
    name: 'portcullis_tokens_issued_total',
    help: 'Token responses, by grant type (refresh_token for rotations, manual for tokens issued by an administrator).',
    labelNames: ['grant_type'] as const,
    registers: [this.registry],
  });
  readonly #refused = new Counter({
    name: 'portcullis_token_refusals_total',
    help: 'Token endpoint refusals, by OAuth error code.',
    labelNames: ['error'] as const,
    registers: [this.registry],
  });
  readonly #authenticationFailures = new Counter({
    name: 'portcullis_client_authentication_failures_total',
    help: 'Failed client authentications, by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly #replays = new Counter({
    name: 'portcullis_replays_detected_total',
    help: 'Spent refresh tokens or authorization codes presented again; each revoked its grant.',
    labelNames: ['credential'] as const,
    registers: [this.registry],
  });
  readonly #revoked = new Counter({
    name: 'portcullis_tokens_revoked_total',
    help: 'Credentials revoked on purpose, by who revoked them.',
    labelNames: ['revoked_by'] as const,
    registers: [this.registry],
  });
  readonly #latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer a request, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  /** Counts what an event reports; events no metric follows are left to the audit log. */
  observe(event: PortcullisEvent): void {
    switch (event.type) {
      case 'token.issued':
        this.#issued.inc({ grant_type: event.grantType });
        break;
      case 'token.refreshed':
        this.#issued.inc({ grant_type: 'refresh_token' });
        break;
      case 'token.refused':
        this.#refused.inc({ error: event.error });
        break;
      case 'client.authentication_failed':
        this.#authenticationFailures.inc({ reason: event.reason });
        break;
      case 'refresh_token.replay_detected':
        this.#replays.inc({ credential: 'refresh_token' });
        break;
      case 'authorization_code.replay_detected':
        this.#replays.inc({ credential: 'authorization_code' });
        break;
      case 'token.revoked':
        this.#revoked.inc({ revoked_by: event.revokedBy }, event.count);
        break;
      default:
        break;
    }
  }

  /**
   * Times every response by its route pattern (`/api/polls/:id`, never the raw URL, so labels stay
   * few); a request no route matched is `unmatched`.
   */
  timeRequests(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', async (request, reply) => {
      this.#latency.observe(
        { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
  }
}

/**
 * `GET /metrics`, for administrators only: a session of an admin user (a person looking), or
 * `Authorization: Bearer <METRICS_TOKEN>` (a Prometheus scraper) when that token is configured.
 * Anyone else gets 401 (no credentials, or a wrong token) or 403 (signed in, not an admin).
 */
export function registerMetricsRoute(fastify: FastifyInstance, metrics: DemoMetrics, metricsToken: string | undefined): void {
  const expected = metricsToken === undefined ? null : digest(metricsToken);
  fastify.get('/metrics', async (request: FastifyRequest, reply: FastifyReply) => {
    const authorization = request.headers.authorization;
    const bearer = authorization !== undefined && /^bearer /i.test(authorization) ? authorization.slice(7).trim() : null;
    const allowed =
      bearer !== null ? expected !== null && timingSafeEqual(digest(bearer), expected) : request.session.get('isAdmin') === true;
    if (!allowed) {
      const signedIn = bearer === null && Boolean(request.session.get('userId'));
      const status = signedIn ? 403 : 401;
      if (status === 401) reply.header('www-authenticate', 'Bearer realm="metrics"');
      return reply
        .code(status)
        .header('cache-control', 'no-store')
        .type('text/plain; charset=utf-8')
        .send(signedIn ? 'Metrics are for administrators.\n' : 'Sign in as an administrator, or send the metrics bearer token.\n');
    }
    return reply.header('cache-control', 'no-store').type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}

/** Fixed-length digests, so the comparison is constant-time whatever length was sent. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
