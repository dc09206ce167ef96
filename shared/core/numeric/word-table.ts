/**
 * Words by id, found by their characters where they stand in a text: a word already held is found
 * without a string made for it (a Map would need its own string for every lookup, and hash it again).
 * Ids are given in order of first appearance. Optionally one number per word (`info`), computed once when
 * the word is new by the function the table was made with (stage 1's tagger keeps each word's lexicon tag
 * there).
 *
 * Used by the term counters (block-counts.ts) and stage 1's noun extractor, which meet a few tens of
 * thousands of distinct words millions of times: on the dev data the extractor took 0.59 s with a Map by
 * word and 0.38 s with this table. A lookup compares the word's units from one packed array, not from its
 * string: `npm run bench:extract` (NLP only) takes 0.37–0.43 s so, 0.45–0.67 s reading the strings.
 */
export class WordTable {
  /** the words, by id */
  readonly words: string[] = [];
  private hashes: Int32Array = new Int32Array(1024);
  private infos: Int32Array = new Int32Array(1024);
  /** every word's UTF-16 units one after another, word `id` from offsets[id] to offsets[id + 1] */
  private units: Uint16Array = new Uint16Array(8192);
  private offsets: Int32Array = new Int32Array(1025);
  private slots: Int32Array;
  private mask: number;

  /** @param classify the number kept with each new word (read back with `info`); none when omitted */
  constructor(private readonly classify?: (word: string) => number) {
    this.slots = new Int32Array(1 << 12).fill(-1);
    this.mask = this.slots.length - 1;
  }

  /** Words held; ids are 0 … size − 1. */
  get size(): number {
    return this.words.length;
  }

  word(id: number): string {
    return this.words[id]!;
  }

  /** `classify`'s number for the word (0 without a classify function). */
  info(id: number): number {
    return this.infos[id]!;
  }

  /** Forgets every word: ids handed out before mean nothing after. */
  clear(): void {
    this.words.length = 0;
    this.slots.fill(-1);
  }

  /** The id of `text`'s characters [start, end): a new id (the table's size before) if they are new. */
  idOf(text: string, start: number, end: number): number {
    return this.idOfHashed(text, start, end, hashRange(text, start, end));
  }

  /** idOf with the range's hashRange already computed (the tokenizer does it as it reads). */
  idOfHashed(text: string, start: number, end: number, h: number): number {
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const id = this.slots[s]!;
      if (id < 0) {
        // A copy, not a slice: V8 keeps a long slice's whole parent text (a ticket, a block's row) alive.
        const newId = this.add((' ' + text.slice(start, end)).slice(1), h);
        this.slots[s] = newId;
        if (2 * this.words.length > this.mask) this.grow();
        return newId;
      }
      if (this.hashes[id] === h && this.sameUnits(id, text, start, end)) return id;
    }
  }

  private add(word: string, hash: number): number {
    const id = this.words.length;
    if (id === this.hashes.length) {
      this.hashes = grown(this.hashes);
      this.infos = grown(this.infos);
    }
    this.hashes[id] = hash;
    this.infos[id] = this.classify === undefined ? 0 : this.classify(word);
    this.words.push(word);
    if (id + 2 > this.offsets.length) this.offsets = grown(this.offsets);
    const from = this.offsets[id]!;
    if (from + word.length > this.units.length) this.units = grown(this.units, from + word.length);
    for (let i = 0; i < word.length; i++) this.units[from + i] = word.charCodeAt(i);
    this.offsets[id + 1] = from + word.length;
    return id;
  }

  /**
   * Whether word `id` is text[start, end). Its units are read from one packed array, not from its string:
   * the table's strings lie scattered over the heap, and reading each one's characters cost a cache miss
   * a lookup.
   */
  private sameUnits(id: number, text: string, start: number, end: number): boolean {
    const from = this.offsets[id]!;
    if (this.offsets[id + 1]! - from !== end - start) return false;
    const units = this.units;
    for (let i = start; i < end; i++) if (units[from + i - start] !== text.charCodeAt(i)) return false;
    return true;
  }

  private grow(): void {
    this.slots = new Int32Array(2 * this.slots.length).fill(-1);
    this.mask = this.slots.length - 1;
    for (let id = 0; id < this.words.length; id++) {
      let s = this.hashes[id]! & this.mask;
      while (this.slots[s]! >= 0) s = (s + 1) & this.mask;
      this.slots[s] = id;
    }
  }
}

/** FNV-1a's start, as an int32 like the stored hashes (the empty word's hash is this). */
export const HASH_START = 0x811c9dc5 | 0;

/** FNV-1a's step for one UTF-16 unit. */
export function hashStep(h: number, unit: number): number {
  return Math.imul(h ^ unit, 0x01000193);
}

/** FNV-1a over the UTF-16 units of text[start, end). */
export function hashRange(text: string, start: number, end: number): number {
  let h = HASH_START;
  for (let i = start; i < end; i++) h = hashStep(h, text.charCodeAt(i));
  return h;
}

/** A copy of `a` twice as long, or longer by further doublings until it holds `atLeast` elements. */
function grown<A extends Int32Array | Uint16Array>(a: A, atLeast = a.length + 1): A {
  let length = 2 * a.length;
  while (length < atLeast) length *= 2;
  const out = (a instanceof Int32Array ? new Int32Array(length) : new Uint16Array(length)) as A;
  out.set(a);
  return out;
}
