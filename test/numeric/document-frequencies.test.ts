import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fs from 'node:fs';
import { BlockTermCounter } from '../../shared/core/numeric/block-counts';
import {
  TermFrequencies,
  decodeTermFrequencies,
  encodeTermFrequencies,
  mergeTermFrequencies,
  pruneTerms,
} from '../../shared/core/numeric/document-frequencies';
import { TermList } from '../../shared/core/numeric/term-list';
import {
  CountVectorizerOptions,
  fitCountVectorizer,
  fitIdf,
  idfFromDocumentFrequencies,
} from '../../shared/core/numeric/vectorizer';
import { SAMPLE_DATASET } from '../helpers/env';

/** The sample's narratives: real text, with n-grams and df limits that prune. */
const DOCS = (JSON.parse(fs.readFileSync(SAMPLE_DATASET, 'utf8')) as { _source: Record<string, unknown> }[])
  .map((r) => String(r._source.complaint_what_happened ?? ''))
  .filter((t) => t.length > 0);

/** The docs counted block by block, each block's frequencies through their bytes, merged in order. */
function blocked(docs: readonly string[], size: number, opts: CountVectorizerOptions): TermFrequencies {
  let all: TermFrequencies = { docs: 0, terms: TermList.of([]), df: new Int32Array(0) };
  for (let i = 0; i < docs.length; i += size) {
    const counter = new BlockTermCounter(opts);
    for (const doc of docs.slice(i, i + size)) counter.add(doc);
    const block = counter.finish();
    const bytes = encodeTermFrequencies(block.terms, block.df);
    all = mergeTermFrequencies(all, { docs: block.docs, ...decodeTermFrequencies(bytes, `block ${i}`) });
  }
  return all;
}

describe('document frequencies counted by block', () => {
  for (const opts of [
    { minDf: 2, maxDf: 0.95 },
    { minDf: 3, maxDf: 0.5, ngramRange: [1, 2] as const },
    { minDf: 0.01, maxDf: 1.0 },
  ] satisfies CountVectorizerOptions[]) {
    it(`give fitCountVectorizer's vocabulary and fitIdf's weights (${JSON.stringify(opts)})`, () => {
      const whole = fitCountVectorizer(DOCS, opts);
      const idf = fitIdf(whole.counts);
      for (const size of [1, 97, DOCS.length]) {
        const pruned = pruneTerms(blocked(DOCS, size, opts), opts);
        assert.deepEqual(pruned.vocabulary, whole.vocabulary, `block size ${size}`);
        assert.deepEqual(idfFromDocumentFrequencies(pruned.df, DOCS.length), idf, `block size ${size}`);
      }
    });
  }

  it('fail as fitCountVectorizer does when no term survives pruning', () => {
    const opts = { minDf: 0.99, maxDf: 0.999 };
    assert.throws(() => fitCountVectorizer(DOCS, opts), /no terms remain/);
    assert.throws(() => pruneTerms(blocked(DOCS, 100, opts), opts), /no terms remain/);
  });
});
