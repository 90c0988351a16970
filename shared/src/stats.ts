/**
 * Order statistics over Float64Array scratch buffers, shared by the robust aggregators, detectors and benchmarks: Hoare's quickselect
 * (expected O(n), in place) and the median built on it. Pure; callers pass a scratch copy when they need their
 * data intact.
 */

/**
 * Rearranges a[lo..hi] (inclusive) so that a[k] holds the value it would hold if that range were sorted, with
 * smaller-or-equal values before it and greater-or-equal after it. Returns a[k]. NaN is not supported (sanity
 * checks reject non-finite updates before any aggregator runs).
 */
export function selectInPlace(a: Float64Array, k: number, lo = 0, hi = a.length - 1): number {
  if (!(k >= lo && k <= hi)) throw new RangeError(`selectInPlace: k ${k} outside [${lo}, ${hi}]`);
  while (hi > lo) {
    // Median of three as pivot keeps sorted and reverse-sorted inputs linear.
    const mid = (lo + hi) >>> 1;
    const x = a[lo] as number, y = a[mid] as number, z = a[hi] as number;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo, j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k] as number;
}

/** Median of a[lo..hi] (mean of the two middle values for an even count); reorders that range. */
export function medianInPlace(a: Float64Array, lo = 0, hi = a.length - 1): number {
  const n = hi - lo + 1;
  if (n <= 0) throw new RangeError('medianInPlace: empty range');
  const upper = lo + (n >>> 1);
  const hiMid = selectInPlace(a, upper, lo, hi);
  if (n % 2 === 1) return hiMid;
  // After selecting `upper`, the lower middle is the largest value left of it.
  let loMid = -Infinity;
  for (let i = lo; i < upper; i++) if ((a[i] as number) > loMid) loMid = a[i] as number;
  return (loMid + hiMid) / 2;
}

/** Median of the values, leaving them untouched. */
export function median(values: ArrayLike<number>): number {
  return medianInPlace(Float64Array.from(values));
}

/** The q-quantile by nearest rank (the ⌈q·n⌉-th smallest value, q ∈ [0, 1]), leaving the values untouched. */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) throw new RangeError('quantile: no values');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q ${q} not in [0, 1]`);
  const k = Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1));
  return selectInPlace(Float64Array.from(values), k);
}
