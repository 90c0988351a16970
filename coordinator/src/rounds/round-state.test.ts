import { describe, expect, it } from 'vitest';
import { RoundState } from './round-state.ts';

describe('RoundState', () => {
  it('follows the happy path', () => {
    const s = new RoundState(3);
    s.transition('training');
    s.transition('aggregating');
    s.transition('completed');
    expect(s.finished).toBe(true);
  });

  it('refuses out-of-order and post-terminal transitions', () => {
    const s = new RoundState(1);
    expect(() => s.transition('aggregating')).toThrow(/selecting → aggregating/);
    s.transition('aborted');
    expect(() => s.transition('training')).toThrow(/aborted → training/);
  });
});
