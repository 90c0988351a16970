/**
 * The operator's extensions named in a config file (config.extensions): an aggregation strategy, an evaluator
 * and a trusted-reference trainer, each an ES module whose default export is a factory. Loading them is the
 * only I/O here; what they return becomes CoordinatorOptions, the same seam an embedding process uses.
 *
 * Module contract, for every kind:
 *
 *   export default async function (ctx) { …; return extension; }   // or a plain (non-async) function
 *
 *   ctx.config     the coordinator's parsed config (defaults filled in)
 *   ctx.logger     a Logger, child of the coordinator's, tagged { extension: kind }
 *   ctx.seed       a seed for the extension's randomness, derived from config.seed and the kind
 *   ctx.options    the entry's "options" object from the config file ({} for a bare path)
 *   ctx.configDir  the config file's directory, to resolve the extension's own data files against
 *
 *   strategy   → a Strategy: { name: string, tolerance: string, aggregate(units, strategyCtx) → AggregationResult }
 *   evaluator  → (global: Float32Array, round: number) → number | { accuracy?, loss? }, or a promise of it
 *   reference  → (global: Float32Array, round: number) → Float32Array | { delta, replicates }, or a promise of it
 *
 * A missing file, a module that fails to load, a default export that is not a function, a factory that throws,
 * or a factory result of the wrong shape is BAD_CONFIG naming the config key, the file and what is wrong. Paths
 * are file paths (relative ones against the config file's directory), not package names. Node loads them as it
 * loads any module: .mjs is always ES, .js only under a package.json with "type": "module"; TypeScript only where
 * the runtime strips types.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FedwardenError, deriveSeed, type Logger } from '@fedwarden/shared';
import type { Strategy } from '../aggregation/strategy.ts';
import type { CoordinatorConfig } from '../config.ts';
import type { EvaluateHook } from '../rounds/evaluation.ts';
import type { ReferenceHook } from '../rounds/reference-update.ts';

export type ExtensionKind = 'strategy' | 'evaluator' | 'reference';

/** What a factory receives. */
export interface ExtensionContext {
  readonly config: CoordinatorConfig;
  readonly logger: Logger;
  readonly seed: number;
  readonly options: Readonly<Record<string, unknown>>;
  readonly configDir: string;
}

/** The default export of an extension module. */
export type ExtensionFactory<T> = (ctx: ExtensionContext) => T | Promise<T>;
export type StrategyFactory = ExtensionFactory<Strategy>;
export type EvaluatorFactory = ExtensionFactory<EvaluateHook>;
export type ReferenceFactory = ExtensionFactory<ReferenceHook>;

/** The CoordinatorOptions the extensions fill; a kind the config does not name is absent. */
export interface LoadedExtensions {
  readonly strategy?: Strategy;
  readonly evaluate?: EvaluateHook;
  readonly reference?: ReferenceHook;
}

/** Per-kind seed streams, apart from every stream the coordinator draws from config.seed. */
const SEED_LABEL: Record<ExtensionKind, number> = { strategy: 0x657873, evaluator: 0x657865, reference: 0x657872 };

const EXPECTED: Record<ExtensionKind, string> = {
  strategy: 'a Strategy { name, tolerance, aggregate(units, ctx) }',
  evaluator: 'an evaluator function (global, round) => accuracy | { accuracy, loss }',
  reference: 'a reference function (global, round) => delta | { delta, replicates }',
};

/**
 * Load the extensions `config.extensions` names, resolving relative paths against `configDir` (the config
 * file's directory). Resolves to {} when it names none; spread the result into the Coordinator's options.
 */
export async function loadExtensions(config: CoordinatorConfig, configDir: string, logger: Logger): Promise<LoadedExtensions> {
  const { strategy, evaluator, reference } = config.extensions;
  const loaded: { strategy?: Strategy; evaluate?: EvaluateHook; reference?: ReferenceHook } = {};
  if (strategy !== undefined) {
    loaded.strategy = await loadOne('strategy', strategy, config, configDir, logger, (value, fail) => {
      if (typeof value !== 'object' || value === null) return fail(`returned ${describe(value)}`);
      const s = value as Record<string, unknown>;
      const missing = [
        typeof s.name === 'string' && s.name !== '' ? undefined : 'name (a non-empty string)',
        typeof s.tolerance === 'string' ? undefined : 'tolerance (a string)',
        typeof s.aggregate === 'function' ? undefined : 'aggregate (a function)',
      ].filter((m) => m !== undefined);
      return missing.length > 0 ? fail(`returned an object without ${missing.join(', ')}`) : (value as Strategy);
    });
  }
  if (evaluator !== undefined) {
    loaded.evaluate = await loadOne('evaluator', evaluator, config, configDir, logger, (value, fail) =>
      typeof value === 'function' ? (value as EvaluateHook) : fail(`returned ${describe(value)}`),
    );
  }
  if (reference !== undefined) {
    loaded.reference = await loadOne('reference', reference, config, configDir, logger, (value, fail) =>
      typeof value === 'function' ? (value as ReferenceHook) : fail(`returned ${describe(value)}`),
    );
  }
  return loaded;
}

type Entry = CoordinatorConfig['extensions'][ExtensionKind];

async function loadOne<T>(
  kind: ExtensionKind,
  entry: NonNullable<Entry>,
  config: CoordinatorConfig,
  configDir: string,
  logger: Logger,
  check: (value: unknown, fail: (what: string) => never) => T,
): Promise<T> {
  const { module, options } = typeof entry === 'string' ? { module: entry, options: {} } : entry;
  const file = isAbsolute(module) ? module : resolve(configDir, module);
  const fail = (what: string, cause?: unknown): never => {
    throw new FedwardenError('BAD_CONFIG', `extensions.${kind} (${file}): ${what}`, cause === undefined ? undefined : { cause });
  };
  const found = await stat(file).catch(() => undefined);
  if (!found?.isFile()) fail(`no such file${isAbsolute(module) ? '' : ` ("${module}" resolved against ${configDir})`}`);

  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    // Node reads a .js file as CommonJS unless the nearest package.json says "type": "module".
    const hint = err instanceof SyntaxError && file.endsWith('.js') ? ' (an ES module needs the .mjs extension, or "type": "module" in the nearest package.json)' : '';
    return fail(`cannot load the module: ${err instanceof Error ? err.message : String(err)}${hint}`, err);
  }
  const factory = exports.default;
  if (factory === undefined) {
    const named = Object.keys(exports).filter((k) => k !== 'default');
    return fail(
      `the module has no default export; it must \`export default\` a factory (ctx) => ${EXPECTED[kind]}` +
        (named.length > 0 ? ` (it exports ${named.join(', ')})` : ''),
    );
  }
  if (typeof factory !== 'function') {
    return fail(`the default export is ${describe(factory)}, not a factory function (ctx) => ${EXPECTED[kind]}`);
  }
  const ctx: ExtensionContext = {
    config,
    logger: logger.child({ extension: kind }),
    seed: deriveSeed(config.seed, SEED_LABEL[kind]),
    options,
    configDir,
  };
  let value: unknown;
  try {
    value = await (factory as ExtensionFactory<unknown>)(ctx);
  } catch (err) {
    return fail(`the factory failed: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  const extension = check(value, (what) => fail(`the factory ${what}, not ${EXPECTED[kind]}`));
  logger.info('extension loaded', { extension: kind, module: file });
  return extension;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`;
}
