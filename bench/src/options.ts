import type { Store, TargetId } from './protocol.js';

export interface BenchOptions {
  quick: boolean;
  /**
   * S2 again with `scaleTokens` live tokens in MySQL and in PostgreSQL, against `liveTokens`: on by default in the
   * full suite, off with --no-scale, and off with --only unless --scale asks for it.
   */
  scale: boolean;
  /** The large side of the scale pair: a million in the full suite, enough to exercise it in --quick. */
  scaleTokens: number;
  /** CPU-profile the server children over their measured rounds and summarize where the time went. */
  profile: boolean;
  /** Sample what the server children allocate in their measured windows, in bytes per request. */
  heapProfile: boolean;
  stores: Store[];
  /** Only these targets (and nothing else); all when null. */
  only: Set<TargetId> | null;
  connections: number;
  warmupSeconds: number;
  rounds: number;
  roundSeconds: number;
  latencySeconds: number;
  /** Live access tokens issued for S2 and S3 to pick from. */
  liveTokens: number;
  /** Targets measured at once. One for real figures; the smoke test overlaps them to stay short. */
  lanes: number;
}

/** Every store, in the order their blocks run. */
export const STORES: readonly Store[] = ['mysql', 'sqlite', 'postgres'];

const USAGE = `usage: pnpm bench [--quick] [--no-scale|--scale] [--profile] [--heap-profile] [--store=mysql|sqlite|postgres] [--only=B0,S1,...]
  --quick     one short round per target, no targets enforced: checks that the suite works
  --no-scale  skip the scale pairs (S2 with 1,000,000 live tokens against 1,000, on MySQL and PostgreSQL)
  --scale     run the scale pair with --only too
  --profile   CPU-profile the servers over their measured rounds (bench/results/profiles)
  --heap-profile  what the servers allocate in their measured windows, freed objects included,
              in bytes per request (bench/results/profiles)
  --store     run the scenarios on these stores only (comma-separated)
  --only      run only the listed targets`;

export function parseOptions(argv: readonly string[]): BenchOptions {
  const options: BenchOptions = {
    quick: false,
    scale: true,
    scaleTokens: 1_000_000,
    profile: false,
    heapProfile: false,
    stores: [...STORES],
    only: null,
    connections: 32,
    warmupSeconds: 2,
    // Five, not three: on a shared machine one round in three can land on a busy moment, and
    // the median of five shrugs off two of them.
    rounds: 5,
    roundSeconds: 3,
    // Two, not three: what the scale pair costs (about a minute) had to come from somewhere to
    // keep the suite under ten minutes; two seconds at half the peak is still thousands of samples.
    latencySeconds: 2,
    liveTokens: 1000,
    lanes: 1,
  };
  let scale: boolean | null = null;
  for (const arg of argv) {
    if (arg === '--') continue;
    if (arg === '--quick') options.quick = true;
    else if (arg === '--scale') scale = true;
    else if (arg === '--no-scale') scale = false;
    else if (arg === '--profile') options.profile = true;
    else if (arg === '--heap-profile') options.heapProfile = true;
    else if (arg.startsWith('--store=')) {
      const stores = arg.slice('--store='.length).split(',').map((store) => store.trim());
      for (const store of stores) {
        if (!(STORES as readonly string[]).includes(store)) throw new Error(`unknown store '${store}'\n${USAGE}`);
      }
      // In the suite's order, whatever the order asked.
      options.stores = STORES.filter((store) => stores.includes(store));
    } else if (arg.startsWith('--only=')) {
      options.only = new Set(arg.slice('--only='.length).split(',').map((id) => id.trim().toUpperCase() as TargetId));
    } else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument '${arg}'\n${USAGE}`);
  }
  if (options.quick) {
    options.warmupSeconds = 0;
    options.rounds = 1;
    options.roundSeconds = 0.6;
    options.latencySeconds = 0.4;
    options.connections = 8;
    options.liveTokens = 20;
    // The seeding path (indexes dropped, rows generated, indexes rebuilt) in a second or two.
    options.scaleTokens = 10_000;
    options.lanes = 3;
  }
  options.scale = scale ?? options.only === null;
  return options;
}

const PEER_USAGE = `usage: pnpm bench:peers [--quick] [--profile]
  --quick    one short round per server, targets not judged: checks that the comparison works
  --profile  CPU-profile the servers over their measured rounds (bench/results/profiles)`;

/** `pnpm bench:peers`'s options: three rounds of every server, fifty connections. */
export function parsePeerOptions(argv: readonly string[]): BenchOptions {
  const options: BenchOptions = {
    quick: false,
    scale: false,
    scaleTokens: 0,
    profile: false,
    heapProfile: false,
    stores: [],
    only: null,
    connections: 50,
    warmupSeconds: 2,
    rounds: 3,
    roundSeconds: 3,
    latencySeconds: 2,
    // Below oidc-provider's memory adapter's capacity (an LRU of 1000 entries), so none is evicted.
    liveTokens: 500,
    lanes: 1,
  };
  for (const arg of argv) {
    if (arg === '--') continue;
    if (arg === '--quick') options.quick = true;
    else if (arg === '--profile') options.profile = true;
    else if (arg === '--help' || arg === '-h') {
      console.log(PEER_USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument '${arg}'\n${PEER_USAGE}`);
  }
  if (options.quick) {
    Object.assign(options, { warmupSeconds: 0, rounds: 1, roundSeconds: 0.6, latencySeconds: 0.4, connections: 8, liveTokens: 20, lanes: 3 });
  }
  return options;
}
