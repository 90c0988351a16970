/**
 * Harness for the fuzz suites: the seed (FEDWARDEN_FUZZ_SEED overrides it, so a failure replays exactly), a
 * failure that names the seed, suite, case and input, the check that a rejection is a FedwardenError with a
 * stable code from an allowed set, and heap measurement after a full GC.
 *
 * GC: vitest's workers run without --expose-gc; V8 can still expose `gc` at run time, in a fresh context
 * (the usual setFlagsFromString idiom), which is enough to read heapUsed after a full collection.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ERROR_CODES, FedwardenError, isErrorCode, type ErrorCode } from '@fedwarden/shared';
import { hex } from './fuzz-inputs.ts';

export const FUZZ_SEED = process.env.FEDWARDEN_FUZZ_SEED ? Number(process.env.FEDWARDEN_FUZZ_SEED) : 0x5eed_f022;

/** The message decodeMessage gives an unexpected (non-Fedwarden) throw it normalises: never legitimate. */
const DECODE_CATCH_ALL = 'decodeMessage: malformed message';

export interface FuzzCase {
  readonly suite: string;
  readonly index: number;
  readonly input?: Uint8Array;
  readonly steps?: readonly string[];
}

export function failCase(c: FuzzCase, what: string): never {
  const steps = c.steps?.length ? ` mutators=${c.steps.join('+')}` : '';
  const input = c.input ? `\n  input=${hex(c.input)}` : '';
  throw new Error(
    `fuzz failure (replay with FEDWARDEN_FUZZ_SEED=${FUZZ_SEED}): suite=${c.suite} case=${c.index}${steps}: ${what}${input}`,
  );
}

/** The error must be a FedwardenError with a known code among `allowed`; returns the code. */
export function expectRejection(c: FuzzCase, err: unknown, allowed: readonly ErrorCode[]): ErrorCode {
  if (!(err instanceof FedwardenError)) {
    const name = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    failCase(c, `non-FedwardenError escaped: ${name}`);
  }
  if (!isErrorCode(err.code) || !Object.hasOwn(ERROR_CODES, err.code)) failCase(c, `unknown error code ${String(err.code)}`);
  if (!allowed.includes(err.code)) failCase(c, `code ${err.code} not in [${allowed.join(', ')}]: ${err.message}`);
  if (err.message === DECODE_CATCH_ALL) {
    // decodeMessage's catch-all fired: an unexpected throw (a bug) was only normalised.
    const cause = err.cause;
    failCase(c, `unexpected ${cause instanceof Error ? cause.name : typeof cause} normalised by decodeMessage: ${String(cause)}`);
  }
  return err.code;
}

let gcFn: (() => void) | undefined;

export function collectGarbage(): void {
  if (!gcFn) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') gcFn = exposed;
    else {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    }
  }
  gcFn();
  gcFn();
}

export function heapAfterGc(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** Count occurrences, for coverage assertions (which codes, kinds, mutators a run reached). */
export class Tally {
  private readonly counts = new Map<string, number>();
  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  keys(): string[] {
    return [...this.counts.keys()].sort();
  }
  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
}

/**
 * Every 1,000 cases, let the event loop turn. A vitest worker answers its runner's RPC only between
 * macrotasks, and the runner gives up after a fixed 60 s (vitest's birpc timeout, not configurable): a long
 * synchronous sweep on a loaded CI machine would fail the run although every test passed.
 */
export async function breathe(index: number): Promise<void> {
  if (index % 1000 === 999) await new Promise<void>((resolve) => setImmediate(resolve));
}
