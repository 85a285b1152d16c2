import { once } from 'node:events';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ChildChannel } from '../src/child-channel.js';
import type { FromLoad, LoadJob, ToLoad } from '../src/protocol.js';

const LOAD_MODULE = fileURLToPath(new URL('../src/load/main.ts', import.meta.url));

t.test('the load child ends a run at its duration, or at its count', async (t) => {
  let answered = 0;
  const server = createServer((_request, response) => {
    answered += 1;
    response.end('ok');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const dir = await mkdtemp(join(tmpdir(), 'bench-load-'));
  const fixturesFile = join(dir, 'fixtures.json');
  await writeFile(fixturesFile, '{}');
  const load = new ChildChannel<ToLoad, FromLoad>(LOAD_MODULE, { execArgv: ['--import=tsx'] });
  t.teardown(async () => {
    load.send({ type: 'stop' });
    server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The child's start-up comes first; a run that never ends fails at the 30 s timeout.
  const run = async (limits: Pick<LoadJob, 'amount' | 'maxRequests'>, id: number) => {
    answered = 0;
    const { summary } = await load.request(
      { type: 'run', job: { id, target: 'B0', url, connections: 2, duration: 1, fixturesFile, ...limits } },
      'result',
      30_000,
    );
    return { summary, answered };
  };

  // A ceiling far above what a second can take: the run must end at its second, not at the ceiling.
  const capped = await run({ maxRequests: 100_000_000 }, 1);
  // With autocannon sampling once a second, the stop waited for the next sample: 2.0 s.
  t.ok(
    capped.summary.durationSeconds >= 1 && capped.summary.durationSeconds < 1.7,
    `the last answer came soon after the duration (${capped.summary.durationSeconds.toFixed(2)} s)`,
  );
  t.ok(capped.summary.requests > 0 && capped.summary.requests < 100_000_000, 'it stopped short of the ceiling');
  // Answers still in flight when it stopped (one per connection at most) go uncounted.
  const uncounted = capped.answered - capped.summary.requests;
  t.ok(uncounted >= 0 && uncounted <= 2, `and counted what the server answered (${uncounted} in flight)`);

  // A count small enough to be reached: exactly that many, however long the second would be.
  const counted = await run({ amount: 10 }, 2);
  t.equal(counted.summary.requests, 10);
  t.equal(counted.answered, 10);

  // A ceiling reached before the duration ends the run there too.
  const short = await run({ maxRequests: 10 }, 3);
  t.equal(short.summary.requests, 10);
  t.equal(short.answered, 10);
});
