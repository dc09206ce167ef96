import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { columnsIn } from '../../shared/core/numeric/block-counts';
import { mergeDocumentFrequencies } from '../../shared/core/numeric/document-frequencies';
import { TermList, mergeTermFrequencies, positionsIn } from '../../shared/core/numeric/term-list';
import { compareCodePoints } from '../../shared/core/numeric/vectorizer';

/**
 * Terms whose order UTF-16 units and code points disagree on (a letter past U+FFFF against U+FFxx
 * ones), prefixes of each other, a space, bytes of 1 to 4 in UTF-8, the empty term.
 */
const TERMS = [
  '',
  ' ',
  'a',
  'a b',
  'ab',
  'ab c',
  'abc',
  'z',
  'é',
  'éa',
  'ﬀ',
  'ｚ',
  '𝐀',
  '𝐀𝐁',
  '𠀀',
  '中文',
].sort(compareCodePoints);

/** A deterministic pseudo-random subset of TERMS with frequencies (some 0), in order. */
function part(seed: number): { terms: string[]; df: number[] } {
  const terms: string[] = [];
  const df: number[] = [];
  let x = seed;
  for (const t of TERMS) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    if (x % 3 === 0) continue;
    terms.push(t);
    df.push(x % 5);
  }
  return { terms, df };
}

describe('term lists as bytes (TermList)', () => {
  it('round-trip through their bytes', () => {
    const list = TermList.decode(TermList.of(TERMS).encode(), 'terms.bin');
    assert.equal(list.count, TERMS.length);
    assert.deepEqual(list.strings(), TERMS);
    assert.deepEqual(TermList.decode(TermList.of([]).encode(), 'empty.bin').strings(), []);
  });

  it('compare as code points do', () => {
    const list = TermList.of(TERMS);
    for (let i = 0; i < TERMS.length; i++)
      for (let j = 0; j < TERMS.length; j++)
        assert.equal(
          Math.sign(list.compare(i, list, j)),
          Math.sign(compareCodePoints(TERMS[i]!, TERMS[j]!)),
          `${JSON.stringify(TERMS[i])} vs ${JSON.stringify(TERMS[j])}`,
        );
  });

  it("merge as mergeDocumentFrequencies does, leaving out the second list's terms of frequency 0", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const a = part(seed);
      const b = part(seed + 100);
      // The first list as a merge leaves it: no frequency of 0.
      const aKept = { terms: a.terms.filter((_, i) => a.df[i]! > 0), df: a.df.filter((d) => d > 0) };
      const bKept = { terms: b.terms.filter((_, i) => b.df[i]! > 0), df: b.df.filter((d) => d > 0) };
      const want = mergeDocumentFrequencies([
        { docs: 3, ...aKept },
        { docs: 4, ...bKept },
      ]);
      const got = mergeTermFrequencies(
        { docs: 3, terms: TermList.of(aKept.terms), df: Int32Array.from(aKept.df) },
        { docs: 4, terms: TermList.of(b.terms), df: Int32Array.from(b.df) },
      );
      assert.equal(got.docs, want.docs);
      assert.deepEqual(got.terms.strings(), want.terms, `seed ${seed}`);
      assert.deepEqual(Array.from(got.df), want.df, `seed ${seed}`);
    }
  });

  it("find a list's terms in another as columnsIn does, and pick terms by position", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const terms = part(seed).terms;
      const vocabulary = part(seed + 7).terms;
      assert.deepEqual(
        Array.from(positionsIn(TermList.of(terms), TermList.of(vocabulary))),
        Array.from(columnsIn(terms, vocabulary)),
      );
    }
    assert.deepEqual(TermList.of(TERMS).pick([0, 3, 12]).strings(), [TERMS[0], TERMS[3], TERMS[12]]);
  });

  it('refuse a lone surrogate, and bytes that are not a list, naming them', () => {
    assert.throws(() => TermList.of(['ab', 'a\uD800']), /term 1 .* lone surrogate/);
    const bytes = TermList.of(TERMS).encode();
    assert.throws(
      () => TermList.decode(bytes.subarray(0, 6), 'x/terms.bin'),
      /x\/terms\.bin: not a term list/,
    );
    assert.throws(() => TermList.decode(bytes.subarray(0, bytes.length - 1), 'x/terms.bin'), /x\/terms\.bin/);
    const wrongCount = Uint8Array.from(bytes);
    new DataView(wrongCount.buffer).setInt32(0, 1e6, true);
    assert.throws(() => TermList.decode(wrongCount, 'x/terms.bin'), /1000000 terms/);
  });
});
