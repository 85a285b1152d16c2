import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'tap';
import { EVENT_LOOP_RESOLUTION_MS, eventLoopDelayMs } from '../src/server/probe.js';

test("the event-loop delay is the timer's interval less its resolution", async (t) => {
  t.equal(eventLoopDelayMs(25e6), 15, 'a run 15 ms late');
  t.equal(eventLoopDelayMs(10e6), 0, 'on time');
  t.equal(eventLoopDelayMs(9.2e6), 0, 'a little early is not negative');
});

test("Node's histogram holds whole intervals, resolution included", async (t) => {
  // What the subtraction rests on: an idle loop's timer runs every resolution, so the
  // histogram's least value is about the resolution itself, not about zero.
  const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  histogram.enable();
  await sleep(200);
  histogram.disable();
  t.ok(histogram.count > 5, `${histogram.count} intervals recorded`);
  t.ok(histogram.min / 1e6 > EVENT_LOOP_RESOLUTION_MS * 0.8, `least interval ${histogram.min / 1e6} ms`);
});
