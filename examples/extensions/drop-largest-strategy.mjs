/**
 * Example aggregation strategy (config: "extensions": { "strategy": "./drop-largest-strategy.mjs" }): leave out
 * the k units with the largest update norm, then take the sample-weighted mean of the rest. It stops a few
 * scaled (boosted) updates and nothing subtler; it is here to show the contract, not as a defence to deploy.
 *
 * Contract: the default export is a factory (ctx) => Strategy, possibly async. ctx.options is the config
 * entry's "options" ({ "drop": k }, default 1); ctx.config, ctx.logger, ctx.seed and ctx.configDir are there
 * too. A Strategy is pure: units in, step out, no I/O; randomness only from the per-round strategyCtx.seed.
 *
 * @typedef {import('@fedwarden/coordinator').Strategy} Strategy
 * @typedef {import('@fedwarden/coordinator').ExtensionContext} ExtensionContext
 */

/** @param {ExtensionContext} ctx @returns {Strategy} */
export default function createDropLargest(ctx) {
  const drop = ctx.options.drop ?? 1;
  if (!Number.isInteger(drop) || drop < 0) throw new Error(`options.drop must be a non-negative integer, got ${JSON.stringify(drop)}`);
  return {
    name: `drop-largest-${drop}`,
    tolerance: `up to ${drop} scaled updates; not attacks of ordinary norm`,
    aggregate(units, strategyCtx) {
      const rejected = [];
      const candidates = [];
      for (const unit of units) {
        const reason = problem(unit, strategyCtx.dim);
        if (reason) rejected.push({ id: unit.id, reason });
        else candidates.push({ unit, norm: l2Norm(unit.delta) });
      }
      // Largest norm first; always keep at least one unit.
      candidates.sort((a, b) => b.norm - a.norm);
      const cut = Math.min(drop, Math.max(0, candidates.length - 1));
      for (const { unit, norm } of candidates.slice(0, cut)) rejected.push({ id: unit.id, reason: `one of the ${drop} largest norms (${norm.toPrecision(3)})` });
      const kept = candidates.slice(cut).map((c) => c.unit);

      const step = new Float32Array(strategyCtx.dim);
      const total = kept.reduce((s, u) => s + u.weight, 0);
      for (const u of kept) for (let i = 0; i < step.length; i++) step[i] += (u.weight / total) * u.delta[i];
      return { step, kept: kept.map((u) => u.id), rejected, adjusted: [] };
    },
  };
}

function l2Norm(v) {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
  return Math.sqrt(sum);
}

function problem(unit, dim) {
  if (unit.delta.length !== dim) return `wrong length ${unit.delta.length} ≠ ${dim}`;
  if (!(unit.weight > 0 && Number.isFinite(unit.weight))) return `weight ${unit.weight}`;
  if (!unit.delta.every(Number.isFinite)) return 'non-finite values';
  return undefined;
}
