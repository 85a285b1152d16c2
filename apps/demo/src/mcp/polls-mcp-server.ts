import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyBaseLogger } from 'fastify';
import { z } from 'zod';
import type { DemoDb } from '../db/database.js';
import { castVote, findPoll, getResults, listPolls } from '../polls.js';

/**
 * The scope each tool needs. The `/mcp` route checks it before the request reaches the MCP server
 * (mcp-routes.ts), so a token without it gets the HTTP 403 `insufficient_scope` challenge the MCP
 * authorization specification asks for (2025-11-25, "Scope Challenge Handling"), not a tool error.
 */
export const MCP_TOOL_SCOPES = {
  list_polls: 'polls:read',
  vote: 'polls:vote',
  poll_results: 'polls:results',
} as const;

export type McpToolName = keyof typeof MCP_TOOL_SCOPES;

/** What the tools know of the caller: the SDK's `AuthInfo`, with the Portcullis user in `extra`. */
export interface PollsAuthExtra extends Record<string, unknown> {
  /** Null for a token a client got for itself (client_credentials). */
  userId: string | null;
}

function json(value: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }] };
}

/** A refusal the model can read and act on (MCP tool errors are results, not protocol errors). */
function refused(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

function userOf(authInfo: AuthInfo | undefined): string | null {
  const userId = (authInfo?.extra as PollsAuthExtra | undefined)?.userId;
  return typeof userId === 'string' ? userId : null;
}

/**
 * The tool's answer; a failure of ours (the database, say) is logged and reported in general words:
 * the SDK would put the error's own message, which may name SQL or hosts, in the result.
 */
async function answer(log: FastifyBaseLogger, tool: string, run: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await run();
  } catch (error) {
    log.error({ err: error, tool }, 'demo: an MCP tool failed');
    return refused('Something went wrong on our side; please try again.');
  }
}

const pollId = z.number().int().positive().describe('The id of a poll, as list_polls gives it');

/**
 * The polls as MCP tools, over the same functions as the REST API. One server per request: the
 * `/mcp` endpoint is stateless Streamable HTTP, so nothing outlives the request that made it.
 */
export function createPollsMcpServer(db: DemoDb, log: FastifyBaseLogger): McpServer {
  const server = new McpServer({ name: 'portcullis-polls', version: '1.0.0' });

  server.registerTool(
    'list_polls',
    {
      title: 'List polls',
      description: 'Lists the polls, each with its id, question and choices (ids and labels).',
      annotations: { readOnlyHint: true },
    },
    async () => answer(log, 'list_polls', async () => json({ polls: await listPolls(db) })),
  );

  server.registerTool(
    'vote',
    {
      title: 'Vote',
      description: 'Votes in a poll for one of its choices, in the name of the signed-in user; one vote per user per poll.',
      inputSchema: { poll_id: pollId, choice_id: z.number().int().positive().describe('The id of one of the poll\'s choices') },
      annotations: { readOnlyHint: false, idempotentHint: false },
    },
    async ({ poll_id, choice_id }, extra) =>
      answer(log, 'vote', async () => {
        const userId = userOf(extra.authInfo);
        if (userId === null) return refused('A vote is cast by a user: this token was issued to the client alone.');
        if (!(await findPoll(db, poll_id))) return refused(`There is no poll ${poll_id}.`);
        const clientId = extra.authInfo?.clientId ?? '';
        const outcome = await castVote(db, { pollId: poll_id, choiceId: choice_id, userId, clientId });
        if (outcome === 'no_such_choice') return refused(`Choice ${choice_id} is not a choice of poll ${poll_id}.`);
        if (outcome === 'already_voted') return refused('This user has voted in this poll already.');
        return json({ poll_id, choice_id, recorded: true });
      }),
  );

  server.registerTool(
    'poll_results',
    {
      title: 'Poll results',
      description: 'The number of votes for each choice of a poll.',
      inputSchema: { poll_id: pollId },
      annotations: { readOnlyHint: true },
    },
    async ({ poll_id }) =>
      answer(log, 'poll_results', async () => {
        const poll = await findPoll(db, poll_id);
        if (!poll) return refused(`There is no poll ${poll_id}.`);
        return json(await getResults(db, poll));
      }),
  );

  return server;
}
