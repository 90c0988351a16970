/** secagg.minGroupSize in the coordinator config: its default, its range, and the threshold it must leave room for. */
import { describe, expect, it } from 'vitest';
import { effectiveMinGroupSize, parseConfig } from '../config.ts';

describe('secagg.minGroupSize', () => {
  it('defaults to max(3, groupSize − 1)', () => {
    expect(effectiveMinGroupSize(parseConfig({}).secagg)).toBe(4);
    expect(effectiveMinGroupSize(parseConfig({ secagg: { groupSize: 3 } }).secagg)).toBe(3);
    expect(effectiveMinGroupSize(parseConfig({ secagg: { groupSize: 8 } }).secagg)).toBe(7);
    expect(effectiveMinGroupSize(parseConfig({ secagg: { groupSize: 8, minGroupSize: 8 } }).secagg)).toBe(8);
  });

  it('is refused above groupSize or below 3, naming both', () => {
    expect(() => parseConfig({ secagg: { groupSize: 5, minGroupSize: 6 } })).toThrow(
      expect.objectContaining({ code: 'BAD_CONFIG', message: 'invalid coordinator config: secagg.minGroupSize 6 must be 0 (default) or in 3..groupSize 5' }),
    );
    expect(() => parseConfig({ secagg: { groupSize: 5, minGroupSize: 2 } })).toThrow(/secagg\.minGroupSize 2 must be 0 \(default\) or in 3\.\.groupSize 5/);
  });

  it('must leave a fixed group at its smallest enough neighbours for an explicit threshold', () => {
    // Groups of 7 (k = 6) allow t = 4; a fixed group running with 4 members has k = 3 < 4.
    expect(() => parseConfig({ secagg: { groupSize: 7, threshold: 4, minGroupSize: 4 } })).toThrow(
      /secagg\.threshold 4 exceeds the degree of a fixed group running with secagg\.minGroupSize 4 members/,
    );
    expect(() => parseConfig({ secagg: { groupSize: 7, threshold: 4, minGroupSize: 5 } })).not.toThrow();
    expect(() => parseConfig({ secagg: { groupSize: 7, threshold: 4, minGroupSize: 4, groupPolicy: 'reshuffle' } })).not.toThrow();
  });
});
