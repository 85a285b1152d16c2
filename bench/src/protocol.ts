/**
 * The messages the orchestrator exchanges with its two kinds of child process over fork IPC.
 * Kept in one file so both sides agree on the shapes.
 */

/** Where a Portcullis server keeps its rows: a database through Kysely, or core's `MemoryStorage` (peers only). */
export type Store = 'mysql' | 'sqlite' | 'postgres' | 'memory';

/**
 * The servers of `pnpm bench:peers`, by scenario: `-cc` and `-post` serve client_credentials (a
 * form POST), `-get` a protected GET. `bare-db-*` are bare routes doing a database's least work.
 */
export const PEER_TARGETS = [
  'bare-post',
  'bare-db-post',
  'oidc-provider-cc',
  'oauth2-server-cc',
  'portcullis-cc',
  'bare-get',
  'bare-db-get',
  'oidc-provider-get',
  'oauth2-server-get',
  'portcullis-get',
] as const;
export type PeerTargetId = (typeof PEER_TARGETS)[number];

/** Whether a peers target is loaded with the client_credentials POST (else the protected GET). */
export function isPeerPostTarget(target: PeerTargetId): boolean {
  return target.endsWith('-cc') || target.endsWith('-post');
}

/** B* are bare-Fastify baselines, S* are Portcullis scenarios; the peers' targets are named. */
export type TargetId = 'B0' | 'B1' | 'B2' | 'B3' | 'B3S' | 'S1' | 'S2' | 'S3' | 'S4' | 'S5' | 'S6' | 'S7' | 'S8' | PeerTargetId;

export function isPeerTarget(id: TargetId): id is PeerTargetId {
  return (PEER_TARGETS as readonly string[]).includes(id);
}

/** What a server child is told to serve, through the BENCH_SERVER_SPEC environment variable. */
export interface ServerSpec {
  target: TargetId;
  /** Null for B0 and B1, which touch no database. */
  store: Store | null;
  mysqlUrl: string;
  postgresUrl: string;
  sqlitePath: string;
  /** Where the server writes the credentials the load generator needs. */
  fixturesFile: string;
  /** Connections the load generator will open: one token/credential chain per connection. */
  connections: number;
  /** S2 only: how many live access tokens to keep in storage (the scale mode's million). */
  liveTokens: number;
  /** Where to write a CPU profile of the measured rounds, or null for none. */
  profileFile: string | null;
  /** Where to write a sampling heap profile of the measured windows, or null for none. */
  heapProfileFile: string | null;
}

export type ToServer =
  | { type: 'prepare'; count: number }
  | { type: 'begin' }
  | { type: 'end' }
  | { type: 'stop' };

export interface ServerSample {
  /** process.cpuUsage() user + system, in microseconds, over the window. */
  cpuMicros: number;
  /** The part of it spent off the main thread (collector helpers, libuv's pool); null off Linux. */
  offMainThreadCpuMicros: number | null;
  /** HTTP requests the server saw in the window. */
  requests: number;
  /** Database statements (including BEGIN/COMMIT) issued in the window. */
  queries: number;
  /** The same statements by shape (cut before their first literal). */
  statements: Record<string, number>;
  /** Event-loop delay percentiles over the window, in milliseconds. */
  eventLoopP99Ms: number;
  eventLoopMaxMs: number;
  rssBytes: number;
  /** Of which V8's young generation, resident (see probe.ts). */
  youngGenerationBytes: number;
}

export type FromServer =
  | { type: 'ready'; port: number; rssBytes: number }
  | { type: 'prepared'; count: number }
  | { type: 'begun'; rssBytes: number }
  | ({ type: 'ended' } & ServerSample)
  | { type: 'failed'; message: string };

/** One autocannon run, as the load child is asked to do it. */
export interface LoadJob {
  id: number;
  target: TargetId;
  url: string;
  connections: number;
  /** Seconds; ignored when `amount` is set. */
  duration: number;
  /** Total requests, however long they take: the smoke test counts answers, not seconds. */
  amount?: number;
  /** At most this many requests (S5: the codes issued, each redeemed once); the run still ends at its duration. */
  maxRequests?: number;
  /** Requests per second over all connections: the fixed-rate latency run. */
  overallRate?: number;
  fixturesFile: string;
}

export interface LoadSummary {
  requests: number;
  durationSeconds: number;
  requestsPerSecond: number;
  status2xx: number;
  statusNon2xx: number;
  /** Counts by status code, for the report of unexpected answers. */
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyP999Ms: number;
  /** One response body of an unexpected status, to say what went wrong. */
  sampleFailure: string | null;
  /** The load child's own CPU time over the run (user + system), in microseconds. */
  cpuMicros: number;
}

export type ToLoad = { type: 'run'; job: LoadJob } | { type: 'stop' };
export type FromLoad =
  | { type: 'result'; id: number; summary: LoadSummary }
  | { type: 'error'; id: number; message: string };

/** Credentials and inputs a server child hands the load child, as JSON in `fixturesFile`. */
export interface Fixtures {
  clientId?: string;
  clientSecret?: string;
  accessTokens?: string[];
  refreshTokens?: string[];
  codes?: { code: string; verifier: string; redirectUri: string }[];
  /** `origin` is the server's issuer: OAuth 1.0a requests are signed for it, not for the address they reach. */
  oauth1?: { consumerKey: string; consumerSecret: string; token: string; tokenSecret: string; origin: string };
  username?: string;
  password?: string;
  /** Rows a baseline route may look up by primary key: ids 1..rowCount. */
  rowCount?: number;
  /** The peers' token endpoint and protected route: each server has its own paths. */
  tokenPath?: string;
  resourcePath?: string;
}
