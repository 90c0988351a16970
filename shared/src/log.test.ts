import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, silentLogger, type LogLevel } from './log.ts';
import { roundFigure, roundMs } from './log-figures.ts';

type Line = Record<string, unknown>;

function collect(level: LogLevel, base: Record<string, unknown> = {}) {
  const lines: Line[] = [];
  const log = createLogger(level, base, { destination: (line) => lines.push(JSON.parse(line) as Line) });
  return { lines, log };
}

describe('createLogger', () => {
  it('writes one JSON object per call with level name, ISO time, msg and fields', () => {
    const { lines, log } = collect('debug', { component: 'test' });
    const before = Date.now();
    log.info('participant joined', { participant: 'p1', connected: 3 });
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toMatchObject({ level: 'info', msg: 'participant joined', component: 'test', participant: 'p1', connected: 3 });
    expect(typeof line.time).toBe('string');
    expect(new Date(line.time as string).toISOString()).toBe(line.time);
    expect(Date.parse(line.time as string)).toBeGreaterThanOrEqual(before - 1000);
    // Nothing but what was asked for: no pid or hostname.
    expect(Object.keys(line).sort()).toEqual(['component', 'connected', 'level', 'msg', 'participant', 'time']);
  });

  it('filters below its level', () => {
    const { lines, log } = collect('warn');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'w'],
      ['error', 'e'],
    ]);
  });

  it('writes nothing at silent', () => {
    const { lines, log } = collect('silent');
    log.error('e');
    log.child({ a: 1 }).error('e');
    expect(lines).toEqual([]);
    silentLogger.child({ a: 1 }).error('nothing');
  });

  it('adds child fields to every line of the child only, child fields nesting', () => {
    const { lines, log } = collect('info', { component: 'coordinator' });
    const round = log.child({ round: 7 });
    round.child({ participant: 'p2' }).info('rejoined');
    round.info('round ended', { outcome: 'completed' });
    log.info('idle');
    expect(lines).toEqual([
      expect.objectContaining({ component: 'coordinator', round: 7, participant: 'p2', msg: 'rejoined' }),
      expect.objectContaining({ component: 'coordinator', round: 7, outcome: 'completed', msg: 'round ended' }),
      expect.not.objectContaining({ round: 7 }),
    ]);
  });

  it('keeps a message with format characters as it is', () => {
    const { lines, log } = collect('info');
    log.info('100 %s done %d', { a: 1 });
    log.info('50 % left');
    expect(lines.map((l) => l.msg)).toEqual(['100 %s done %d', '50 % left']);
  });

  it('writes to a custom destination stream, one newline-terminated line per call', async () => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    const log = createLogger('info', { component: 'client' }, { destination: stream });
    log.info('joined federation', { participant: 'p1' });
    log.warn('connection lost', { code: 'TIMEOUT' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(chunks).toHaveLength(2);
    expect(chunks.every((c) => c.endsWith('\n'))).toBe(true);
    expect(chunks.map((c) => JSON.parse(c) as Line)).toEqual([
      expect.objectContaining({ level: 'info', msg: 'joined federation', component: 'client', participant: 'p1' }),
      expect.objectContaining({ level: 'warn', msg: 'connection lost', code: 'TIMEOUT' }),
    ]);
  });

  it('redacts fields named like secrets, at the top level and one level down', () => {
    const { lines, log } = collect('info');
    log.info('enrolled', { participant: 'p1', token: 'fwt_secret', nested: { privateKey: 'k', id: 'x' } });
    expect(lines[0]).toMatchObject({ participant: 'p1', token: '[redacted]', nested: { privateKey: '[redacted]', id: 'x' } });
    expect(JSON.stringify(lines)).not.toContain('fwt_secret');
  });

  it('refuses an unknown level by name', () => {
    expect(() => createLogger('verbose' as LogLevel)).toThrow(/createLogger: unknown level "verbose"/);
  });
});

describe('figures for people', () => {
  it('rounds durations to whole milliseconds', () => {
    expect(roundMs(3169.4804400000103)).toBe(3169);
    expect(roundMs(0.5)).toBe(1);
    expect(roundMs(undefined)).toBeUndefined();
    expect(roundMs(Number.NaN)).toBeNaN();
  });

  it('rounds losses and accuracies to 4 significant digits', () => {
    expect(roundFigure(0.891234)).toBe(0.8912);
    expect(roundFigure(2.302585)).toBe(2.303);
    expect(roundFigure(0.0000123456)).toBe(0.00001235);
    expect(roundFigure(0)).toBe(0);
    expect(roundFigure(null)).toBeNull();
    expect(roundFigure(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
  });
});
