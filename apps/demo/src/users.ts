import { generateId } from '@portcullis/core';
import type { DemoDb } from './db/database.js';
import type { DemoUserRow } from './db/schema.js';
import { getDecoyHash, hashPassword, verifyPassword } from './passwords.js';

export interface DemoUser {
  id: string;
  username: string;
  isAdmin: boolean;
  createdAt: Date;
  email: string | null;
  name: string | null;
}

/** Usernames as Django's: letters, digits and @ . + - _, 1 to 150 characters. */
const USERNAME = /^[\w.@+-]{1,150}$/;

export class UserInputError extends Error {
  override name = 'UserInputError';
}

function toUser(row: DemoUserRow): DemoUser {
  return {
    id: row.id,
    username: row.username,
    isAdmin: Number(row.is_admin) === 1,
    createdAt: new Date(Number(row.created_at)),
    email: row.email ?? null,
    name: row.name ?? null,
  };
}

export async function createUser(
  db: DemoDb,
  input: { username: string; password: string; isAdmin?: boolean; email?: string; name?: string },
  now = new Date(),
): Promise<DemoUser> {
  if (!USERNAME.test(input.username)) {
    throw new UserInputError('a username is 1 to 150 letters, digits or @ . + - _');
  }
  if (input.password.length < 8) throw new UserInputError('a password has at least 8 characters');
  if (input.email !== undefined && !/^[^\s@]{1,64}@[^\s@]{1,189}$/.test(input.email)) throw new UserInputError('an email address is name@domain');
  if (input.name !== undefined && (input.name.trim() === '' || input.name.length > 200)) throw new UserInputError('a name is 1 to 200 characters');
  if (await findUserByUsername(db, input.username)) {
    throw new UserInputError(`the username ${JSON.stringify(input.username)} is taken`);
  }
  const row: DemoUserRow = {
    id: generateId(),
    username: input.username,
    password_hash: await hashPassword(input.password),
    is_admin: input.isAdmin ? 1 : 0,
    created_at: now.getTime(),
    email: input.email ?? null,
    name: input.name?.trim() ?? null,
  };
  await db.insertInto('demo_users').values(row).execute();
  return toUser(row);
}

export async function findUserByUsername(db: DemoDb, username: string): Promise<DemoUser | null> {
  const row = await db.selectFrom('demo_users').selectAll().where('username', '=', username).executeTakeFirst();
  return row ? toUser(row) : null;
}

export async function findUserById(db: DemoDb, id: string): Promise<DemoUser | null> {
  const row = await db.selectFrom('demo_users').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toUser(row) : null;
}

/**
 * The OpenID Connect claims of a user (Core 1.0 section 5.1), or null when the account is gone:
 * the core hands clients those their scopes allow.
 */
export async function findAccountClaims(db: DemoDb, id: string): Promise<Record<string, unknown> | null> {
  const user = await findUserById(db, id);
  if (!user) return null;
  return {
    preferred_username: user.username,
    name: user.name ?? user.username,
    // The demo never checks addresses: a client must not treat this one as proven.
    ...(user.email === null ? {} : { email: user.email, email_verified: false }),
  };
}

export async function listUsers(db: DemoDb): Promise<DemoUser[]> {
  const rows = await db.selectFrom('demo_users').selectAll().orderBy('username').execute();
  return rows.map(toUser);
}

export async function countUsers(db: DemoDb): Promise<number> {
  const row = await db.selectFrom('demo_users').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * The user whose password this is, or null. An unknown username still costs one scrypt, so the
 * answer's timing does not tell which usernames exist.
 */
export async function verifyUserCredentials(db: DemoDb, username: string, password: string): Promise<DemoUser | null> {
  const row = await db.selectFrom('demo_users').selectAll().where('username', '=', username).executeTakeFirst();
  if (!row) {
    await verifyPassword(password, await getDecoyHash());
    return null;
  }
  return (await verifyPassword(password, row.password_hash)) ? toUser(row) : null;
}
