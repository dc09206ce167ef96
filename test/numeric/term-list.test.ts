import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeTermFrequencies,
  encodeTermFrequencies,
  mergeTermFrequencies,
} from '../../shared/core/numeric/document-frequencies';
import { TermList, positionsIn } from '../../shared/core/numeric/term-list';
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

  it("merge two lists' frequencies, in order, leaving out the second's terms of frequency 0", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const a = part(seed);
      const b = part(seed + 100);
      // The first list as a merge leaves it: no frequency of 0.
      const aKept = { terms: a.terms.filter((_, i) => a.df[i]! > 0), df: a.df.filter((d) => d > 0) };
      const sums = new Map<string, number>();
      aKept.terms.forEach((t, i) => sums.set(t, aKept.df[i]!));
      b.terms.forEach((t, i) => {
        if (b.df[i]! > 0) sums.set(t, (sums.get(t) ?? 0) + b.df[i]!);
      });
      const want = [...sums.keys()].sort(compareCodePoints);
      const got = mergeTermFrequencies(
        { docs: 3, terms: TermList.of(aKept.terms), df: Int32Array.from(aKept.df) },
        { docs: 4, terms: TermList.of(b.terms), df: Int32Array.from(b.df) },
      );
      assert.equal(got.docs, 7);
      assert.deepEqual(got.terms.strings(), want, `seed ${seed}`);
      assert.deepEqual(
        Array.from(got.df),
        want.map((t) => sums.get(t)),
        `seed ${seed}`,
      );
    }
  });

  it("find a list's terms in another, and pick terms by position", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const terms = part(seed).terms;
      const vocabulary = part(seed + 7).terms;
      assert.deepEqual(
        Array.from(positionsIn(TermList.of(terms), TermList.of(vocabulary))),
        terms.map((t) => vocabulary.indexOf(t)),
      );
    }
    assert.deepEqual(TermList.of(TERMS).pick([0, 3, 12]).strings(), [TERMS[0], TERMS[3], TERMS[12]]);
  });

  it('carry their frequencies through their bytes', () => {
    const df = TERMS.map((_, i) => i * 1000 + 1);
    const back = decodeTermFrequencies(encodeTermFrequencies(TermList.of(TERMS), df), 'terms.bin');
    assert.deepEqual(back.terms.strings(), TERMS);
    assert.deepEqual(Array.from(back.df), df);
    const bytes = encodeTermFrequencies(TermList.of(TERMS), df);
    assert.throws(
      () => decodeTermFrequencies(bytes.subarray(0, bytes.length - 4), 'x/terms.bin'),
      /x\/terms\.bin: not a term list .*frequencies/,
    );
    assert.throws(() => encodeTermFrequencies(TermList.of(TERMS), [1]), /1 frequencies for/);
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
