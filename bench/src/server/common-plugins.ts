import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifySession from '@fastify/session';
import Fastify, { type FastifyInstance } from 'fastify';

/** Fixed, so runs are comparable; this key protects nothing but benchmark sessions. */
const SESSION_SECRET = 'portcullis-bench-session-secret-0123456789abcdef';

/**
 * Every server of the run, baseline or Portcullis, starts from this: the same Fastify with the
 * same plugins, registered as the Portcullis plugin needs them (form bodies for the token
 * endpoint, cookie and session for the authorization endpoint). So a ratio measures Portcullis's
 * own work and nothing else.
 */
export async function createBenchFastify(): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(fastifyFormbody);
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: SESSION_SECRET,
    saveUninitialized: false,
    cookie: { secure: false, httpOnly: true, sameSite: 'lax' },
  });
  return app;
}
