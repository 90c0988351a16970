/**
 * Example evaluator (config: "extensions": { "evaluator": { "module": "./logistic-evaluator.mjs",
 * "options": { "data": "./holdout.json" } } }): reads the global adapter as the weights of a logistic-regression
 * classifier and scores it on a held-out set the operator keeps, a JSON file { "x": number[][], "y": (0|1)[] }.
 * options.data is resolved against the config file's directory; without it, data/holdout.json beside this file.
 * A real task would load its model instead (e.g. @fedwarden/client's TrainableModel: setWeights, evaluate).
 *
 * Contract: the default export is a factory (ctx) => evaluator, possibly async; the evaluator is called after
 * each completed round with a copy of the new global adapter and the round number, and returns accuracy (a
 * number in [0, 1]) or { accuracy, loss }, or a promise of either. Both go into the round record, /metrics
 * (fedwarden_evaluation_accuracy, fedwarden_evaluation_loss) and the 'round' event. If it throws, the round is
 * recorded without them.
 *
 * @typedef {import('@fedwarden/coordinator').ExtensionContext} ExtensionContext
 * @typedef {import('@fedwarden/coordinator').EvaluateHook} EvaluateHook
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** @param {ExtensionContext} ctx @returns {Promise<EvaluateHook>} */
export default async function createLogisticEvaluator(ctx) {
  const file =
    ctx.options.data === undefined ? fileURLToPath(new URL('./data/holdout.json', import.meta.url)) : resolve(ctx.configDir, String(ctx.options.data));
  const { x, y } = JSON.parse(await readFile(file, 'utf8'));
  if (!Array.isArray(x) || !Array.isArray(y) || x.length === 0 || x.length !== y.length) throw new Error(`${file}: want "x" and "y" of the same non-zero length`);
  const dim = x[0].length;
  ctx.logger.info('evaluation data loaded', { file, examples: x.length, features: dim });

  return (global) => {
    if (global.length !== dim) throw new Error(`adapter has ${global.length} values, the data ${dim} features`);
    let correct = 0;
    let loss = 0;
    for (let n = 0; n < x.length; n++) {
      let z = 0;
      for (let i = 0; i < dim; i++) z += global[i] * x[n][i];
      if ((z > 0 ? 1 : 0) === y[n]) correct++;
      // Log loss of sigmoid(z), written so that large |z| neither overflows nor loses precision.
      loss += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - y[n] * z;
    }
    return { accuracy: correct / x.length, loss: loss / x.length };
  };
}
