import type { TargetResult } from './measure-target.js';
import type { TargetCheck } from './targets.js';

/**
 * A run's exit status: 1 when a target did not answer as expected (no responses, or the wrong
 * status), 2 when a full run missed a target, 0 otherwise. `--quick` judges no figure.
 */
export function exitStatus(results: readonly TargetResult[], checks: readonly TargetCheck[], quick: boolean, seconds: string): number {
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) {
    console.error(`FAILED: ${failed.map((r) => r.key).join(', ')} did not answer as expected (${seconds} s)`);
    return 1;
  }
  const missed = checks.filter((c) => c.pass === false);
  if (!quick && missed.length > 0) {
    console.error(`${missed.length} target(s) missed: ${missed.map((c) => `${c.name} [${c.store ?? ''}]`).join('; ')} (${seconds} s)`);
    return 2;
  }
  console.log(`done in ${seconds} s`);
  return 0;
}

/** Runs a command's main: its result is the process's exit status, and a throw exits 1 with its stack. */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exitCode = 1;
    },
  );
}
