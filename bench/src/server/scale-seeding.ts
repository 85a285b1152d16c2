import { randomBytes } from 'node:crypto';
import { digestSecret, generateId } from '@portcullis/core';
import type { Database, NewAccessTokenRow } from '@portcullis/kysely';
import type { Kysely } from 'kysely';

/** Rows per INSERT: large enough to make a million quick, small enough for max_allowed_packet. */
const BATCH = 2000;

/**
 * The scale mode's filler: live access tokens that nobody presents, written straight into the
 * store's table with multi-row INSERTs (issuing a million through the core, one INSERT each, would
 * take longer than the whole suite). Rows have the shape the store writes: digests, JSON scope,
 * millisecond timestamps.
 *
 * Their ids and family ids come from the core's generateId, time-ordered as the store's are, so
 * the filler appends to those B-trees as production does (with random ids, InnoDB's default
 * 128 MiB buffer pool stopped holding the random-key indexes at about half a million rows and the
 * seeding slowed to a few hundred rows a second). The digest index, the one S2 reads, stays as
 * random as in production.
 */
export async function insertLiveTokens(db: unknown, clientId: string, count: number): Promise<void> {
  const kysely = db as Kysely<Database>;
  const issuedAt = Date.now();
  const expiresAt = issuedAt + 24 * 3600 * 1000;
  for (let done = 0; done < count; done += BATCH) {
    const rows: NewAccessTokenRow[] = [];
    for (let i = 0; i < Math.min(BATCH, count - done); i += 1) {
      rows.push({
        id: generateId(),
        digest: digestSecret(`pca_${randomBytes(32).toString('base64url')}`),
        client_id: clientId,
        user_id: `filler-${(done + i) % 10_000}`,
        scope: '["read"]',
        family_id: generateId(),
        issued_at: issuedAt,
        expires_at: expiresAt,
        revoked_at: null,
      });
    }
    await kysely.insertInto('portcullis_access_tokens').values(rows).execute();
  }
}
