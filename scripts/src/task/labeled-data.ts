/**
 * Helpers over LabeledData (flat row-major inputs, class-index labels): row selection and label histograms.
 * Pure functions over typed arrays; they copy, never alias, the rows they select.
 */
import type { LabeledData } from '@fedwarden/client';

/** The rows of `data` at `indices`, in that order. */
export function selectSamples(data: LabeledData, indices: ArrayLike<number>): LabeledData {
  const { inputDim } = data;
  const inputs = new Float32Array(indices.length * inputDim);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const row = indices[i] as number;
    if (!Number.isInteger(row) || row < 0 || row >= data.count) throw new RangeError(`selectSamples: row ${row} outside [0, ${data.count})`);
    inputs.set(data.inputs.subarray(row * inputDim, (row + 1) * inputDim), i * inputDim);
    labels[i] = data.labels[row] as number;
  }
  return { inputs, labels, count: indices.length, inputDim, numClasses: data.numClasses };
}

/** Rows of all parts, in order. */
export function concatSamples(parts: readonly LabeledData[]): LabeledData {
  const first = parts[0];
  if (first === undefined) throw new RangeError('concatSamples: no parts');
  const count = parts.reduce((n, p) => n + p.count, 0);
  const inputs = new Float32Array(count * first.inputDim);
  const labels = new Int32Array(count);
  let row = 0;
  for (const p of parts) {
    if (p.inputDim !== first.inputDim || p.numClasses !== first.numClasses) throw new RangeError('concatSamples: parts differ in shape');
    inputs.set(p.inputs.subarray(0, p.count * p.inputDim), row * first.inputDim);
    labels.set(p.labels.subarray(0, p.count), row);
    row += p.count;
  }
  return { inputs, labels, count, inputDim: first.inputDim, numClasses: first.numClasses };
}

/** Number of samples per class. */
export function labelCounts(labels: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as number;
    if (label < 0 || label >= numClasses) throw new RangeError(`labelCounts: label ${label} outside [0, ${numClasses})`);
    counts[label] = (counts[label] as number) + 1;
  }
  return counts;
}
