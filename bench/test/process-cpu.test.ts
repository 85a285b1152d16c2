import { test } from 'tap';
import { parseProcStatCpuMicros, readProcessCpuMicros } from '../src/process-cpu.js';

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
