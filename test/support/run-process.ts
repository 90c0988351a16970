/**
 * Run a command to completion without blocking the test worker's event loop. `spawnSync` would: a CLI test that
 * waits synchronously on a tsx child for tens of seconds (as it can on a loaded machine) starves vitest's worker
 * RPC, and the run fails on "Timeout calling onTaskUpdate" although every assertion passed.
 */
import { spawn } from 'node:child_process';

export interface ProcessResult {
  /** Exit code, or null when a signal (the timeout included) ended it. */
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the command could not be started at all (e.g. not on PATH). */
  readonly error?: Error;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed. */
  readonly input?: string;
  /** SIGKILL after this long; the result then has signal 'SIGKILL'. */
  readonly timeoutMs?: number;
}

export function runProcess(command: string, args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let error: Error | undefined;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdin.on('error', () => undefined); // a child that exits without reading its input
    child.stdin.end(options.input ?? '');
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', (e) => {
      error = e;
      if (child.pid === undefined) resolve({ status: null, signal: null, stdout, stderr, error }); // never started: no 'close' to wait for
    });
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, ...(error ? { error } : {}) });
    });
  });
}
