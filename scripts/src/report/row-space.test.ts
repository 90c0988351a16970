import { describe, expect, it } from 'vitest';
import { RowSpace } from './row-space.ts';

describe('RowSpace', () => {
  it('counts rank exactly and finds the unit vectors in the span (hand-worked 3 × 3)', () => {
    const s = new RowSpace(3);
    expect(s.addIndicator([0, 1])).toBe(true); // a + b
    expect(s.solvable()).toEqual([]);
    expect(s.addIndicator([0, 1])).toBe(false); // the same sum again adds nothing
    expect(s.addIndicator([1, 2])).toBe(true); // b + c
    expect(s.solvable()).toEqual([]);
    expect(s.addIndicator([0, 1, 2])).toBe(true); // (a+b+c) − (b+c) = a, (a+b+c) − (a+b) = c, then b
    expect(s.rank).toBe(3);
    expect(s.solvable()).toEqual([0, 1, 2]);
  });

  it('finds one solvable column before full rank: a group sum with and without one member', () => {
    const s = new RowSpace(6);
    s.addIndicator([0, 1, 2, 3, 4]);
    s.addIndicator([0, 1, 2, 3]); // member 4 absent: differencing gives its update
    s.addIndicator([1, 5]);
    expect(s.rank).toBe(3);
    expect(s.solvable()).toEqual([4]);
  });

  it('stays exact where floating point would need a tolerance', () => {
    const s = new RowSpace(4);
    expect(s.add([3, 7, 11, 13])).toBe(true);
    expect(s.add([6, 14, 22, 26])).toBe(false);
    expect(s.add([1, 0, 0, 0])).toBe(true);
    expect(s.add([0, 7, 11, 13])).toBe(false);
    expect(s.rank).toBe(2);
    expect(s.solvable()).toEqual([0]);
  });

  it('names bad input', () => {
    expect(() => new RowSpace(3).add([1, 2])).toThrow('RowSpace.add: row has 2 entries, expected 3');
    expect(() => new RowSpace(3).addIndicator([3])).toThrow('RowSpace.addIndicator: column 3 outside 0..2');
    expect(() => new RowSpace(3).add([0.5, 0, 0])).toThrow('RowSpace.add: entry 0.5 is not an integer');
  });
});
