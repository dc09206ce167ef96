/**
 * Interns the words of texts: a word, given as a range of a text, → a small integer id, with one number
 * per word (`info`, computed once by the function the table was made with: the tagger's lexicon lookup).
 *
 * Why: stage 1 meets each of a few tens of thousands of distinct words millions of times. Looking a range
 * up here by its characters costs no string per token, and everything known about a word (its lexicon
 * tag, its lemma under a tag) is then an array read by id instead of a Map lookup by a fresh string, whose
 * hash V8 must compute each time: on the dev data the noun extractor took 0.69 s this way against 0.42 s.
 */

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
const INITIAL_BITS = 12;

export class WordTable {
  /** id + 1 per slot of the open-addressing table, 0 for an empty slot */
  private slots = new Int32Array(1 << INITIAL_BITS);
  /** each slot's word hash, compared before the characters */
  private hashes = new Int32Array(1 << INITIAL_BITS);
  private mask = (1 << INITIAL_BITS) - 1;
  private readonly words: string[] = [];
  private infos = new Int32Array(1 << (INITIAL_BITS - 1));

  /** @param classify the number stored with each new word (read back with `info`) */
  constructor(private readonly classify: (word: string) => number) {}

  /** Words interned since the table was made or cleared; ids are 0 … size − 1. */
  get size(): number {
    return this.words.length;
  }

  word(id: number): string {
    return this.words[id]!;
  }

  info(id: number): number {
    return this.infos[id]!;
  }

  /** Forgets every word: ids handed out before mean nothing after. */
  clear(): void {
    this.words.length = 0;
    this.slots.fill(0);
  }

  /** Id of `text.slice(start, end)`, interning it if new. */
  idOf(text: string, start: number, end: number): number {
    const h = hashRange(text, start, end);
    const len = end - start;
    const mask = this.mask;
    let p = h & mask;
    for (;;) {
      const s = this.slots[p]!;
      if (s === 0) break;
      if (this.hashes[p] === h) {
        const w = this.words[s - 1]!;
        if (w.length === len) {
          let j = 0;
          while (j < len && w.charCodeAt(j) === text.charCodeAt(start + j)) j++;
          if (j === len) return s - 1;
        }
      }
      p = (p + 1) & mask;
    }
    // A copy, not a slice: V8 keeps a long slice's whole parent text alive, here every ticket met.
    const word = (' ' + text.slice(start, end)).slice(1);
    const id = this.words.length;
    this.words.push(word);
    this.slots[p] = id + 1;
    this.hashes[p] = h;
    // Kept at most half full, so that probes stay short; infos has room for half the slots.
    if (this.words.length * 2 > this.slots.length) this.grow();
    this.infos[id] = this.classify(word);
    return id;
  }

  private grow(): void {
    const size = this.slots.length * 2;
    this.slots = new Int32Array(size);
    this.hashes = new Int32Array(size);
    this.mask = size - 1;
    const infos = new Int32Array(size >> 1);
    infos.set(this.infos);
    this.infos = infos;
    for (let id = 0; id < this.words.length; id++) {
      const w = this.words[id]!;
      const h = hashRange(w, 0, w.length);
      let p = h & this.mask;
      while (this.slots[p] !== 0) p = (p + 1) & this.mask;
      this.slots[p] = id + 1;
      this.hashes[p] = h;
    }
  }
}

/** FNV-1a over the UTF-16 units of text[start, end) (exported for the tests' collisions). */
export function hashRange(text: string, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
}
