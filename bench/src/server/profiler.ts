import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';

/**
 * A CPU profile of the measured rounds only. `--cpu-prof` would also record start-up, migrations
 * and seeding, which drown the request path; the inspector lets the server start the profiler at
 * the first measured round and stop it when told to stop.
 */
export class RoundProfiler {
  readonly #file: string;
  #session: Session | null = null;

  constructor(file: string) {
    this.#file = file;
  }

  async start(): Promise<void> {
    if (this.#session !== null) return;
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    // 250 us between samples: fine enough for requests that cost about a millisecond.
    await session.post('Profiler.setSamplingInterval', { interval: 250 });
    await session.post('Profiler.start');
    this.#session = session;
  }

  async stop(): Promise<void> {
    if (this.#session === null) return;
    const { profile } = await this.#session.post('Profiler.stop');
    this.#session.disconnect();
    this.#session = null;
    await writeFile(this.#file, JSON.stringify(profile));
  }
}
