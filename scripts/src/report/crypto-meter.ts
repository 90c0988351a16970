/**
 * Times the signature and commitment calls that the secure-aggregation protocol code makes, inside a real run,
 * without touching the protocol code: a module-resolution hook (node:module register) hands every module under
 * client-sdk/src/secagg/ and coordinator/src/secagg/ a facade of @fedwarden/shared instead of the package itself.
 * The facade re-exports everything unchanged, except that the functions below run inside a stopwatch whose
 * totals are filed by side (participant or coordinator) and kind:
 *
 *   sign:   signStatement (keys, survivors) and attestItems (encaps, shares: SHA-256 of each recipient's item,
 *           then one ML-DSA-65 signature over the list);
 *   verify: verifyStatement (keys, survivors), checkAttested (a recipient: SHA-256 of its own item, then
 *           ML-DSA-65 verify) and checkAttestedAll (the coordinator: SHA-256 of every item, then verify);
 *   commit: commitSecret and commitShare (SHA-256 commitments, made and checked).
 *
 * Everything else in the facade is the package's own binding (the same module instance the rest of the process
 * uses). A stopwatch costs two performance.now() calls, well under a microsecond, per metered call.
 *
 * installCryptoMeter() must run before anything imports the protocol modules: the entry script calls it, then
 * imports the bench dynamically.
 */
import { register } from 'node:module';
import { performance } from 'node:perf_hooks';

export const METERED = {
  sign: ['signStatement', 'attestItems'],
  verify: ['verifyStatement', 'checkAttested', 'checkAttestedAll'],
  commit: ['commitSecret', 'commitShare'],
} as const;
export type MeterKind = keyof typeof METERED;
export type MeterSide = 'participant' | 'coordinator';

export interface MeterTotal {
  calls: number;
  ms: number;
}
export type MeterTotals = Record<MeterSide, Record<MeterKind, MeterTotal>>;

export interface CryptoMeter {
  /** Called by the facades: run `fn`, file its time under side and kind. */
  time<T>(side: MeterSide, kind: MeterKind, fn: () => T): T;
  /** Totals since the last reset. */
  totals(): MeterTotals;
  reset(): void;
  /** Whether any facade was loaded (false: the hook did not take, and the totals stay at zero). */
  readonly loaded: boolean;
}

const GLOBAL = '__fedwardenCryptoMeter';
const QUERY = 'fedwarden-crypto-meter';

function zeros(): MeterTotals {
  const side = (): Record<MeterKind, MeterTotal> => ({ sign: { calls: 0, ms: 0 }, verify: { calls: 0, ms: 0 }, commit: { calls: 0, ms: 0 } });
  return { participant: side(), coordinator: side() };
}

/**
 * The hooks, run by Node in its loader thread. resolve: @fedwarden/shared imported from a secagg module of
 * client-sdk or coordinator becomes the real URL plus a query naming the side. load: such a URL is the facade.
 */
const HOOKS = `
const QUERY = ${JSON.stringify(QUERY)};
const METERED = ${JSON.stringify(METERED)};
const SIDES = [['/client-sdk/src/secagg/', 'participant'], ['/coordinator/src/secagg/', 'coordinator']];
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  const side = specifier === '@fedwarden/shared' && context.parentURL ? SIDES.find(([dir]) => context.parentURL.includes(dir))?.[1] : undefined;
  if (!side) return resolved;
  const url = new URL(resolved.url);
  url.searchParams.set(QUERY, side);
  return { ...resolved, url: url.href, shortCircuit: true };
}
export async function load(url, context, next) {
  const side = url.startsWith('file:') ? new URL(url).searchParams.get(QUERY) : null;
  if (!side) return next(url, context);
  const real = new URL(url);
  real.searchParams.delete(QUERY);
  const lines = [
    'import * as real from ' + JSON.stringify(real.href) + ';',
    'export * from ' + JSON.stringify(real.href) + ';',
    'const meter = globalThis[' + JSON.stringify(${JSON.stringify(GLOBAL)}) + '];',
    'meter.markLoaded();',
  ];
  for (const [kind, names] of Object.entries(METERED)) {
    for (const name of names) {
      lines.push('export const ' + name + ' = (...args) => meter.time(' + JSON.stringify(side) + ', ' + JSON.stringify(kind) + ', () => real.' + name + '(...args));');
    }
  }
  return { format: 'module', source: lines.join('\\n'), shortCircuit: true };
}
`;

/** Install the meter and the hooks; idempotent. */
export function installCryptoMeter(): CryptoMeter {
  const g = globalThis as unknown as Record<string, CryptoMeter | undefined>;
  const existing = g[GLOBAL];
  if (existing) return existing;
  let totals = zeros();
  let loaded = false;
  const meter = {
    time<T>(side: MeterSide, kind: MeterKind, fn: () => T): T {
      const t0 = performance.now();
      try {
        return fn();
      } finally {
        const entry = totals[side][kind];
        entry.ms += performance.now() - t0;
        entry.calls++;
      }
    },
    totals: () => totals,
    reset: () => {
      totals = zeros();
    },
    markLoaded: () => {
      loaded = true;
    },
    get loaded() {
      return loaded;
    },
  };
  g[GLOBAL] = meter;
  register(`data:text/javascript,${encodeURIComponent(HOOKS)}`);
  return meter;
}
