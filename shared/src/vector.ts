/** Vector math over Float32Array: the few operations aggregation and clients need, allocation-free where possible. */

export function assertSameLength(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: length ${a.length} != ${b.length}`);
}

/** out[i] = a[i] - b[i] */
export function subtract(a: Float32Array, b: Float32Array, out = new Float32Array(a.length)): Float32Array {
  assertSameLength(a, b, 'subtract');
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) - (b[i] as number);
  return out;
}

/** y[i] += alpha * x[i], in place on y (Float64Array accumulators keep long sums exact enough). */
export function axpy(alpha: number, x: Float32Array, y: Float32Array | Float64Array): void {
  assertSameLength(x, y, 'axpy');
  for (let i = 0; i < x.length; i++) y[i] = (y[i] as number) + alpha * (x[i] as number);
}

export function allFinite(v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
  return true;
}

export function l2Norm(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] as number) * (v[i] as number);
  return Math.sqrt(s);
}

/** cos(a, b), or 0 when either vector is zero. */
export function cosine(a: Float32Array, b: Float32Array): number {
  assertSameLength(a, b, 'cosine');
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
