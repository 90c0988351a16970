/**
 * The attacks by name, for the simulate CLI (--attack <name>) and the defences × attacks matrix. Each factory
 * takes its own options (documented in its file) and has defaults for all of them.
 */
import type { Attack } from './attack.ts';
import { alie } from './alie.ts';
import { freeRider } from './free-rider.ts';
import { gaussianNoise } from './gaussian-noise.ts';
import { ipm } from './ipm.ts';
import { labelFlip } from './label-flip.ts';
import { onOff } from './on-off.ts';
import { scaling } from './scaling.ts';
import { signFlip } from './sign-flip.ts';
import { sybil } from './sybil.ts';

export const ATTACKS = {
  'label-flip': labelFlip,
  'sign-flip': signFlip,
  'gaussian-noise': gaussianNoise,
  scaling,
  alie,
  ipm,
  sybil,
  'free-rider': freeRider,
  'on-off': onOff,
} as const satisfies Record<string, (options?: never) => Attack>;

export type AttackName = keyof typeof ATTACKS;
export type AttackOptions<N extends AttackName> = NonNullable<Parameters<(typeof ATTACKS)[N]>[0]>;

export const attackNames = Object.keys(ATTACKS) as AttackName[];

export function isAttackName(name: string): name is AttackName {
  return Object.hasOwn(ATTACKS, name);
}

/** The attack called `name` with `options` (defaults for what is left out); throws listing the valid names. */
export function createAttack<N extends AttackName>(name: N, options?: AttackOptions<N>): Attack;
export function createAttack(name: string, options?: object): Attack;
export function createAttack(name: string, options?: object): Attack {
  if (!isAttackName(name)) {
    throw new RangeError(`unknown attack "${name}"; valid attacks: ${attackNames.join(', ')}`);
  }
  const factory = ATTACKS[name] as (options?: object) => Attack;
  return factory(options);
}
