/**
 * A map from pairs of non-negative int32s to int32s, with open addressing in typed arrays: an n-gram's
 * id from its (n−1)-gram prefix's id and its last word's id. A Map keyed by the n-gram's string would
 * build and hash a new string for every n-gram of every text; these keys are two numbers.
 */
export class GramTable {
  private prefix: Int32Array;
  private word: Int32Array;
  private value: Int32Array;
  private mask: number;
  /** pairs held */
  size = 0;

  constructor(capacity = 1 << 16) {
    let slots = 16;
    while (slots < 2 * capacity) slots *= 2;
    this.prefix = new Int32Array(slots);
    this.word = new Int32Array(slots);
    this.value = new Int32Array(slots).fill(-1);
    this.mask = slots - 1;
  }

  /** The value of (prefix, word), −1 when the pair is not held. */
  get(prefix: number, word: number): number {
    for (let h = slotOf(prefix, word) & this.mask; ; h = (h + 1) & this.mask) {
      const v = this.value[h]!;
      if (v < 0 || (this.prefix[h] === prefix && this.word[h] === word)) return v;
    }
  }

  /** Holds (prefix, word) → value (a non-negative int32); the pair must not be held yet. */
  add(prefix: number, word: number, value: number): void {
    let h = slotOf(prefix, word) & this.mask;
    while (this.value[h]! >= 0) h = (h + 1) & this.mask;
    this.prefix[h] = prefix;
    this.word[h] = word;
    this.value[h] = value;
    // At most half full, so a probe ends soon.
    if (++this.size * 2 > this.mask) this.grow();
  }

  private grow(): void {
    const { prefix, word, value } = this;
    const slots = 2 * value.length;
    this.prefix = new Int32Array(slots);
    this.word = new Int32Array(slots);
    this.value = new Int32Array(slots).fill(-1);
    this.mask = slots - 1;
    for (let s = 0; s < value.length; s++) {
      const v = value[s]!;
      if (v < 0) continue;
      let h = slotOf(prefix[s]!, word[s]!) & this.mask;
      while (this.value[h]! >= 0) h = (h + 1) & this.mask;
      this.prefix[h] = prefix[s]!;
      this.word[h] = word[s]!;
      this.value[h] = v;
    }
  }
}

/** Both numbers mixed into 32 bits (murmur3's finaliser), so consecutive ids spread over the slots. */
function slotOf(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ b;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
