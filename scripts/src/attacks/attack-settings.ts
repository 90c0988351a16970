/**
 * Attack options from the command line: `pnpm simulate --attack-option <attack>.<option>=<value>`, repeatable,
 * e.g. `--attack-option alie.z=1.5`. Naming the attack keeps a setting unambiguous in a matrix, where several
 * attacks run and two may have an option of the same name (sign-flip's and sybil's `scale`); each cell gets
 * only its own attack's settings.
 *
 * Only plain values are settable: numbers, and the words an option lists. Options that take another attack
 * (on-off's `then`, scaling's `base`) keep their defaults. The ranges are checked by the attack's own factory
 * (its file documents them), so settingsFor's caller should build the attack once to surface a bad value early.
 */
import { attackNames, isAttackName, type AttackName } from './registry.ts';

type OptionKind = 'number' | readonly string[];

/** The settable options of each attack, as its file documents them. */
const SETTABLE: { readonly [N in AttackName]: Readonly<Record<string, OptionKind>> } = {
  'label-flip': { source: 'number', target: 'number' },
  'sign-flip': { scale: 'number' },
  'gaussian-noise': { sigma: 'number', normRatio: 'number' },
  scaling: { lambda: 'number' },
  alie: { z: 'number' },
  ipm: { epsilon: 'number' },
  sybil: { mode: ['fixed-direction', 'negated-mean'], scale: 'number', noise: 'number', normJitter: 'number' },
  'free-rider': {},
  'on-off': { honestRounds: 'number' },
};

export interface AttackSetting {
  readonly attack: AttackName;
  readonly option: string;
  readonly value: number | string;
  /** The setting as it was written, to pass on to a matrix cell. */
  readonly text: string;
}

const SYNTAX = /^([a-z-]+)\.([A-Za-z]+)=(.*)$/;

/** Parses one `<attack>.<option>=<value>`; throws naming what is wrong and what would be valid. */
export function parseAttackSetting(text: string): AttackSetting {
  const match = SYNTAX.exec(text);
  if (match === null) throw new Error(`--attack-option must look like <attack>.<option>=<value> (e.g. alie.z=1.5), got "${text}"`);
  const [, attack, option, raw] = match as unknown as [string, string, string, string];
  if (!isAttackName(attack)) throw new Error(`--attack-option "${text}": unknown attack "${attack}"; valid attacks: ${attackNames.join(', ')}`);
  const settable = SETTABLE[attack];
  const kind = Object.hasOwn(settable, option) ? settable[option] : undefined;
  if (kind === undefined) {
    const names = Object.keys(settable);
    throw new Error(`--attack-option "${text}": ${attack} has no settable option "${option}"; ${names.length > 0 ? `it has ${names.join(', ')}` : 'it has none'}`);
  }
  if (kind === 'number') {
    const value = raw.trim() === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(value)) throw new Error(`--attack-option "${text}": ${attack}.${option} must be a finite number, got "${raw}"`);
    return { attack, option, value, text };
  }
  if (!kind.includes(raw)) throw new Error(`--attack-option "${text}": ${attack}.${option} must be one of ${kind.join(', ')}, got "${raw}"`);
  return { attack, option, value: raw, text };
}

/** The options object for `attack` from the settings naming it (a later setting of the same option wins). */
export function settingsFor(settings: readonly AttackSetting[], attack: string): Record<string, number | string> {
  const options: Record<string, number | string> = {};
  for (const s of settings) if (s.attack === attack) options[s.option] = s.value;
  return options;
}
