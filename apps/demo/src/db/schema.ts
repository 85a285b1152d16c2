import type { Generated, Insertable, Selectable } from 'kysely';

/**
 * The demo's own tables, next to Portcullis's `portcullis_*` tables in the same database.
 * Times are integer milliseconds since the epoch (UTC), which SQLite, MySQL and PostgreSQL store
 * alike; PostgreSQL's driver reads a `bigint` back as a string, so readers pass them to Number().
 */
export interface DemoDatabase {
  demo_users: DemoUserTable;
  demo_polls: DemoPollTable;
  demo_choices: DemoChoiceTable;
  demo_votes: DemoVoteTable;
  demo_sessions: DemoSessionTable;
}

export interface DemoUserTable {
  id: string;
  username: string;
  /** `scrypt$N$r$p$salt$hash`: see passwords.ts. */
  password_hash: string;
  is_admin: number;
  created_at: number;
  /** Shown to OpenID Connect clients granted `email`; null when unknown. */
  email: string | null;
  /** The full name OpenID Connect clients granted `profile` see; null: the username stands in. */
  name: string | null;
}

export interface DemoPollTable {
  id: Generated<number>;
  question: string;
  created_at: number;
}

export interface DemoChoiceTable {
  id: Generated<number>;
  poll_id: number;
  label: string;
  position: number;
}

export interface DemoVoteTable {
  poll_id: number;
  user_id: string;
  choice_id: number;
  client_id: string;
  created_at: number;
}

/** Browser sessions (login, CSRF, a pending authorization), so a restart keeps people logged in. */
export interface DemoSessionTable {
  id: string;
  data: string;
  expires_at: number;
}

export type DemoUserRow = Selectable<DemoUserTable>;
export type NewDemoUser = Insertable<DemoUserTable>;
export type DemoPollRow = Selectable<DemoPollTable>;
export type DemoChoiceRow = Selectable<DemoChoiceTable>;
