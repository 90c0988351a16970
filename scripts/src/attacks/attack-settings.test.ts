import { describe, expect, it } from 'vitest';
import { parseAttackSetting, settingsFor } from './attack-settings.ts';
import { attackNames, createAttack } from './registry.ts';

describe('attack settings (--attack-option)', () => {
  it('parses numbers and listed words, and keeps the text to pass on', () => {
    expect(parseAttackSetting('alie.z=1.5')).toEqual({ attack: 'alie', option: 'z', value: 1.5, text: 'alie.z=1.5' });
    expect(parseAttackSetting('gaussian-noise.normRatio=2e-1')).toMatchObject({ option: 'normRatio', value: 0.2 });
    expect(parseAttackSetting('sybil.mode=negated-mean')).toMatchObject({ attack: 'sybil', option: 'mode', value: 'negated-mean' });
  });

  it('refuses malformed text, unknown attacks and options, and bad values, saying what would be valid', () => {
    expect(() => parseAttackSetting('z=1.5')).toThrow('--attack-option must look like <attack>.<option>=<value> (e.g. alie.z=1.5), got "z=1.5"');
    expect(() => parseAttackSetting('krum.z=1')).toThrow(/unknown attack "krum"; valid attacks: label-flip/);
    expect(() => parseAttackSetting('alie.lambda=1')).toThrow('--attack-option "alie.lambda=1": alie has no settable option "lambda"; it has z');
    expect(() => parseAttackSetting('alie.toString=1')).toThrow(/no settable option "toString"/);
    expect(() => parseAttackSetting('free-rider.scale=1')).toThrow(/it has none/);
    expect(() => parseAttackSetting('on-off.then=alie')).toThrow(/no settable option "then"; it has honestRounds/);
    for (const bad of ['', 'x', 'NaN', 'Infinity', ' ']) {
      expect(() => parseAttackSetting(`alie.z=${bad}`)).toThrow(/alie.z must be a finite number/);
    }
    expect(() => parseAttackSetting('sybil.mode=random')).toThrow('sybil.mode must be one of fixed-direction, negated-mean, got "random"');
  });

  it('gives each attack its own settings, the last one of an option winning', () => {
    const settings = ['sign-flip.scale=2', 'sybil.scale=3', 'sign-flip.scale=5'].map(parseAttackSetting);
    expect(settingsFor(settings, 'sign-flip')).toEqual({ scale: 5 });
    expect(settingsFor(settings, 'sybil')).toEqual({ scale: 3 });
    expect(settingsFor(settings, 'alie')).toEqual({});
  });

  it('sets only options the attacks take: each one changes what the attack describes', () => {
    const examples: Record<string, string> = {
      'label-flip.source': '3',
      'label-flip.target': '5',
      'sign-flip.scale': '2.5',
      'gaussian-noise.sigma': '0.25',
      'scaling.lambda': '7',
      'alie.z': '1.25',
      'ipm.epsilon': '0.75',
      'sybil.scale': '2.5',
      'sybil.noise': '0.3',
      'sybil.normJitter': '0.05',
      'on-off.honestRounds': '4',
    };
    for (const name of attackNames) {
      const settings = Object.entries(examples)
        .filter(([key]) => key.startsWith(`${name}.`))
        .map(([key, value]) => parseAttackSetting(`${key}=${value}`));
      if (settings.length === 0) continue;
      const described = createAttack(name, settingsFor(settings, name)).description;
      expect(described).not.toBe(createAttack(name).description);
    }
  });
});
