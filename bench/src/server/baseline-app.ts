import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import mysql from 'mysql2';
import pg from 'pg';
import { BASELINE_ROWS } from '../database-setup.js';
import type { Fixtures, ServerSpec } from '../protocol.js';
import { createBenchFastify } from './common-plugins.js';

/**
 * The yardsticks: bare routes doing the least an endpoint of their kind can do. B2 and B3 go to the
 * same database as the scenario they are compared with, through the same driver.
 */
export interface BaselineServer {
  app: FastifyInstance;
  fixtures: Fixtures;
  close(): Promise<void>;
}

export interface BaselineDatabase {
  selectItem(id: number): Promise<unknown>;
  insertEvent(payload: string): Promise<void>;
  close(): Promise<void>;
}

export async function createBaselineServer(spec: ServerSpec): Promise<BaselineServer> {
  const app = await createBenchFastify();
  const database = spec.store === null ? null : openBaselineDatabase(spec);

  app.get('/b0', async () => ({ ok: true }));
  app.post('/b1', async (request) => ({ ok: true, fields: Object.keys(request.body as object).length }));

  if (database !== null) {
    app.get('/b2', async (request, reply) => {
      const id = Number((request.query as { id?: string }).id);
      const row = await database.selectItem(id);
      if (row === undefined) return reply.code(404).send({ error: 'not_found' });
      return row;
    });
    app.post('/b3', async (request) => {
      await database.insertEvent(String((request.body as { payload?: string }).payload));
      return { ok: true };
    });
    // S1's yardstick: a client_credentials grant reads the client, then writes a token.
    app.post('/b3s', async (request, reply) => {
      const row = await database.selectItem(randomItemId());
      if (row === undefined) return reply.code(404).send({ error: 'not_found' });
      await database.insertEvent(String((request.body as { payload?: string }).payload));
      return { ok: true };
    });
  }

  return {
    app,
    fixtures: { rowCount: BASELINE_ROWS },
    close: async () => {
      await app.close();
      await database?.close();
    },
  };
}

/** One of the seeded rows, at random. */
export function randomItemId(): number {
  return 1 + Math.floor(Math.random() * BASELINE_ROWS);
}

/** Connections of a baseline's pool: createDatabase's default, on either server. */
const POOL_SIZE = 10;

/** The yardsticks' database work, through the driver the store of `spec.store` uses. */
export function openBaselineDatabase(spec: ServerSpec): BaselineDatabase {
  const createdAt = (): Date => new Date();
  const eventId = (): string => randomBytes(16).toString('base64url');
  if (spec.store === 'postgres') {
    // A pg pool sent parameterized queries, as Kysely's PostgreSQL driver does.
    const pool = new pg.Pool({ connectionString: spec.postgresUrl, max: POOL_SIZE });
    return {
      selectItem: async (id) => (await pool.query('SELECT id, name, created_at FROM bench_items WHERE id = $1', [id])).rows[0],
      insertEvent: async (payload) => {
        await pool.query('INSERT INTO bench_events (id, payload, created_at) VALUES ($1, $2, $3)', [eventId(), payload, createdAt()]);
      },
      close: () => pool.end(),
    };
  }
  if (spec.store === 'mysql') {
    // mysql2's callback pool, sent plain queries, as Kysely's MySQL driver does.
    const pool = mysql.createPool({ uri: spec.mysqlUrl, connectionLimit: POOL_SIZE });
    const run = (sql: string, values: unknown[]): Promise<unknown> =>
      new Promise((resolve, reject) => {
        pool.query(sql, values, (error, rows) => (error ? reject(error) : resolve(rows)));
      });
    return {
      selectItem: async (id) => {
        const rows = (await run('SELECT id, name, created_at FROM bench_items WHERE id = ?', [id])) as unknown[];
        return rows[0];
      },
      insertEvent: async (payload) => {
        await run('INSERT INTO bench_events (id, payload, created_at) VALUES (?, ?, ?)', [eventId(), payload, createdAt()]);
      },
      close: () => new Promise((resolve) => pool.end(() => resolve())),
    };
  }
  const db = new Database(spec.sqlitePath);
  // The store's own settings (createDatabase), so the yardstick pays the same durability.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const select = db.prepare('SELECT id, name, created_at FROM bench_items WHERE id = ?');
  const insert = db.prepare('INSERT INTO bench_events (id, payload, created_at) VALUES (?, ?, ?)');
  return {
    selectItem: async (id) => select.get(id),
    insertEvent: async (payload) => {
      insert.run(eventId(), payload, createdAt().toISOString());
    },
    close: async () => {
      db.close();
    },
  };
}
