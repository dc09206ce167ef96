/** Shared helpers for the numeric tests: fixture loading and tolerance assertions. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CsrMatrix, selectRows } from '../../shared/core/numeric/csr';
import { CountVectorizerOptions, fitTfidfVectorizer } from '../../shared/core/numeric/vectorizer';

/** Reads test/fixtures/sklearn/<name>.json relative to the compiled file (dist/test/numeric). */
export function loadFixture<T>(name: string): T {
  const file = path.resolve(__dirname, '../../../test/fixtures/sklearn', `${name}.json`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** A classifier fixture: documents, sklearn's vectorizer settings, the train and test rows, one case per fit. */
export interface ClassifierFixture<Case> {
  docs: string[];
  vectorizer: CountVectorizerOptions;
  train: number[];
  test: number[];
  cases: Case[];
}

/** What every case of a classifier fixture holds: its labels, and sklearn's fit and test predictions. */
export interface ClassifierCase {
  name: string;
  classes: number;
  /** one label per document */
  y: number[];
  coef: number[];
  intercept: number[];
  probaTest: number[];
  predTest: number[];
  accuracyTest: number;
}

/**
 * A classifier fixture's TF-IDF matrix X, its train and test rows, and `labels(y)`: a case's labels
 * (one per document) split the same way.
 */
export function splitFixture(fx: Omit<ClassifierFixture<unknown>, 'cases'>) {
  const X = fitTfidfVectorizer(fx.docs, fx.vectorizer).matrix;
  return {
    X,
    Xtr: selectRows(X, fx.train),
    Xte: selectRows(X, fx.test),
    labels: (y: readonly number[]) => ({
      yTr: Int32Array.from(fx.train, (i) => y[i]!),
      yTe: Int32Array.from(fx.test, (i) => y[i]!),
    }),
  };
}

export interface CsrJson {
  rows: number;
  cols: number;
  indptr: number[];
  indices: number[];
  data: number[];
}

export function csrFromJson(j: CsrJson): CsrMatrix {
  return {
    rows: j.rows,
    cols: j.cols,
    indptr: Int32Array.from(j.indptr),
    indices: Int32Array.from(j.indices),
    data: Float64Array.from(j.data),
  };
}

/** Largest |a_i − b_i|; asserts equal lengths. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length mismatch');
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= m)) m = d; // NaN propagates as a failure
  }
  return m;
}

export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what: string,
): void {
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= tol, `${what}: max |diff| = ${d} > ${tol}`);
}

export function assertCloseNumber(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: ${actual} vs ${expected} (|diff| ${Math.abs(actual - expected)} > ${tol})`,
  );
}

/** Same sparsity structure and values within tol. */
export function assertCsrClose(actual: CsrMatrix, expected: CsrMatrix, tol: number, what: string): void {
  assert.equal(actual.rows, expected.rows, `${what}: rows`);
  assert.equal(actual.cols, expected.cols, `${what}: cols`);
  assert.deepEqual(Array.from(actual.indptr), Array.from(expected.indptr), `${what}: indptr`);
  const n = expected.indptr[expected.rows]!;
  assert.deepEqual(
    Array.from(actual.indices.subarray(0, n)),
    Array.from(expected.indices),
    `${what}: indices`,
  );
  assertClose(actual.data.subarray(0, n), expected.data, tol, `${what}: data`);
}
