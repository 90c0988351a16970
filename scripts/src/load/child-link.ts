/**
 * A bench:load child process (coordinator or participants) seen from the orchestrator: forked with the tsx
 * loader (and --expose-gc where memory is measured), commands sent over IPC, replies awaited by type with a
 * deadline. A child's 'error' message, an unexpected exit or a missed deadline rejects every pending wait
 * with a FedwardenError naming the child, so a broken run ends with a clear message instead of hanging.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FedwardenError, isErrorCode } from '@fedwarden/shared';
import { ipcMessage } from './ipc.ts';

type Waiter<Out> = {
  readonly type: string;
  readonly resolve: (msg: Out) => void;
  readonly reject: (err: FedwardenError) => void;
  readonly timer: NodeJS.Timeout;
};

/** The tsx loader, resolved from here so that children find it whatever their working directory. */
function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

export class ChildLink<In extends { readonly type: string }, Out extends { readonly type: string }> {
  private readonly child: ChildProcess;
  private readonly queue: Out[] = [];
  private waiters: Waiter<Out>[] = [];
  private failure: FedwardenError | undefined;
  private exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    entry: URL,
    known: readonly Out['type'][],
    options: { readonly exposeGc?: boolean; readonly execArgv?: readonly string[] } = {},
  ) {
    this.child = fork(fileURLToPath(entry), [], {
      execArgv: ['--import', tsxLoader(), ...(options.exposeGc ? ['--expose-gc'] : []), ...(options.execArgv ?? [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (raw: unknown) => {
      try {
        this.deliver(ipcMessage<Out>(raw, known));
      } catch (err) {
        this.failAll(err instanceof FedwardenError ? err : new FedwardenError('INTERNAL', String(err)));
      }
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.failAll(new FedwardenError('INTERNAL', `${name} exited (${signal ?? `code ${code}`}) while the bench waited for it`));
        resolve();
      });
    });
    this.child.once('error', (err) => this.failAll(new FedwardenError('INTERNAL', `${name}: ${err.message}`, { cause: err })));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  send(msg: In): void {
    if (this.failure) throw this.failure;
    this.child.send(msg);
  }

  /** The next message of `type` (earlier ones of other types stay queued). */
  next<T extends Out['type']>(type: T, timeoutMs: number): Promise<Extract<Out, { readonly type: T }>> {
    const i = this.queue.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0] as Extract<Out, { readonly type: T }>);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiter: Waiter<Out> = {
        type,
        resolve: resolve as (msg: Out) => void,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new FedwardenError('TIMEOUT', `${this.name}: no '${type}' within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /**
   * Let the child go: closing its IPC channel makes it exit (every bench child exits on 'disconnect'); kill it
   * (our own child, by its handle) if it has not exited in time.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.exitCode !== undefined) return;
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  private deliver(msg: Out): void {
    if (msg.type === 'error') {
      const { code, message } = msg as unknown as { code: string; message: string };
      this.failAll(new FedwardenError(isErrorCode(code) ? code : 'INTERNAL', `${this.name}: ${message}`));
      return;
    }
    const i = this.waiters.findIndex((w) => w.type === msg.type);
    if (i < 0) {
      this.queue.push(msg);
      return;
    }
    const [waiter] = this.waiters.splice(i, 1);
    clearTimeout(waiter!.timer);
    waiter!.resolve(msg);
  }

  private failAll(err: FedwardenError): void {
    this.failure ??= err;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.reject(this.failure);
    }
  }
}
