import { describe, expect, it } from 'vitest';
import { parseSimulateArgs } from './simulate-options.ts';

describe('pnpm simulate options', () => {
  it('runs a single federation without a trusted reference by default', () => {
    const cmd = parseSimulateArgs([]);
    expect(cmd.mode).toBe('single');
    expect(cmd.options).toMatchObject({ clients: 10, rounds: 10, root: 0, groupPolicy: 'fixed', attack: 'none', byzantine: 0, placement: 'random' });
  });

  it('defaults the matrix to the adversarial setting with 100 root digits, and passes every flag to its cells', () => {
    const cmd = parseSimulateArgs(['--matrix', '--privacy', 'secagg', '--group-policy', 'reputation']);
    expect(cmd.mode).toBe('matrix');
    expect(cmd.options).toMatchObject({ clients: 50, rounds: 30, byzantine: 0.2, root: 100, privacy: 'secagg', groupPolicy: 'reputation' });
    if (cmd.mode !== 'matrix') return;
    const flag = (name: string) => cmd.matrix.cellArgs[cmd.matrix.cellArgs.indexOf(name) + 1];
    expect([flag('--root'), flag('--group-policy'), flag('--clients')]).toEqual(['100', 'reputation', '50']);
    expect(cmd.matrix.attacks).toEqual(['none', 'label-flip', 'sign-flip', 'gaussian-noise', 'scaling', 'alie', 'ipm', 'sybil', 'free-rider', 'on-off']);
  });

  it('takes --placement random or spread, passes it to the matrix cells, and keeps a spread matrix apart', () => {
    expect(parseSimulateArgs(['--placement', 'spread']).options.placement).toBe('spread');
    const cmd = parseSimulateArgs(['--matrix', '--privacy', 'secagg', '--placement', 'spread']);
    if (cmd.mode !== 'matrix') throw new Error('expected a matrix');
    expect(cmd.matrix.cellArgs[cmd.matrix.cellArgs.indexOf('--placement') + 1]).toBe('spread');
    expect(cmd.matrix.outDir).toBe('out/matrix-secagg-seed1-spread');
    const random = parseSimulateArgs(['--matrix']);
    expect(random.mode === 'matrix' && random.matrix.outDir).toBe('out/matrix-trusted-seed1');
    expect(() => parseSimulateArgs(['--placement', 'clustered'])).toThrow('--placement must be "random" or "spread", got "clustered"');
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

  it('sets attack options per attack, and refuses one that no attack of the run would use', () => {
    const single = parseSimulateArgs(['--attack', 'alie', '--byzantine', '0.2', '--attack-option', 'alie.z=1.5']);
    expect(single.options.attackSettings.map(({ attack, option, value }) => ({ attack, option, value }))).toEqual([{ attack: 'alie', option: 'z', value: 1.5 }]);
    expect(() => parseSimulateArgs(['--attack', 'ipm', '--byzantine', '0.2', '--attack-option', 'alie.z=1.5'])).toThrow(
      '--attack-option "alie.z=1.5" names alie, which is not this run\'s attack (ipm)',
    );
    expect(() => parseSimulateArgs(['--matrix', '--attacks', 'none,ipm', '--attack-option', 'alie.z=1'])).toThrow(/names alie, which is not among --attacks/);
    const matrix = parseSimulateArgs(['--matrix', '--attacks', 'none,alie', '--attack-option', 'alie.z=1']);
    expect(matrix.mode === 'matrix' && matrix.matrix.attacks).toEqual(['none', 'alie']);
  });

  it('takes --dashboard with or without a port, and only for a single run', () => {
    expect(parseSimulateArgs([]).options.dashboard).toBeUndefined();
    expect(parseSimulateArgs(['--dashboard']).options.dashboard).toBe(0);
    expect(parseSimulateArgs(['--dashboard', '--rounds', '3']).options).toMatchObject({ dashboard: 0, rounds: 3 });
    expect(parseSimulateArgs(['--dashboard', '8790', '--rounds', '3']).options).toMatchObject({ dashboard: 8790, rounds: 3 });
    expect(parseSimulateArgs(['--dashboard=8791']).options.dashboard).toBe(8791);
    expect(() => parseSimulateArgs(['--dashboard', 'x'])).toThrow('--dashboard must be a port number (0–65535; 0 or none: a free port), got "x"');
    expect(() => parseSimulateArgs(['--dashboard', '70000'])).toThrow(/--dashboard must be a port number/);
    expect(() => parseSimulateArgs(['--matrix', '--dashboard'])).toThrow('--dashboard serves one run; it does not go with --matrix');
  });

  it('lets the attack check its option values, and refuses an unknown attack before any cell runs', () => {
    expect(() => parseSimulateArgs(['--attack', 'sign-flip', '--byzantine', '0.2', '--attack-option', 'sign-flip.scale=-1'])).toThrow(/signFlip: option scale/);
    expect(() => parseSimulateArgs(['--matrix', '--attacks', 'none,krum'])).toThrow(/unknown attack "krum"/);
  });
});
