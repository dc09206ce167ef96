/**
 * Micro benchmark of the numeric core on pipeline-sized synthetic data:
 *   TF-IDF fit on 16k documents of ~60 tokens, NMF k=3 on the resulting 16k × ~7.7k matrix,
 *   logistic regression (5 classes) on 11k of its rows.
 * Run: npx tsc -p . && node dist/tools/bench/numeric-bench.js [--dump /tmp/bench-docs.json]
 * (--dump writes the documents and labels so the same data can be timed with sklearn.)
 */
import fs from 'node:fs';
import { selectRows } from '../../shared/core/numeric/csr';
import { fitLogisticRegression, predict } from '../../shared/core/numeric/logistic-regression';
import { accuracy } from '../../shared/core/numeric/metrics';
import { argmaxRows, fitNmf } from '../../shared/core/numeric/nmf';
import { Rng } from '../../shared/core/numeric/random';
import { trainTestSplit } from '../../shared/core/numeric/split';
import { fitTfidfVectorizer } from '../../shared/core/numeric/vectorizer';

function syntheticDocs(
  nDocs: number,
  nWords: number,
  topics: number,
  meanLen: number,
  seed: number,
): { docs: string[]; labels: Int32Array } {
  const rng = new Rng(seed);
  const syl = [
    'ba',
    'ke',
    'lo',
    'mi',
    'nu',
    'pa',
    're',
    'si',
    'to',
    'vu',
    'za',
    'de',
    'fo',
    'gi',
    'hu',
    'ja',
  ];
  const words: string[] = [];
  const seen = new Set<string>();
  while (words.length < nWords) {
    let w = '';
    const len = 2 + rng.nextInt(3);
    for (let s = 0; s < len; s++) w += syl[rng.nextInt(syl.length)];
    if (!seen.has(w)) {
      seen.add(w);
      words.push(w);
    }
  }
  // Zipf-like word popularity, each topic boosting its own block of words.
  const cdfs: Float64Array[] = [];
  for (let t = 0; t < topics; t++) {
    const w = new Float64Array(nWords);
    for (let i = 0; i < nWords; i++)
      w[i] = (1 / (1 + i) ** 1.1) * (Math.floor((i * topics) / nWords) === t ? 6 : 1);
    const perm = new Rng(seed + 1 + t).permutation(nWords);
    const cdf = new Float64Array(nWords);
    let s = 0;
    for (let i = 0; i < nWords; i++) cdf[i] = s += w[perm[i]!]!;
    for (let i = 0; i < nWords; i++) cdf[i]! /= s;
    cdfs.push(cdf);
  }
  const docs: string[] = [];
  const labels = new Int32Array(nDocs);
  for (let d = 0; d < nDocs; d++) {
    const z = rng.nextInt(topics);
    labels[d] = z;
    const len = Math.max(5, Math.round(meanLen + (rng.nextFloat() - 0.5) * meanLen));
    const toks: string[] = [];
    for (let k = 0; k < len; k++) {
      const t = rng.nextFloat() < 0.75 ? z : rng.nextInt(topics);
      const u = rng.nextFloat();
      const cdf = cdfs[t]!;
      let lo = 0;
      let hi = nWords - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cdf[mid]! < u) lo = mid + 1;
        else hi = mid;
      }
      toks.push(words[lo]!);
    }
    docs.push(toks.join(' '));
  }
  return { docs, labels };
}

function time<T>(label: string, f: () => T, repeats = 3): T {
  let best = Infinity;
  let out: T | undefined;
  for (let r = 0; r < repeats; r++) {
    const t0 = process.hrtime.bigint();
    out = f();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  console.log(`${label}: ${best.toFixed(0)} ms (best of ${repeats})`);
  return out!;
}

function main(): void {
  const { docs, labels } = syntheticDocs(16000, 7800, 5, 60, 2024);
  const dump = process.argv.indexOf('--dump');
  if (dump >= 0)
    fs.writeFileSync(process.argv[dump + 1]!, JSON.stringify({ docs, labels: Array.from(labels) }));
  const tf = time('TF-IDF fit (16k docs, min_df=2, max_df=0.95)', () =>
    fitTfidfVectorizer(docs, { minDf: 2, maxDf: 0.95 }),
  );
  const X = tf.matrix;
  console.log(`  matrix ${X.rows} × ${X.cols}, nnz ${X.indptr[X.rows]}`);
  const nmf = time('NMF k=3 (nndsvda)', () => fitNmf(X, { nComponents: 3, randomState: 123 }));
  console.log(
    `  nIter ${nmf.nIter}, reconstruction error ${nmf.reconstructionError.toFixed(6)}, label[0..9] ${Array.from(argmaxRows(nmf.W, X.rows, 3).subarray(0, 10))}`,
  );
  const split = trainTestSplit(X.rows, { testSize: 0.3, seed: 0, stratify: labels });
  const Xtr = selectRows(X, split.train);
  const yTr = Int32Array.from(split.train, (i) => labels[i]!);
  const model = time(`LR fit (${Xtr.rows} rows, 5 classes)`, () => fitLogisticRegression(Xtr, yTr, 5));
  const Xte = selectRows(X, split.test);
  console.log(
    `  nIter ${model.nIter}, test accuracy ${accuracy(
      Int32Array.from(split.test, (i) => labels[i]!),
      predict(model, Xte),
    ).toFixed(4)}`,
  );
  // Harder variant: 30% of the labels replaced at random, so L-BFGS runs longer.
  const rng = new Rng(77);
  const noisy = Int32Array.from(labels, (l) => (rng.nextFloat() < 0.3 ? rng.nextInt(5) : l));
  const yNoisy = Int32Array.from(split.train, (i) => noisy[i]!);
  const hard = time(`LR fit (${Xtr.rows} rows, 5 classes, 30% label noise)`, () =>
    fitLogisticRegression(Xtr, yNoisy, 5),
  );
  console.log(
    `  nIter ${hard.nIter}, test accuracy ${accuracy(
      Int32Array.from(split.test, (i) => noisy[i]!),
      predict(hard, Xte),
    ).toFixed(4)}`,
  );
  if (dump >= 0)
    fs.writeFileSync(
      process.argv[dump + 1]!,
      JSON.stringify({ docs, labels: Array.from(labels), noisy: Array.from(noisy) }),
    );
}

main();
