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
export function parseProcStatCpuMicros(stat: string, options: { reapedChildren?: boolean } = {}): number | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat.slice(close + 2).split(' ');
  // utime, stime, and with reapedChildren cutime and cstime (fields 16 and 17 of the line).
  const ticks = fields.slice(11, options.reapedChildren ? 15 : 13).map(Number);
  if (fields.length < 15 || !ticks.every(Number.isInteger)) return null;
  return (ticks.reduce((sum, tick) => sum + tick, 0) * 1_000_000) / USER_HZ;
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

/** Ids and command names of this machine's processes; empty off Linux. */
function* listProcesses(): Generator<{ pid: number; name: string }> {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      yield { pid: Number(entry), name: readFileSync(`/proc/${entry}/comm`, 'utf8').trim() };
    } catch {
      // Gone since the listing.
    }
  }
}

/**
 * The CPU time the local PostgreSQL server has used so far, in microseconds, or null when no
 * `postgres` process runs here. PostgreSQL serves each connection from a process of its own,
 * which a pool may end and open again within a round, so this is the sum over every `postgres`
 * process, with what the ones already gone used (the server's main process reaps them, and the
 * kernel adds their time to its children's).
 */
export function readPostgresCpuMicros(): number | null {
  let total: number | null = null;
  for (const { pid, name } of listProcesses()) {
    if (name !== 'postgres') continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const micros = parseProcStatCpuMicros(stat, { reapedChildren: true });
    if (micros !== null) total = (total ?? 0) + micros;
  }
  return total;
}

/**
 * The pid of the MariaDB or MySQL server on this machine, or null (not Linux, or no such process:
 * the database then runs elsewhere and its CPU is not this machine's to share).
 */
export function findDatabaseServerPid(): number | null {
  for (const { pid, name } of listProcesses()) {
    if (name === 'mariadbd' || name === 'mysqld') return pid;
  }
  return null;
}
