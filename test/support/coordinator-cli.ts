/**
 * The `fedwarden` CLI (coordinator/src/cli.ts) as a child process, for tests that need a real process to kill
 * and start again: start `fedwarden coordinator` with arguments (or `verify …`), wait (bounded, by the caller)
 * for the URL and key fingerprint it logs (JSON lines on stderr, at info whatever the config's logLevel), watch
 * it exit. Every child started here is remembered so that a test's cleanup can SIGKILL
 * whatever still runs (killCoordinatorClis).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'coordinator', 'src', 'cli.ts');

export interface CliExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface CliRun {
  readonly child: ChildProcess;
  /** Resolves with the URL and key fingerprint of the 'coordinator listening' log line; rejects if it exits first. */
  readonly ready: Promise<{ url: string; fingerprint: string }>;
  readonly exited: Promise<CliExit>;
  stdout(): string;
  stderr(): string;
}

const started: ChildProcess[] = [];

export function startCoordinatorCli(args: readonly string[]): CliRun {
  const command = args[0] === 'verify' ? args : ['coordinator', ...args, '--log-level', 'info', '--log-format', 'json'];
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...command], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let out = '';
  let err = '';
  const exited = new Promise<CliExit>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  const ready = new Promise<{ url: string; fingerprint: string }>((res, rej) => {
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
      const listening = /"host":"([^"]+)","port":(\d+),"fingerprint":"([0-9a-f]{64})"/.exec(err);
      if (listening?.[3]) res({ url: `ws://${listening[1]}:${listening[2]}`, fingerprint: listening[3] });
    });
    void exited.then(({ code, signal }) => rej(new Error(`coordinator exited (${code ?? signal}) before listening:\n${out}\n${err}`)));
  });
  ready.catch(() => undefined); // `verify` never listens; callers that wait for ready still see the rejection
  return { child, ready, exited, stdout: () => out, stderr: () => err };
}

/** SIGKILL every child started here that is still running. */
export function killCoordinatorClis(): void {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
