/**
 * The row space of a growing integer matrix, exactly (BigInt, rows kept fraction-free in reduced echelon form):
 * its rank, and which unit vectors e_i it contains. For a participation matrix (rows: group sums an observer
 * saw, columns: participants), e_i in the row space means participant i's (time-averaged) update can be solved
 * from those sums (Lam et al., "Gradient disaggregation", ICML 2021). Exact, so that "solvable" is never a
 * rounding artefact. Pure.
 */

export class RowSpace {
  /** Each row is zero in every other row's pivot column: a scalar multiple of the rational RREF's row. */
  private readonly rows: bigint[][] = [];
  private readonly pivots: number[] = [];

  constructor(readonly columns: number) {
    if (!Number.isSafeInteger(columns) || columns < 1) throw new RangeError(`RowSpace: columns must be a positive integer, got ${columns}`);
  }

  get rank(): number {
    return this.rows.length;
  }

  /** Add a row of integers; true if it raised the rank. */
  add(row: readonly number[]): boolean {
    if (row.length !== this.columns) throw new RangeError(`RowSpace.add: row has ${row.length} entries, expected ${this.columns}`);
    let v = row.map((x) => {
      if (!Number.isSafeInteger(x)) throw new RangeError(`RowSpace.add: entry ${x} is not an integer`);
      return BigInt(x);
    });
    this.rows.forEach((r, k) => {
      const p = this.pivots[k] as number;
      if (v[p] !== 0n) v = eliminate(v, r, p);
    });
    const pivot = v.findIndex((x) => x !== 0n);
    if (pivot < 0) return false;
    for (let k = 0; k < this.rows.length; k++) {
      const r = this.rows[k] as bigint[];
      if (r[pivot] !== 0n) this.rows[k] = eliminate(r, v, pivot);
    }
    this.rows.push(v);
    this.pivots.push(pivot);
    return true;
  }

  /** Add the 0/1 indicator row of `members` (column indices). */
  addIndicator(members: readonly number[]): boolean {
    const row = new Array<number>(this.columns).fill(0);
    for (const m of members) {
      if (!Number.isSafeInteger(m) || m < 0 || m >= this.columns) throw new RangeError(`RowSpace.addIndicator: column ${m} outside 0..${this.columns - 1}`);
      row[m] = 1;
    }
    return this.add(row);
  }

  /** Columns i whose unit vector e_i lies in the row space, ascending. */
  solvable(): number[] {
    return this.rows
      .filter((r) => r.filter((x) => x !== 0n).length === 1)
      .map((r) => r.findIndex((x) => x !== 0n))
      .sort((a, b) => a - b);
  }
}

/** a·r[p] − r·a[p]: zero in column p, reduced by the gcd of its entries. */
function eliminate(a: readonly bigint[], r: readonly bigint[], p: number): bigint[] {
  const ap = a[p] as bigint;
  const rp = r[p] as bigint;
  const out = a.map((x, i) => x * rp - (r[i] as bigint) * ap);
  let g = 0n;
  for (const x of out) g = gcd(g, x < 0n ? -x : x);
  return g > 1n ? out.map((x) => x / g) : out;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}
