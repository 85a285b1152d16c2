import type { DemoDb } from './db/database.js';
import { isDuplicateKey, supportsReturning } from './db/dialect.js';

export interface PollChoice {
  id: number;
  label: string;
}

export interface Poll {
  id: number;
  question: string;
  createdAt: string;
  choices: PollChoice[];
}

export interface PollResults {
  poll_id: number;
  question: string;
  total_votes: number;
  results: { choice_id: number; label: string; votes: number }[];
}

export async function createPoll(db: DemoDb, question: string, choices: string[], now = new Date()): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const insert = trx.insertInto('demo_polls').values({ question, created_at: now.getTime() });
    const pollId = supportsReturning(trx)
      ? Number((await insert.returning('id').executeTakeFirstOrThrow()).id)
      : Number((await insert.executeTakeFirstOrThrow()).insertId);
    await trx
      .insertInto('demo_choices')
      .values(choices.map((label, position) => ({ poll_id: pollId, label, position })))
      .execute();
    return pollId;
  });
}

export async function listPolls(db: DemoDb): Promise<Poll[]> {
  const [polls, choices] = await Promise.all([
    db.selectFrom('demo_polls').selectAll().orderBy('id').execute(),
    db.selectFrom('demo_choices').selectAll().orderBy('poll_id').orderBy('position').execute(),
  ]);
  return polls.map((poll) => ({
    id: Number(poll.id),
    question: poll.question,
    createdAt: new Date(Number(poll.created_at)).toISOString(),
    choices: choices.filter((c) => Number(c.poll_id) === Number(poll.id)).map((c) => ({ id: Number(c.id), label: c.label })),
  }));
}

export async function findPoll(db: DemoDb, pollId: number): Promise<Poll | null> {
  const poll = await db.selectFrom('demo_polls').selectAll().where('id', '=', pollId).executeTakeFirst();
  if (!poll) return null;
  const choices = await db.selectFrom('demo_choices').selectAll().where('poll_id', '=', pollId).orderBy('position').execute();
  return {
    id: Number(poll.id),
    question: poll.question,
    createdAt: new Date(Number(poll.created_at)).toISOString(),
    choices: choices.map((c) => ({ id: Number(c.id), label: c.label })),
  };
}

export type VoteOutcome = 'recorded' | 'already_voted' | 'no_such_choice';

/**
 * Records a vote. One vote per user per poll is the table's primary key, so two concurrent votes
 * cannot both land: the loser gets `already_voted`.
 */
export async function castVote(
  db: DemoDb,
  vote: { pollId: number; choiceId: number; userId: string; clientId: string },
  now = new Date(),
): Promise<VoteOutcome> {
  const choice = await db
    .selectFrom('demo_choices')
    .select('id')
    .where('id', '=', vote.choiceId)
    .where('poll_id', '=', vote.pollId)
    .executeTakeFirst();
  if (!choice) return 'no_such_choice';
  try {
    await db
      .insertInto('demo_votes')
      .values({ poll_id: vote.pollId, choice_id: vote.choiceId, user_id: vote.userId, client_id: vote.clientId, created_at: now.getTime() })
      .execute();
    return 'recorded';
  } catch (error) {
    if (isDuplicateKey(error)) return 'already_voted';
    throw error;
  }
}

export async function getResults(db: DemoDb, poll: Poll): Promise<PollResults> {
  const counts = await db
    .selectFrom('demo_votes')
    .select(['choice_id', (eb) => eb.fn.countAll<number | string>().as('votes')])
    .where('poll_id', '=', poll.id)
    .groupBy('choice_id')
    .execute();
  const byChoice = new Map(counts.map((row) => [Number(row.choice_id), Number(row.votes)]));
  const results = poll.choices.map((c) => ({ choice_id: c.id, label: c.label, votes: byChoice.get(c.id) ?? 0 }));
  return { poll_id: poll.id, question: poll.question, total_votes: results.reduce((sum, r) => sum + r.votes, 0), results };
}

export interface PollStats {
  poll_id: number;
  total_votes: number;
  /** How many distinct OAuth clients the votes came through: the stats oauthost's example `my_stats` view hints at. */
  clients: { client_id: string; votes: number }[];
  first_vote_at: string | null;
  last_vote_at: string | null;
}

export async function getStats(db: DemoDb, pollId: number): Promise<PollStats> {
  const [byClient, span] = await Promise.all([
    db
      .selectFrom('demo_votes')
      .select(['client_id', (eb) => eb.fn.countAll<number | string>().as('votes')])
      .where('poll_id', '=', pollId)
      .groupBy('client_id')
      .orderBy('client_id')
      .execute(),
    db
      .selectFrom('demo_votes')
      .select((eb) => [eb.fn.min<number | string | null>('created_at').as('first'), eb.fn.max<number | string | null>('created_at').as('last')])
      .where('poll_id', '=', pollId)
      .executeTakeFirst(),
  ]);
  const clients = byClient.map((row) => ({ client_id: row.client_id, votes: Number(row.votes) }));
  const iso = (value: number | string | null | undefined) => (value === null || value === undefined ? null : new Date(Number(value)).toISOString());
  return {
    poll_id: pollId,
    total_votes: clients.reduce((sum, c) => sum + c.votes, 0),
    clients,
    first_vote_at: iso(span?.first),
    last_vote_at: iso(span?.last),
  };
}
