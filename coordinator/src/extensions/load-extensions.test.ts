/**
 * Loading the operator's extension modules from config paths: relative paths against the config's directory,
 * the factory's context, and BAD_CONFIG naming the key, the file and the problem for every way a module can be
 * wrong.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@fedwarden/shared';
import { parseConfig } from '../config.ts';
import { loadExtensions } from './load-extensions.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedwarden-ext-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** Write an ES module into the temp dir's "mods" folder; returns its path relative to the temp dir. */
function module(source: string): string {
  mkdirSync(join(dir, 'mods'), { recursive: true });
  const name = `m${files++}.mjs`;
  writeFileSync(join(dir, 'mods', name), source);
  return `./mods/${name}`;
}

const load = (extensions: Record<string, unknown>) => loadExtensions(parseConfig({ seed: 7, extensions }), dir, silentLogger);

const STRATEGY = `export default (ctx) => ({
  name: 'ctx-echo', tolerance: 'none',
  aggregate: () => ({ step: new Float32Array(0), kept: [], rejected: [], adjusted: [] }),
  seen: ctx,
});`;

describe('loadExtensions', () => {
  it('resolves to no options when the config names no extensions', async () => {
    expect(await load({})).toEqual({});
  });

  it('loads each kind from a path relative to the config directory, through an async factory too', async () => {
    const loaded = await load({
      strategy: module(STRATEGY),
      evaluator: module('export default async () => (global, round) => ({ accuracy: global.length / 10, loss: round });'),
      reference: module('export default () => (global) => global.map(() => 1);'),
    });
    expect(loaded.strategy?.name).toBe('ctx-echo');
    expect(await loaded.evaluate!(new Float32Array(3), 4)).toEqual({ accuracy: 0.3, loss: 4 });
    expect(Array.from((await loaded.reference!(new Float32Array(2), 1)) as Float32Array)).toEqual([1, 1]);
  });

  it('gives the factory the config, the entry options, the config dir and a seed of its own per kind', async () => {
    const path = module(STRATEGY);
    const { strategy } = await load({ strategy: { module: path, options: { drop: 2 } } });
    const seen = (strategy as unknown as { seen: Record<string, unknown> }).seen;
    expect(seen.options).toEqual({ drop: 2 });
    expect(seen.configDir).toBe(dir);
    expect((seen.config as { seed: number }).seed).toBe(7);
    expect(typeof seen.seed).toBe('number');
    expect(seen.seed).not.toBe(7);
    expect(typeof (seen.logger as { info: unknown }).info).toBe('function');
    const { strategy: again } = await load({ strategy: path });
    expect((again as unknown as { seen: Record<string, unknown> }).seen.options).toEqual({});
  });

  it('accepts an absolute path', async () => {
    const { evaluate } = await load({ evaluator: join(dir, module('export default () => () => 0.5;')) });
    expect(await evaluate!(new Float32Array(1), 1)).toBe(0.5);
  });

  const refused: Array<[string, Record<string, unknown> | (() => Record<string, unknown>), RegExp]> = [
    ['a missing file', { strategy: './mods/nowhere.mjs' }, /^extensions\.strategy \(.*nowhere\.mjs\): no such file \("\.\/mods\/nowhere\.mjs" resolved against /],
    ['a module that does not load', () => ({ evaluator: module('export default () => {;') }), /^extensions\.evaluator \(.*\.mjs\): cannot load the module: /],
    [
      'a module without a default export, naming what it exports',
      () => ({ strategy: module('export const createStrategy = () => ({});') }),
      /extensions\.strategy \(.*\): the module has no default export; it must `export default` a factory \(ctx\) => a Strategy .* \(it exports createStrategy\)/,
    ],
    [
      'a default export that is not a function',
      () => ({ strategy: module("export default { name: 'x', tolerance: '', aggregate() {} };") }),
      /the default export is an object, not a factory function \(ctx\) => a Strategy/,
    ],
    ['a factory that throws', () => ({ reference: module("export default () => { throw new Error('no root data'); };") }), /extensions\.reference \(.*\): the factory failed: no root data/],
    [
      'a strategy without aggregate',
      () => ({ strategy: module("export default () => ({ name: 'half', tolerance: 'none' });") }),
      /extensions\.strategy \(.*\): the factory returned an object without aggregate \(a function\), not a Strategy/,
    ],
    ['a strategy that is not an object', () => ({ strategy: module('export default () => 3;') }), /the factory returned a number, not a Strategy/],
    ['an evaluator that is not a function', () => ({ evaluator: module('export default async () => ({ accuracy: 1 });') }), /extensions\.evaluator \(.*\): the factory returned an object, not an evaluator function/],
    ['a reference that is not a function', () => ({ reference: module('export default () => undefined;') }), /extensions\.reference \(.*\): the factory returned undefined, not a reference function/],
  ];
  it.each(refused)('refuses %s with BAD_CONFIG', async (_, extensions, message) => {
    const entry = typeof extensions === 'function' ? extensions() : extensions;
    await expect(load(entry)).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(message) });
  });

  it('refuses a config entry of the wrong shape when the config is parsed', () => {
    expect(() => parseConfig({ extensions: { strategy: 3 } })).toThrow(/extensions\.strategy/);
    expect(() => parseConfig({ extensions: { evaluator: { module: './e.js', option: {} } } })).toThrow(/extensions\.evaluator/);
    expect(() => parseConfig({ extensions: { aggregator: './a.js' } })).toThrow(/extensions/);
  });
});
