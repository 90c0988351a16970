/**
 * The reference hook's guard: a good delta passes through untouched, and a failing or malformed one is
 * logged and dropped (the round then runs without a reference) instead of reaching the strategy.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '@fedwarden/shared';
import { trainReference, type ReferenceHook } from './reference-update.ts';

function capture() {
  const lines: Array<{ level: string; msg: string }> = [];
  return { lines, log: createLogger('debug', {}, (line) => lines.push(JSON.parse(line) as { level: string; msg: string })) };
}

describe('trainReference', () => {
  const global = Float32Array.from([1, 2, 3]);

  it('is undefined without a hook', async () => {
    const { lines, log } = capture();
    expect(await trainReference(undefined, global, 1, log)).toBeUndefined();
    expect(lines).toEqual([]);
  });

  it('returns the delta of a good hook, which gets a copy of the global adapter and the round', async () => {
    const { lines, log } = capture();
    const delta = Float32Array.from([0.5, 0, -0.25]);
    let seen: { global: Float32Array; round: number } | undefined;
    const hook: ReferenceHook = async (g, round) => {
      seen = { global: g, round };
      g[0] = 99; // the hook may scribble on its copy
      return delta;
    };
    expect(await trainReference(hook, global, 7, log)).toEqual({ delta, replicates: [] });
    expect(seen?.round).toBe(7);
    expect(seen?.global).not.toBe(global);
    expect([...global]).toEqual([1, 2, 3]);
    expect(lines).toEqual([]);
  });

  it.each([
    ['a wrong length', Float32Array.from([1, 2])],
    ['a NaN', Float32Array.from([1, Number.NaN, 0])],
    ['an infinity', Float32Array.from([1, Number.POSITIVE_INFINITY, 0])],
    ['all zeros', new Float32Array(3)],
  ])('drops a delta with %s, with a warning', async (_, delta) => {
    const { lines, log } = capture();
    expect(await trainReference(async () => delta, global, 1, log)).toBeUndefined();
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: 'reference update malformed; round runs without it' })]);
  });

  it('drops a hook that throws, with a warning', async () => {
    const { lines, log } = capture();
    const hook: ReferenceHook = async () => {
      throw new Error('root data missing');
    };
    expect(await trainReference(hook, global, 1, log)).toBeUndefined();
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: 'reference training failed; round runs without it', err: 'root data missing' })]);
  });

  it('passes replicates through, and drops malformed ones (or a lone one) but keeps the reference', async () => {
    const delta = Float32Array.from([0.5, 0, -0.25]);
    const good = [Float32Array.from([0.4, 0.1, -0.2]), Float32Array.from([0.6, -0.1, -0.3])];
    const ok = capture();
    expect(await trainReference(async () => ({ delta, replicates: good }), global, 1, ok.log)).toEqual({ delta, replicates: good });
    expect(ok.lines).toEqual([]);
    for (const replicates of [[good[0]!], [good[0]!, Float32Array.from([1, Number.NaN, 0])], [good[0]!, new Float32Array(3)], [good[0]!, Float32Array.from([1])]]) {
      const { lines, log } = capture();
      expect(await trainReference(async () => ({ delta, replicates }), global, 1, log)).toEqual({ delta, replicates: [] });
      expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: 'reference replicates malformed; round runs without their noise estimate' })]);
    }
    const bad = capture();
    expect(await trainReference(async () => ({ delta: new Float32Array(3), replicates: good }), global, 1, bad.log)).toBeUndefined();
    expect(bad.lines).toEqual([expect.objectContaining({ msg: 'reference update malformed; round runs without it' })]);
  });
});
