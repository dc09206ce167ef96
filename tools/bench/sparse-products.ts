/**
 * The sparse products of stage 2 on the dev data's TF-IDF matrix (its noun lemmas, minDf 2, maxDf 0.95),
 * one process:
 *
 *   npm run bench:products -- [FILE] [--rounds N]
 *
 * Prints, best of N rounds, nanoseconds per non-zero of X·A and Xᵀ·A for K = 1, 3 and 4 columns: in
 * JavaScript loops (spmmScalar, spmmTransposedScalar), in WebAssembly with the rows streamed through
 * the workspace (what a block step runs), and with the rows pinned (what fitNmf and the Lanczos SVD run).
 * Then the rounds NMF's start over blocks takes to the stage's tolerance: subspace iteration with 8
 * columns a round against the block Krylov method with 4 (the stage's), on X cut into 4 blocks.
 */
import * as path from 'node:path';
import { readTickets } from '../../shared/core/dataset/read-tickets';
import { createNounExtractor } from '../../shared/core/nlp/noun-extractor';
import {
  KrylovBasis,
  extendKrylov,
  krylovRitz,
  orthonormalizeColumns,
  ritzVectors,
  svdBlockStep,
  svdStart,
} from '../../shared/core/numeric/block-svd';
import { CsrMatrix, selectRows } from '../../shared/core/numeric/csr';
import { spmmScalar, spmmTransposedScalar } from '../../shared/core/numeric/sparse-kernels';
import { fitTfidfVectorizer } from '../../shared/core/numeric/vectorizer';
import {
  pinRows,
  streamedSpmm,
  streamedSpmmTransposed,
} from '../../shared/core/numeric/wasm/streamed-products';
import {
  SVD_BASIS_ROUNDS,
  SVD_TOLERANCE,
} from '../../shared/pipeline/stages/feature-extraction/fit-nmf-blocks';

const PROJECT_ROOT = path.resolve(__dirname, '../../..');

type Product = (m: CsrMatrix, src: Float64Array, K: number, dst: Float64Array) => void;

/** Best of `rounds` timings of `f`, in nanoseconds per non-zero of X. */
function nsPerNonZero(f: () => void, nnz: number, rounds: number): number {
  f();
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < 5; i++) f();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 5);
  }
  return best / nnz;
}

/** Rounds until the top-3 residual is within SVD_TOLERANCE: subspace iteration or block Krylov. */
function svdRounds(blocks: readonly CsrMatrix[], cols: number, p: number, krylov: boolean): number {
  const product = (Z: Float64Array) => {
    const sum = new Float64Array(cols * p);
    for (const b of blocks) {
      const part = svdBlockStep(b, Z, p);
      for (let q = 0; q < sum.length; q++) sum[q]! += part[q]!;
    }
    return sum;
  };
  if (!krylov) {
    let Z = svdStart(cols, p);
    for (let round = 1; round <= 100; round++) {
      const P = product(Z);
      if (ritzVectors(Z, P, cols, p, 3).residual <= SVD_TOLERANCE) return round;
      orthonormalizeColumns(P, cols, p);
      Z = P;
    }
    return Infinity;
  }
  const basis: KrylovBasis = { blocks: [svdStart(cols, p)], products: [] };
  for (let round = 1; round <= 100; round++) {
    basis.products.push(product(basis.blocks.at(-1)!));
    if (krylovRitz(basis, cols, p, 3).residual <= SVD_TOLERANCE) return round;
    extendKrylov(basis, cols, p, SVD_BASIS_ROUNDS);
  }
  return Infinity;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    process.stdout.write('Usage: npm run bench:products -- [FILE] [--rounds N]\n');
    return;
  }
  const roundsAt = args.indexOf('--rounds');
  const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 5;
  const file =
    args.find((a, i) => !a.startsWith('--') && (roundsAt < 0 || i !== roundsAt + 1)) ??
    path.resolve(PROJECT_ROOT, '../shared/data/complaints-dev.json');
  const extract = createNounExtractor();
  const texts: string[] = [];
  await readTickets(file, (r) => {
    texts.push(extract(r.narrative).join(' '));
  });
  const X = fitTfidfVectorizer(texts, { minDf: 2, maxDf: 0.95 }).matrix;
  const nnz = X.indptr[X.rows]!;
  process.stdout.write(`${path.basename(file)}: X ${X.rows} × ${X.cols}, ${nnz} non-zeros\n\n`);
  process.stdout.write(
    '| K | X·A: JS | streamed | pinned | Xᵀ·A: JS | streamed | pinned |\n|---|---:|---:|---:|---:|---:|---:|\n',
  );
  for (const K of [1, 3, 4]) {
    const A = Float64Array.from({ length: X.cols * K }, (_, q) => (q % 13) / 13);
    const R = Float64Array.from({ length: X.rows * K }, (_, q) => (q % 7) / 7 - 0.3);
    const rows = new Float64Array(X.rows * K);
    const cols = new Float64Array(X.cols * K);
    const time = (f: Product, src: Float64Array, dst: Float64Array) =>
      nsPerNonZero(() => f(X, src, K, dst), nnz, rounds);
    const js = [time(spmmScalar, A, rows), time(spmmTransposedScalar, R, cols)];
    const streamed = [time(streamedSpmm, A, rows), time(streamedSpmmTransposed, R, cols)];
    const unpin = pinRows(X, K);
    const pinned = [time(streamedSpmm, A, rows), time(streamedSpmmTransposed, R, cols)];
    unpin();
    const f = (v: number) => v.toFixed(2);
    process.stdout.write(
      `| ${K} | ${f(js[0]!)} | ${f(streamed[0]!)} | ${f(pinned[0]!)} | ${f(js[1]!)} | ${f(streamed[1]!)} | ${f(pinned[1]!)} |\n`,
    );
  }
  process.stdout.write('\n(nanoseconds per non-zero, best of ' + rounds + ' rounds of 5 products)\n\n');
  const quarter = Math.ceil(X.rows / 4);
  const blocks = [0, 1, 2, 3].map((b) =>
    selectRows(
      X,
      Array.from({ length: Math.max(0, Math.min(quarter, X.rows - b * quarter)) }, (_, i) => b * quarter + i),
    ),
  );
  const subspace = svdRounds(blocks, X.cols, 8, false);
  const krylov = svdRounds(blocks, X.cols, 4, true);
  process.stdout.write(
    `NMF's start over 4 blocks, to a residual of ${SVD_TOLERANCE}: subspace iteration ${subspace} rounds × 8 columns (${subspace * 8} column products), block Krylov ${krylov} rounds × 4 columns (${krylov * 4})\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:products: ${(err as Error).message}\n`);
  process.exit(1);
});
