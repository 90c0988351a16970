import { describe, expect, it } from 'vitest';
import { seededBytes } from './rng.ts';

describe('seededBytes', () => {
  it('replays the same bytes for a seed, continues the stream across calls, and differs between seeds', () => {
    const a = seededBytes(5);
    const b = seededBytes(5);
    const first = a(1000);
    expect(b(1000)).toEqual(first);
    expect(a(16)).toEqual(b(16));
    expect(a(16)).not.toEqual(first.subarray(0, 16));
    expect(seededBytes(6)(1000)).not.toEqual(first);
    // Every byte value turns up in 4000 draws of a uniform byte source (a missing one has odds ≈ 256·e^-15.6).
    expect(new Set(seededBytes(7)(4000)).size).toBe(256);
    expect(seededBytes(1)(0)).toHaveLength(0);
  });
});
