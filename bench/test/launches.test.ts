import t from 'tap';
import { planLaunches } from '../src/load/launches.js';

t.test('a job without a rate is one instance, as fast as its connections go', async (t) => {
  t.same(planLaunches({ connections: 32, duration: 3 }), [
    { connections: 32, rate: undefined, amount: undefined, stopAtDuration: false, delayMs: 0, duration: 3, sampleIntervalMs: 1000 },
  ]);
  t.same(planLaunches({ connections: 32, duration: 3, amount: 500 }), [
    { connections: 32, rate: undefined, amount: 500, stopAtDuration: false, delayMs: 0, duration: 3, sampleIntervalMs: 1000 },
  ]);
});

t.test('a ceiling on requests is passed as the amount, and the run is still stopped at its duration', async (t) => {
  t.same(planLaunches({ connections: 32, duration: 3, maxRequests: 500 }), [
    { connections: 32, rate: undefined, amount: 500, stopAtDuration: true, delayMs: 0, duration: 3, sampleIntervalMs: 100 },
  ], 'sampled often enough to end within a tenth of a second of its duration');
  const paced = planLaunches({ connections: 3, overallRate: 300, duration: 2, maxRequests: 10 });
  t.same(paced.map((l) => l.amount), [4, 3, 3], 'shared as a count is');
  t.ok(paced.every((l) => l.stopAtDuration), 'every instance stops at its end');
  const counted = planLaunches({ connections: 3, duration: 2, amount: 10, maxRequests: 500 });
  t.same(counted.map((l) => [l.amount, l.stopAtDuration]), [[10, false]], 'a count wins: the smoke test waits for its answers');
});

t.test('a fixed-rate job is one connection per instance, started at even steps over a second, ending together', async (t) => {
  const launches = planLaunches({ connections: 4, overallRate: 1002, duration: 2 });
  t.equal(launches.length, 4, 'one instance per connection');
  t.same(launches.map((l) => l.connections), [1, 1, 1, 1]);
  t.same(launches.map((l) => l.rate), [251, 251, 250, 250], 'the rate shared in whole requests');
  t.equal(launches.reduce((sum, l) => sum + (l.rate ?? 0), 0), 1002, 'and none lost');
  t.same(launches.map((l) => l.delayMs), [0, 250, 500, 750], 'started a quarter second apart');
  t.same(launches.map((l) => l.delayMs / 1000 + l.duration), [2, 2, 2, 2], 'all end with the job');
  t.ok(launches.every((l) => l.sampleIntervalMs === 100), 'sampled often enough to stop on time');
});

t.test('counted jobs share their count; fewer instances when the rate or count is below the connections', async (t) => {
  const counted = planLaunches({ connections: 3, overallRate: 300, duration: 2, amount: 10 });
  t.same(counted.map((l) => l.amount), [4, 3, 3]);
  const slow = planLaunches({ connections: 8, overallRate: 5.6, duration: 2 });
  t.equal(slow.length, 5, 'no instance is given a rate of zero');
  t.ok(slow.every((l) => l.rate === 1));
  const few = planLaunches({ connections: 8, overallRate: 100, duration: 2, amount: 2 });
  t.same(few.map((l) => l.amount), [1, 1], 'no instance is given nothing to send');
  t.same(planLaunches({ connections: 1, overallRate: 50, duration: 2 }).map((l) => l.rate), [50], 'one connection is one instance');
  const short = planLaunches({ connections: 4, overallRate: 100, duration: 0.4 });
  t.same(short.map((l) => l.delayMs), [0, 100, 200, 300], 'a job under a second spreads its starts over its own length');
});
