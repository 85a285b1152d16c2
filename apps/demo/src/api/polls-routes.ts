import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { castVote, findPoll, getResults, getStats, listPolls } from '../polls.js';
import type { DemoServices } from '../services.js';
import { findUserById } from '../users.js';

/** The API's own errors (not OAuth ones) in the same `{error, error_description}` shape. */
function sendError(reply: FastifyReply, status: number, error: string, description: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').send({ error, error_description: description });
}

function parseId(value: unknown): number | null {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value !== 'string' || !/^[1-9][0-9]{0,9}$/.test(value)) return null;
  return Number(value);
}

/**
 * The polls API, each route guarded by requireScope. A route whose token lacks
 * the scope never reaches its handler: the plugin answers 401/403 with RFC 6750's header.
 */
export async function registerPollsApi(fastify: FastifyInstance, services: DemoServices): Promise<void> {
  const { db } = services;

  fastify.get('/api/polls', { preHandler: fastify.requireScope('polls:read') }, async (_request, reply) => {
    return reply.header('cache-control', 'no-store').send({ polls: await listPolls(db) });
  });

  fastify.post<{ Params: { id: string } }>('/api/polls/:id/vote', { preHandler: fastify.requireScope('polls:vote') }, async (request, reply) => {
    const auth = request.oauth;
    const pollId = parseId(request.params.id);
    if (!auth) return sendError(reply, 401, 'invalid_token', 'no token');
    if (pollId === null || !(await findPoll(db, pollId))) return sendError(reply, 404, 'not_found', 'no such poll');
    if (auth.userId === null) return sendError(reply, 403, 'user_required', 'a vote is cast by a user: this token was issued to the client alone');
    const body = (request.body ?? {}) as Record<string, unknown>;
    const choiceId = parseId(body.choice_id ?? body.choice);
    if (choiceId === null) return sendError(reply, 400, 'invalid_request', 'choice_id must be the id of one of the poll\'s choices');
    const outcome = await castVote(db, { pollId, choiceId, userId: auth.userId, clientId: auth.clientId });
    if (outcome === 'no_such_choice') return sendError(reply, 400, 'invalid_request', 'choice_id is not a choice of this poll');
    if (outcome === 'already_voted') return sendError(reply, 409, 'already_voted', 'this user has voted in this poll already');
    return reply.code(201).header('cache-control', 'no-store').send({ poll_id: pollId, choice_id: choiceId, recorded: true });
  });

  // oauthost's scope_auto: the scope is derived from the route, here `polls:results`.
  fastify.get<{ Params: { id: string } }>('/api/polls/:id/results', { preHandler: fastify.requireScope({ auto: true }) }, async (request, reply) => {
    const pollId = parseId(request.params.id);
    const poll = pollId === null ? null : await findPoll(db, pollId);
    if (!poll) return sendError(reply, 404, 'not_found', 'no such poll');
    return reply.header('cache-control', 'no-store').send(await getResults(db, poll));
  });

  fastify.get<{ Params: { id: string } }>('/api/polls/:id/stats', { preHandler: fastify.requireScope('polls:stats') }, async (request, reply) => {
    const pollId = parseId(request.params.id);
    if (pollId === null || !(await findPoll(db, pollId))) return sendError(reply, 404, 'not_found', 'no such poll');
    return reply.header('cache-control', 'no-store').send(await getStats(db, pollId));
  });

  // Any valid token: who the token acts for (Django REST framework's `curl -H "Authorization: Bearer ..." /api/`).
  const anyToken = fastify.requireScope();
  const me = async (request: FastifyRequest, reply: FastifyReply) => {
    const auth = request.oauth;
    if (!auth) return sendError(reply, 401, 'invalid_token', 'no token');
    const user = auth.userId ? await findUserById(db, auth.userId) : null;
    return reply.header('cache-control', 'no-store').send({
      client_id: auth.clientId,
      user: user ? { id: user.id, username: user.username } : null,
      scope: auth.scope.join(' '),
      protocol: auth.protocol,
    });
  };
  fastify.get('/api/me', { preHandler: anyToken }, me);
  fastify.get('/api', { preHandler: anyToken }, me);
}
