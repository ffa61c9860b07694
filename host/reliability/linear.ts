/**
 * Dense linear algebra for the small systems of the reliability models (a few
 * hundred unknowns at most): Gaussian elimination with partial pivoting
 * (Golub & Van Loan, "Matrix Computations", 3.4). No numeric dependency.
 */

export type Matrix = number[][];

/** An n × n matrix of zeros. */
export function zeros(n: number, m = n): Matrix {
  return Array.from({ length: n }, () => new Array<number>(m).fill(0));
}

export function transpose(a: Matrix): Matrix {
  return a[0] === undefined ? [] : a[0].map((_, j) => a.map((row) => row[j]!));
}

/**
 * Solves a·x = b. Partial pivoting keeps the elimination stable for the
 * diagonally dominant generators of Markov chains; a (numerically) singular
 * matrix throws, since a model that produces one is malformed.
 */
export function solveLinear(a: Matrix, b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  const scale = Math.max(1e-300, ...a.flat().map(Math.abs));
  for (let col = 0; col < n; col++) {
    const pivot = pivotRow(m, col);
    if (Math.abs(m[pivot]![col]!) <= scale * 1e-14) throw new Error(`singular matrix (column ${col} has no usable pivot)`);
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    eliminateBelow(m, col);
  }
  return backSubstitute(m, n);
}

function pivotRow(m: Matrix, col: number): number {
  let best = col;
  for (let row = col + 1; row < m.length; row++) {
    if (Math.abs(m[row]![col]!) > Math.abs(m[best]![col]!)) best = row;
  }
  return best;
}

function eliminateBelow(m: Matrix, col: number): void {
  const pivotRowValues = m[col]!;
  for (let row = col + 1; row < m.length; row++) {
    const target = m[row]!;
    const factor = target[col]! / pivotRowValues[col]!;
    if (factor === 0) continue;
    for (let j = col; j < target.length; j++) target[j] = target[j]! - factor * pivotRowValues[j]!;
  }
}

function backSubstitute(m: Matrix, n: number): number[] {
  const x = new Array<number>(n).fill(0);
  for (let row = n - 1; row >= 0; row--) {
    let sum = m[row]![n]!;
    for (let j = row + 1; j < n; j++) sum -= m[row]![j]! * x[j]!;
    x[row] = sum / m[row]![row]!;
  }
  return x;
}

/** Row vector times matrix: v·a. */
export function vectorTimesMatrix(v: number[], a: Matrix): number[] {
  const out = new Array<number>(a[0]?.length ?? 0).fill(0);
  v.forEach((vi, i) => {
    if (vi === 0) return;
    const row = a[i]!;
    for (let j = 0; j < out.length; j++) out[j] = out[j]! + vi * row[j]!;
  });
  return out;
}

export function matrixTimesMatrix(a: Matrix, b: Matrix): Matrix {
  return a.map((row) => vectorTimesMatrix(row, b));
}
