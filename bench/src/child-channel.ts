import { fork, type ChildProcess } from 'node:child_process';

/**
 * A forked child spoken to over IPC: each `request` sends a message and waits for the first answer
 * of the expected type, failing on a 'failed'/'error' message, on the child's exit, or on timeout.
 */
export class ChildChannel<ToChild extends object, FromChild extends { type: string }> {
  readonly #child: ChildProcess;
  #exited = false;
  #stderr = '';
  #waiters: ((message: FromChild | { type: 'exit'; code: number | null }) => void)[] = [];

  constructor(modulePath: string, options: { env?: NodeJS.ProcessEnv; execArgv?: string[] }) {
    this.#child = fork(modulePath, [], {
      env: options.env ?? process.env,
      execArgv: options.execArgv ?? [],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      // Keep the tail only: enough to explain a crash.
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4000);
    });
    this.#child.on('message', (message: FromChild) => this.#deliver(message));
    this.#child.on('exit', (code) => {
      this.#exited = true;
      this.#deliver({ type: 'exit', code });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  #deliver(message: FromChild | { type: 'exit'; code: number | null }): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter(message);
  }

  /** Waits for the next message of `type` (sending `message` first, if given). */
  request<T extends FromChild['type']>(
    message: ToChild | null,
    type: T,
    timeoutMs: number,
  ): Promise<Extract<FromChild, { type: T }>> {
    return new Promise((resolve, reject) => {
      if (this.#exited) {
        reject(new Error(`the child has exited${this.#describeStderr()}`));
        return;
      }
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`no '${type}' from the child within ${timeoutMs} ms${this.#describeStderr()}`));
      }, timeoutMs);
      const waiter = (answer: FromChild | { type: 'exit'; code: number | null }): void => {
        if (answer.type === type) {
          clearTimeout(timer);
          resolve(answer as Extract<FromChild, { type: T }>);
        } else if (answer.type === 'failed' || answer.type === 'error' || answer.type === 'exit') {
          clearTimeout(timer);
          const detail = 'message' in answer ? String(answer.message) : `exit code ${String((answer as { code: number | null }).code)}`;
          reject(new Error(`${detail}${this.#describeStderr()}`));
        } else {
          this.#waiters.push(waiter);
        }
      };
      this.#waiters.push(waiter);
      if (message !== null) this.#child.send(message);
    });
  }

  send(message: ToChild): void {
    if (!this.#exited) this.#child.send(message);
  }

  /** Waits for the child to exit, killing it (by its own pid) if it does not within `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<void> {
    if (this.#exited) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#child.kill('SIGKILL');
        resolve();
      }, timeoutMs);
      this.#child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #describeStderr(): string {
    return this.#stderr.trim() ? `\n--- child stderr (tail) ---\n${this.#stderr.trim()}` : '';
  }
}
