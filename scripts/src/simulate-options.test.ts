import { describe, expect, it } from 'vitest';
import { parseSimulateArgs } from './simulate-options.ts';

describe('pnpm simulate options', () => {
  it('runs a single federation without a trusted reference by default', () => {
    const cmd = parseSimulateArgs([]);
    expect(cmd.mode).toBe('single');
    expect(cmd.options).toMatchObject({ clients: 10, rounds: 10, root: 0, groupPolicy: 'fixed', attack: 'none', byzantine: 0 });
  });

  it('defaults the matrix to the adversarial setting with 100 root digits, and passes every flag to its cells', () => {
    const cmd = parseSimulateArgs(['--matrix', '--privacy', 'secagg', '--group-policy', 'reputation']);
    expect(cmd.mode).toBe('matrix');
    expect(cmd.options).toMatchObject({ clients: 50, rounds: 30, byzantine: 0.2, root: 100, privacy: 'secagg', groupPolicy: 'reputation' });
    if (cmd.mode !== 'matrix') return;
    const flag = (name: string) => cmd.matrix.cellArgs[cmd.matrix.cellArgs.indexOf(name) + 1];
    expect([flag('--root'), flag('--group-policy'), flag('--clients')]).toEqual(['100', 'reputation', '50']);
  });

  it('takes explicit values over either default', () => {
    expect(parseSimulateArgs(['--root', '50']).options.root).toBe(50);
    expect(parseSimulateArgs(['--matrix', '--root', '0']).options.root).toBe(0);
  });

  it('names the flag in its error', () => {
    expect(() => parseSimulateArgs(['--root=-1'])).toThrow(/--root must be an integer ≥ 0/);
    expect(() => parseSimulateArgs(['--group-policy', 'random'])).toThrow(/--group-policy must be/);
    expect(() => parseSimulateArgs(['--attack', 'sign-flip'])).toThrow(/needs --byzantine > 0/);
  });
});
