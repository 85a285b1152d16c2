import { subscribe } from 'node:diagnostics_channel';
import { createRequire } from 'node:module';

/**
 * Counts the database statements a server process sends, so queries per request are measured and
 * not guessed. mysql2 publishes every `query` and `execute` on diagnostics channels, which reach
 * us whichever copy of mysql2 the store loaded. better-sqlite3 and pg have no such channel, so
 * better-sqlite3's statement methods and pg's `Client#query` (which its pool and Kysely's
 * PostgreSQL driver both call) are wrapped on prototypes shared by every database of this process
 * (the store and the bench resolve the same package folders under pnpm).
 */
let queryCount = 0;
let installed = false;
/** Statements by shape (cut before their literals), so a report can say which query repeats. */
const statements = new Map<string, number>();

/**
 * The statement up to its first literal (mysql2 inlines the values) or its VALUES list: enough
 * to tell the queries of the code apart, and cheap, since it runs in the measured process.
 */
const LITERAL = /'|[=<>,(]\s*-?\d/;

function describeStatement(sql: string): string {
  // Only the head is looked at: a CALL or an INSERT carries its values inline, and copying or
  // scanning all of it per statement would be bench work billed to the target.
  const head = sql.slice(0, 120);
  let end = head.length;
  const literal = head.search(LITERAL);
  if (literal >= 0) end = literal + 1;
  const values = head.toLowerCase().indexOf(' values');
  if (values >= 0 && values < end) end = values;
  return head.slice(0, end).trim();
}

function countStatement(sql: unknown): void {
  queryCount += 1;
  const shape = typeof sql === 'string' ? describeStatement(sql) : '(unknown)';
  statements.set(shape, (statements.get(shape) ?? 0) + 1);
}

/**
 * SQLite statements keep their placeholders, so their text is their shape. Their `source` is a
 * native getter that copies the text, and a long text is hashed again at every Map lookup, so
 * each statement object is given its shape's counter once.
 */
const sqliteCounters = new WeakMap<object, { count: number }>();
const sqliteCountersByShape = new Map<string, { count: number }>();

function countSqliteStatement(statement: { source?: unknown }): void {
  queryCount += 1;
  let counter = sqliteCounters.get(statement);
  if (counter === undefined) {
    const shape = typeof statement.source === 'string' ? statement.source : '(unknown)';
    counter = sqliteCountersByShape.get(shape);
    if (counter === undefined) sqliteCountersByShape.set(shape, (counter = { count: 0 }));
    sqliteCounters.set(statement, counter);
  }
  counter.count += 1;
}

export function installQueryCounter(): void {
  if (installed) return;
  installed = true;
  const count = (message: unknown): void => countStatement((message as { query?: unknown }).query);
  subscribe('tracing:mysql2:query:start', count);
  subscribe('tracing:mysql2:execute:start', count);
  wrapSqliteStatements();
  wrapPostgresQueries();
}

export function readQueryCount(): number {
  return queryCount;
}

export function readStatementCounts(): Map<string, number> {
  const counts = new Map(statements);
  for (const [shape, { count }] of sqliteCountersByShape) {
    if (count > 0) counts.set(shape, (counts.get(shape) ?? 0) + count);
  }
  return counts;
}

function wrapSqliteStatements(): void {
  const require = createRequire(import.meta.url);
  let Database: new (path: string) => { prepare(sql: string): object; close(): void };
  try {
    Database = require('better-sqlite3') as typeof Database;
  } catch {
    return;
  }
  const probe = new Database(':memory:');
  const statementPrototype = Object.getPrototypeOf(probe.prepare('select 1')) as Record<string, unknown>;
  probe.close();
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = statementPrototype[method];
    if (typeof original !== 'function') continue;
    statementPrototype[method] = function countedStatement(this: { source?: unknown }, ...args: unknown[]) {
      countSqliteStatement(this);
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
}

function wrapPostgresQueries(): void {
  const require = createRequire(import.meta.url);
  let Client: { prototype: Record<string, unknown> };
  try {
    Client = (require('pg') as { Client: typeof Client }).Client;
  } catch {
    return;
  }
  const original = Client.prototype.query as (...args: unknown[]) => unknown;
  // A query is a text or a config object holding one (`{ text, values }`).
  Client.prototype.query = function countedQuery(this: unknown, ...args: unknown[]) {
    const query = args[0];
    countStatement(typeof query === 'string' ? query : (query as { text?: unknown } | null)?.text);
    return original.apply(this, args);
  };
}
