import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import {
  KrylovBasis,
  extendKrylov,
  krylovRitz,
  nextBasisBlock,
  orthonormalizeColumns,
  ritzVectors,
  svdBlockStep,
  svdStart,
} from '../../shared/core/numeric/block-svd';
import { CsrMatrix, selectRows } from '../../shared/core/numeric/csr';
import { truncatedSvd } from '../../shared/core/numeric/truncated-svd';
import { fitTfidfVectorizer } from '../../shared/core/numeric/vectorizer';
import { SAMPLE_DATASET } from '../helpers/env';

const docs = (
  JSON.parse(fs.readFileSync(SAMPLE_DATASET, 'utf8')) as { _source: { complaint_what_happened: string } }[]
).map((h) => h._source.complaint_what_happened);
const X = fitTfidfVectorizer(docs, { minDf: 2, maxDf: 0.95 }).matrix;

/** X's rows in blocks of `size`, as stage 2 cuts them. */
function rowBlocks(m: CsrMatrix, size: number): CsrMatrix[] {
  const out: CsrMatrix[] = [];
  for (let r = 0; r < m.rows; r += size)
    out.push(
      selectRows(
        m,
        Array.from({ length: Math.min(size, m.rows - r) }, (_, i) => r + i),
      ),
    );
  return out;
}

/** XᵀX·Z as the SVD's rounds compute it: each block's share, summed in block order. */
function product(blocks: readonly CsrMatrix[], Z: Float64Array, p: number): Float64Array {
  const sum = new Float64Array(X.cols * p);
  for (const b of blocks) {
    const part = svdBlockStep(b, Z, p);
    for (let q = 0; q < sum.length; q++) sum[q]! += part[q]!;
  }
  return sum;
}

/** The block Krylov method as fit-nmf-blocks.ts runs it: rounds until the residual is at most `tol`. */
function krylov(blocks: readonly CsrMatrix[], k: number, p: number, basisRounds: number, tol: number) {
  const basis: KrylovBasis = { blocks: [svdStart(X.cols, p)], products: [] };
  for (let round = 1; round <= 100; round++) {
    basis.products.push(product(blocks, basis.blocks.at(-1)!, p));
    const ritz = krylovRitz(basis, X.cols, p, k);
    if (ritz.residual <= tol) return { ...ritz, rounds: round };
    extendKrylov(basis, X.cols, p, basisRounds);
  }
  throw new Error('no convergence in 100 rounds');
}

function dot(a: Float64Array, ai: number, as: number, b: Float64Array, bi: number, bs: number, n: number) {
  let s = 0;
  for (let j = 0; j < n; j++) s += a[j * as + ai]! * b[j * bs + bi]!;
  return s;
}

describe('block Krylov SVD over row blocks (block-svd.ts)', () => {
  const k = 3;
  const exact = truncatedSvd(X, k);

  for (const [p, basisRounds] of [
    [4, 16],
    [4, 3],
    [8, 16],
  ] as const) {
    it(`${p} columns a round, restarting every ${basisRounds} rounds: Lanczos's singular values and vectors`, () => {
      const found = krylov(rowBlocks(X, 300), k, p, basisRounds, 1e-7);
      for (let t = 0; t < k; t++) {
        assert.ok(
          Math.abs(found.S[t]! - exact.S[t]!) <= 1e-9 * exact.S[0]!,
          `σ${t}: ${found.S[t]} against ${exact.S[t]}`,
        );
        const cos = Math.abs(dot(found.Vt, t, k, exact.V[t]!, 0, 1, X.cols));
        assert.ok(cos >= 1 - 1e-9, `v${t}: |cos| ${cos}`);
      }
    });
  }

  it('takes fewer rounds than subspace iteration with twice the columns', () => {
    const blocks = rowBlocks(X, 300);
    const krylovRounds = krylov(blocks, k, 4, 16, 1e-7).rounds;
    let Z = svdStart(X.cols, 8);
    let subspaceRounds = 0;
    for (let round = 1; round <= 100; round++) {
      const P = product(blocks, Z, 8);
      subspaceRounds = round;
      if (ritzVectors(Z, P, X.cols, 8, k).residual <= 1e-7) break;
      orthonormalizeColumns(P, X.cols, 8);
      Z = P;
    }
    assert.ok(krylovRounds < subspaceRounds, `${krylovRounds} Krylov rounds against ${subspaceRounds}`);
  });

  it('the next block is orthonormal and orthogonal to the basis; a product inside the basis comes out zero', () => {
    const cols = X.cols;
    const p = 4;
    const Q1 = svdStart(cols, p);
    const Q2 = nextBasisBlock([Q1], product(rowBlocks(X, 500), Q1, p), cols, p);
    const Q3 = nextBasisBlock([Q1, Q2], product(rowBlocks(X, 500), Q2, p), cols, p);
    for (const [A, B, what] of [
      [Q3, Q1, 'Q3ᵀQ1'],
      [Q3, Q2, 'Q3ᵀQ2'],
      [Q2, Q1, 'Q2ᵀQ1'],
    ] as const)
      for (let a = 0; a < p; a++)
        for (let b = 0; b < p; b++) {
          const d = dot(A, a, p, B, b, p, cols);
          assert.ok(Math.abs(d) < 1e-12, `${what}[${a}][${b}] = ${d}`);
        }
    for (let a = 0; a < p; a++)
      for (let b = 0; b < p; b++) {
        const d = dot(Q3, a, p, Q3, b, p, cols);
        assert.ok(Math.abs(d - (a === b ? 1 : 0)) < 1e-12, `Q3ᵀQ3[${a}][${b}] = ${d}`);
      }
    // A "product" that is a combination of the basis's columns adds nothing: zero columns.
    const inside = new Float64Array(cols * p);
    for (let j = 0; j < cols; j++)
      for (let c = 0; c < p; c++) inside[j * p + c] = 2 * Q1[j * p + c]! - Q2[j * p + ((c + 1) % p)]!;
    const none = nextBasisBlock([Q1, Q2], inside, cols, p);
    assert.ok(
      none.every((v) => v === 0),
      'a block inside the basis leaves only zero columns',
    );
  });
});
