import { describe, expect, it } from 'vitest';
import { createRng } from '@fedwarden/shared';
import { ATTACKS, attackNames, createAttack, isAttackName } from './registry.ts';

describe('attack registry', () => {
  it('creates every attack under its own name, with defaults', () => {
    expect(attackNames).toEqual(['label-flip', 'sign-flip', 'gaussian-noise', 'scaling', 'alie', 'ipm', 'sybil', 'free-rider', 'on-off']);
    for (const name of attackNames) {
      const attack = createAttack(name);
      expect(attack.name).toBe(name);
      expect(attack.description.length).toBeGreaterThan(0);
      const out = attack.craft({
        round: 1,
        global: new Float32Array(2),
        benign: [Float32Array.of(1, 0), Float32Array.of(0, 1)],
        numParticipants: 10,
        numByzantine: 2,
        rng: createRng(1),
      });
      expect(out).toHaveLength(2);
      for (const d of out) expect(d).toHaveLength(2);
    }
  });

  it('passes options through', () => {
    const ipm = createAttack('ipm', { epsilon: 0.1 });
    expect(ipm.description).toContain('0.1');
    expect(() => createAttack('sign-flip', { scale: Number.NaN })).toThrow(/signFlip: option scale/);
  });

  it('rejects an unknown name, listing the valid ones', () => {
    expect(isAttackName('alie')).toBe(true);
    expect(isAttackName('toString')).toBe(false);
    expect(() => createAttack('krum')).toThrow('unknown attack "krum"; valid attacks: label-flip, sign-flip, gaussian-noise, scaling, alie, ipm, sybil, free-rider, on-off');
    expect(Object.keys(ATTACKS)).toHaveLength(9);
  });
});
