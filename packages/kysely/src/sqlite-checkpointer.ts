import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the worker folds the write-ahead log back into the database file. */
const DEFAULT_INTERVAL_MS = 200;
/** SQLite's own default, restored if the worker cannot do the job. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;
const STOP_TIMEOUT_MS = 2000;

/** The part of a better-sqlite3 handle the checkpointer needs. */
interface PragmaTarget {
  pragma(source: string): unknown;
}

/**
 * Runs in the worker, as CommonJS (`eval`), so it needs no file of its own beside the compiled
 * package and works the same under tsx. It opens its own connection to the same file.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driverPath);
const db = new Database(workerData.path, { timeout: workerData.busyTimeout });
const timer = setInterval(() => {
  // PASSIVE never waits for readers or writers: it copies what it can and tries again later.
  db.pragma('wal_checkpoint(PASSIVE)');
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  // The main thread waits on this flag: its own close must come last, to remove the log.
  Atomics.store(workerData.closed, 0, 1);
  Atomics.notify(workerData.closed, 0);
  parentPort.close();
});
`;

export interface SqliteCheckpointer {
  /**
   * Closes the worker's connection and stops it, waiting (synchronously, at most two seconds) for
   * the connection to close: the request connection, closed next, is then the last one, which
   * checkpoints and removes the log, as a database closed without a worker would.
   */
  stop(): void;
}

/**
 * Moves WAL checkpoints off the event loop. SQLite checkpoints from inside the COMMIT that
 * crosses `wal_autocheckpoint` pages, and a checkpoint copies pages into the database file and
 * fsyncs it: on the event loop that was most of a token write's cost (a commit that checkpoints
 * takes milliseconds). Here the request connection never checkpoints and a worker thread does it
 * on a timer. If the worker fails, the connection goes back to checkpointing itself, so the log
 * never grows without bound.
 */
export function startSqliteCheckpointer(
  database: PragmaTarget,
  path: string,
  options: { busyTimeout: number; intervalMs?: number },
): SqliteCheckpointer {
  const driverPath = createRequire(import.meta.url).resolve('better-sqlite3');
  const closed = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { driverPath, path, closed, busyTimeout: options.busyTimeout, intervalMs: options.intervalMs ?? DEFAULT_INTERVAL_MS },
  });
  // The worker must not keep an application alive that forgot to destroy its database.
  worker.unref();
  let stopping = false;
  let exited = false;
  const fallBack = (): void => {
    if (stopping) return;
    try {
      database.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
    } catch {
      // The connection is closed already: nothing left to checkpoint for.
    }
  };
  worker.on('error', fallBack);
  worker.on('exit', () => {
    exited = true;
    fallBack();
  });
  database.pragma('wal_autocheckpoint = 0');

  return {
    stop() {
      if (stopping) return;
      stopping = true;
      if (exited) return;
      worker.postMessage('stop');
      if (Atomics.wait(closed, 0, 0, STOP_TIMEOUT_MS) === 'timed-out') void worker.terminate();
    },
  };
}
