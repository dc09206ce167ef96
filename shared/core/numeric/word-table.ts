/**
 * Words by id, found by their characters where they stand in a text: a word already held is found
 * without a string made for it (a Map would need its own string for every lookup, and hashes it again).
 * Ids are given in order of first appearance.
 */
export class WordTable {
  /** the words, by id */
  readonly words: string[] = [];
  private hashes = new Int32Array(1024);
  private slots: Int32Array;
  private mask: number;

  constructor() {
    this.slots = new Int32Array(1 << 12).fill(-1);
    this.mask = this.slots.length - 1;
  }

  /** The id of `text`'s characters [start, end): a new id (the table's size before) if they are new. */
  idOf(text: string, start: number, end: number): number {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const id = this.slots[s]!;
      if (id < 0) {
        this.slots[s] = this.add(text.slice(start, end), h);
        if (2 * this.words.length > this.mask) this.grow();
        return this.words.length - 1;
      }
      if (this.hashes[id] === h && sameChars(this.words[id]!, text, start, end)) return id;
    }
  }

  private add(word: string, hash: number): number {
    const id = this.words.length;
    if (id === this.hashes.length) {
      const grown = new Int32Array(2 * id);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[id] = hash;
    this.words.push(word);
    return id;
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

function sameChars(word: string, text: string, start: number, end: number): boolean {
  if (word.length !== end - start) return false;
  for (let i = 0; i < word.length; i++) if (word.charCodeAt(i) !== text.charCodeAt(start + i)) return false;
  return true;
}
