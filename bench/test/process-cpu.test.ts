import { test } from 'tap';
import { parseProcStatCpuMicros, readProcessCpuMicros, readThreadCpuMicros } from '../src/process-cpu.js';

test('utime and stime are read after the last parenthesis of the command name', async (t) => {
  // Fields as /proc/<pid>/stat gives them; utime 1234 and stime 56 ticks, at 100 ticks a second.
  const tail = 'S 1 1 1 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 30 0 500 0 0';
  t.equal(parseProcStatCpuMicros(`42 (mariadbd) ${tail}`), 12_900_000);
  t.equal(parseProcStatCpuMicros(`42 (odd) name (x)) ${tail}`), 12_900_000, 'a name holding spaces and parentheses');
  t.equal(parseProcStatCpuMicros('42 mariadbd S 1 1'), null, 'no parenthesis');
  t.equal(parseProcStatCpuMicros('42 (mariadbd) S 1 1 1'), null, 'too few fields');
  t.equal(parseProcStatCpuMicros(`42 (mariadbd) ${tail.replace('1234', 'x')}`), null, 'not a number');
});

test("this process's own CPU time is read, and grows with work", { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const before = readProcessCpuMicros(process.pid);
  t.type(before, 'number');
  const until = Date.now() + 60;
  while (Date.now() < until) Math.sqrt(Math.random());
  const after = readProcessCpuMicros(process.pid)!;
  t.ok(after > before!, `${before} -> ${after}`);
  t.equal(readProcessCpuMicros(2 ** 30), null, 'no such process');
});

test('a worker thread shows in the process but not in its main thread', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const { Worker } = await import('node:worker_threads');
  const processBefore = readProcessCpuMicros(process.pid)!;
  const mainBefore = readThreadCpuMicros(process.pid, process.pid)!;
  // 300 ms of busy work on another thread while this one sleeps.
  const worker = new Worker('const until = Date.now() + 300; while (Date.now() < until) Math.sqrt(Math.random());', { eval: true });
  await new Promise((resolve) => worker.once('exit', resolve));
  const offMain = readProcessCpuMicros(process.pid)! - processBefore - (readThreadCpuMicros(process.pid, process.pid)! - mainBefore);
  t.ok(offMain >= 200_000, `the worker's time is off the main thread: ${offMain} us`);
  t.equal(readThreadCpuMicros(process.pid, 2 ** 30), null, 'no such thread');
});

test("a process's reaped children's time is added when asked for", async (t) => {
  // utime 1234, stime 56, cutime 7 and cstime 3 ticks.
  const stat = '42 (postgres) S 1 1 1 0 -1 4194560 100 0 0 0 1234 56 7 3 20 0 30 0 500 0 0';
  t.equal(parseProcStatCpuMicros(stat), 12_900_000);
  t.equal(parseProcStatCpuMicros(stat, { reapedChildren: true }), 13_000_000);
});
