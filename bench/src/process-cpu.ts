import { readdirSync, readFileSync } from 'node:fs';

/**
 * Clock ticks per second of the times in /proc/<pid>/stat (USER_HZ): 100 on every Linux kernel
 * Node runs on. A 3 s round of a database at half a CPU is about 150 ticks, so a tick is under 1%.
 */
const USER_HZ = 100;

/**
 * User plus system time of a /proc/<pid>/stat line, in microseconds. The command name between
 * parentheses may hold spaces and parentheses itself, so the fields are counted from the last
 * `)`: utime and stime are fields 14 and 15 of the line, the 12th and 13th after the name.
 */
export function parseProcStatCpuMicros(stat: string): number | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat.slice(close + 2).split(' ');
  const user = Number(fields[11]);
  const system = Number(fields[12]);
  if (fields.length < 13 || !Number.isInteger(user) || !Number.isInteger(system)) return null;
  return ((user + system) * 1_000_000) / USER_HZ;
}

/** The CPU time process `pid` has used so far, in microseconds; null when it cannot be read. */
export function readProcessCpuMicros(pid: number): number | null {
  try {
    return parseProcStatCpuMicros(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * CPU time of thread `tid` of process `pid` so far, in microseconds; null when it cannot be read.
 * A process's main thread has the process's own id, so `pid`'s total less this is what its other
 * threads spent: V8's garbage-collector helpers, libuv's pool, a worker.
 */
export function readThreadCpuMicros(pid: number, tid: number): number | null {
  try {
    return parseProcStatCpuMicros(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * The pid of the MariaDB or MySQL server on this machine, or null (not Linux, or no such process:
 * the database then runs elsewhere and its CPU is not this machine's to share).
 */
export function findDatabaseServerPid(): number | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let name: string;
    try {
      name = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (name === 'mariadbd' || name === 'mysqld') return Number(entry);
  }
  return null;
}
