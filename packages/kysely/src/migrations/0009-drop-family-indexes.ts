import type { Migration } from 'kysely';
import { isMysql } from '../dialect.js';

// FROZEN once released. Both dialects: the access and refresh token tables lose their family_id
// index. A rotation wrote its new rows' entries at their family's place in it, a random page per
// table per rotation, where every other index takes new rows at its end; on SQLite those pages
// were half of what a rotation wrote to the log. Replay revocation, the index's one reader, now
// finds a family through its owner's (client_id, user_id) index (`revokeFamilyRows`).

const TABLES = ['portcullis_access_tokens', 'portcullis_refresh_tokens'] as const;

export const dropFamilyIndexes: Migration = {
  async up(db) {
    for (const table of TABLES) {
      const drop = db.schema.dropIndex(`${table}_family_id_idx`);
      // MySQL names an index within its table; SQLite names it within the schema and has no ON.
      await (isMysql(db) ? drop.on(table) : drop).execute();
    }
  },

  async down(db) {
    for (const table of TABLES) {
      await db.schema.createIndex(`${table}_family_id_idx`).on(table).column('family_id').execute();
    }
  },
};
