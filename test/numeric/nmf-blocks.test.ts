import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { BlockTermCounter, countsOverVocabulary } from '../../shared/core/numeric/block-counts';
import { CsrMatrix } from '../../shared/core/numeric/csr';
import {
  TermFrequencies,
  mergeTermFrequencies,
  pruneTerms,
} from '../../shared/core/numeric/document-frequencies';
import { TermList } from '../../shared/core/numeric/term-list';
import { initializeNmf, transposeDense } from '../../shared/core/numeric/nmf';
import { nndsvdaBlockW, nndsvdaStart, projectBlock } from '../../shared/core/numeric/nmf-blocks';
import { truncatedSvd } from '../../shared/core/numeric/truncated-svd';
import {
  CountVectorizerOptions,
  TfidfOptions,
  applyTfidf,
  fitTfidfVectorizer,
  idfFromDocumentFrequencies,
} from '../../shared/core/numeric/vectorizer';
import { stackRows } from '../../shared/pipeline/stages/feature-extraction/nmf-tasks';
import { SAMPLE_DATASET } from '../helpers/env';

const docs = (
  JSON.parse(fs.readFileSync(SAMPLE_DATASET, 'utf8')) as { _source: { complaint_what_happened: string } }[]
).map((h) => h._source.complaint_what_happened);
const opts: CountVectorizerOptions & TfidfOptions = { minDf: 2, maxDf: 0.95 };

/** The docs' TF-IDF rows block by block, as stage 2's tasks compute them. */
function blockwise(blockSize: number): { vocabulary: string[]; idf: Float64Array; blocks: CsrMatrix[] } {
  const counted = [];
  for (let first = 0; first < docs.length; first += blockSize) {
    const counter = new BlockTermCounter(opts);
    for (const doc of docs.slice(first, first + blockSize)) counter.add(doc);
    counted.push(counter.finish());
  }
  let all: TermFrequencies = { docs: 0, terms: TermList.of([]), df: new Int32Array(0) };
  for (const c of counted) all = mergeTermFrequencies(all, c);
  const pruned = pruneTerms(all, opts);
  const idf = idfFromDocumentFrequencies(pruned.df, docs.length, opts);
  const blocks = counted.map((c) =>
    applyTfidf(countsOverVocabulary(c.counts, c.terms, pruned.terms), idf, opts),
  );
  return { vocabulary: pruned.vocabulary, idf, blocks };
}

describe('TF-IDF block by block', () => {
  const whole = fitTfidfVectorizer(docs, opts);
  for (const blockSize of [docs.length, 300, 7]) {
    it(`blocks of ${blockSize}: fitTfidfVectorizer's vocabulary, idf and rows, exactly`, () => {
      const { vocabulary, idf, blocks } = blockwise(blockSize);
      assert.deepEqual(vocabulary, whole.vocabulary);
      assert.deepEqual(idf, whole.idf);
      const X = stackRows(blocks);
      assert.equal(X.rows, whole.matrix.rows);
      assert.deepEqual(X.indptr, whole.matrix.indptr);
      assert.deepEqual(X.indices, whole.matrix.indices.subarray(0, X.indptr[X.rows]));
      assert.deepEqual(X.data, whole.matrix.data.subarray(0, X.indptr[X.rows]));
    });
  }
});

describe("NNDSVDa start from right singular vectors and the blocks' projections", () => {
  it("with X's own vectors it is initializeNmf's start (to rounding), over blocks", () => {
    const X = fitTfidfVectorizer(docs, opts).matrix;
    const k = 3;
    const reference = initializeNmf(X, { nComponents: k });
    const svd = truncatedSvd(X, k);
    const Vt = new Float64Array(X.cols * k);
    for (let t = 0; t < k; t++) for (let j = 0; j < X.cols; j++) Vt[j * k + t] = svd.V[t]![j]!;
    const { blocks } = blockwise(250);
    const positive2 = [0, 0, 0];
    const negative2 = [0, 0, 0];
    const projections = blocks.map((b) => projectBlock(b, Vt, k));
    for (const p of projections)
      for (let t = 0; t < k; t++) {
        positive2[t]! += p.positive2[t]!;
        negative2[t]! += p.negative2[t]!;
      }
    let sum = 0;
    for (let p = 0; p < X.indptr[X.rows]!; p++) sum += X.data[p]!;
    const start = nndsvdaStart(Vt, X.cols, k, positive2, negative2, sum / (X.rows * X.cols));
    const H = transposeDense(start.Ht, X.cols, k);
    const W = new Float64Array(X.rows * k);
    let at = 0;
    projections.forEach((p, b) => {
      W.set(nndsvdaBlockW(p.P, blocks[b]!.rows, k, start), at);
      at += blocks[b]!.rows * k;
    });
    const worst = (a: Float64Array, b: Float64Array) =>
      a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    const scale = (a: Float64Array) => a.reduce((m, v) => Math.max(m, v), 0);
    assert.ok(worst(H, reference.H) <= 1e-9 * scale(reference.H), `H differs by ${worst(H, reference.H)}`);
    assert.ok(worst(W, reference.W) <= 1e-9 * scale(reference.W), `W differs by ${worst(W, reference.W)}`);
  });
});
