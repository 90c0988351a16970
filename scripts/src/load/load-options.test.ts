/** bench:load's command line: defaults, ranges, and errors that name the flag. */
import { describe, expect, it } from 'vitest';
import { parseLoadArgs } from './load-options.ts';
import { LOAD_DEFAULTS } from './run-load.ts';

describe('parseLoadArgs', () => {
  it('defaults to the issue setting: 1,000 trusted participants, fake training 50–200 ms', () => {
    expect(parseLoadArgs([])).toEqual({ options: LOAD_DEFAULTS, json: false });
    expect(LOAD_DEFAULTS).toMatchObject({ clients: 1000, privacy: 'trusted', trainMinMs: 50, trainMaxMs: 200 });
  });

  it('reads every flag', () => {
    const { options, json } = parseLoadArgs([
      '--clients', '50', '--rounds', '2', '--processes', '1', '--params', '1000', '--train-ms', '10-20',
      '--privacy', 'secagg', '--group-size', '5', '--strategy', 'median', '--connect-concurrency', '8',
      '--deadline-ms', '5000', '--seed', '7', '--cpu-prof', '/tmp/p', '--json',
    ]);
    expect(json).toBe(true);
    expect(options).toEqual({
      clients: 50, rounds: 2, processes: 1, params: 1000, trainMinMs: 10, trainMaxMs: 20, privacy: 'secagg', groupSize: 5,
      strategy: 'median', connectConcurrency: 8, deadlineMs: 5000, seed: 7, coordinatorCpuProfDir: '/tmp/p',
    });
  });

  it('takes a single training time as a fixed one', () => {
    expect(parseLoadArgs(['--train-ms', '75']).options).toMatchObject({ trainMinMs: 75, trainMaxMs: 75 });
  });

  it.each([
    [['--clients', '0'], /--clients "0": a positive integer/],
    [['--clients', '2.5'], /--clients/],
    [['--train-ms', '200-50'], /--train-ms "200-50": MIN must not exceed MAX/],
    [['--train-ms', 'fast'], /--train-ms/],
    [['--privacy', 'open'], /--privacy "open": trusted or secagg/],
    [['--strategy', 'avg'], /--strategy "avg"/],
    [['--group-size', '2'], /--group-size "2": at least 3/],
    [['--privacy', 'secagg', '--clients', '4'], /--clients "4": at least --group-size 5/],
    [['--client', '5'], /Unknown option '--client'/],
  ])('refuses %j with BAD_CONFIG', (argv, message) => {
    expect(() => parseLoadArgs(argv)).toThrow(message);
    expect(() => parseLoadArgs(argv)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
  });
});
