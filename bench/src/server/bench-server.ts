import type { Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Fixtures } from '../protocol.js';

/** What a server child serves, whatever framework drives it. */
export interface BenchServer {
  /** The Node server that answers: its requests are counted. */
  server: Server;
  /** Listens on an ephemeral loopback port. */
  listen(): Promise<void>;
  fixtures: Fixtures;
  /** S5: issues `count` fresh authorization codes and returns the fixtures with them. */
  prepare?(count: number): Promise<Fixtures>;
  close(): Promise<void>;
}

/** A Fastify application as a BenchServer. */
export function fromFastify(app: FastifyInstance, rest: Omit<BenchServer, 'server' | 'listen'>): BenchServer {
  return {
    server: app.server,
    listen: async () => {
      await app.listen({ host: '127.0.0.1', port: 0 });
    },
    ...rest,
  };
}
