import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * Every response's security headers, through @fastify/helmet: no framing (X-Frame-Options DENY and
 * CSP frame-ancestors), no Referer leaving a page (its URL may carry a code), a CSP that loads
 * nothing from elsewhere and runs no inline script, nosniff, and HSTS outside development.
 *
 * Helmet writes its headers on the raw response when the request arrives; a route that sets its
 * own with `reply.header` (the plugin's consent pages, whose form-action names the client's
 * redirect origin) wins, because Fastify's headers take precedence when the head is written.
 */
export async function registerSecurityHeaders(fastify: FastifyInstance, options: { development: boolean }): Promise<void> {
  await fastify.register(fastifyHelmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        // The pages carry their small stylesheet inline; styles cannot run code.
        styleSrc: ["'unsafe-inline'"],
        imgSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // Over plain HTTP in development HSTS would only pin a browser to a port nothing serves TLS on.
    strictTransportSecurity: options.development ? false : { maxAge: 31_536_000, includeSubDomains: true },
  });
}
