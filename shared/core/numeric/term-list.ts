/**
 * Distinct terms in code-point order, held as their UTF-8 bytes and where each ends. UTF-8's byte
 * order is code-point order, so two lists merge, and a list's terms are found in another, by comparing
 * bytes: a category vocabulary's hundreds of thousands of terms a block (and their merge over every
 * block) are read, merged and matched without a string made per term (making and collecting those
 * strings would cost more than the merge itself).
 *
 * As bytes (`encode`): the count n (int32), the n + 1 byte offsets where each term starts (int32, the
 * last one the bytes' length), then the terms' bytes.
 */
export class TermList {
  private readonly text: Buffer;
  /** terms held */
  readonly count: number;

  /** Term i is `bytes` [starts[i], starts[i + 1]); starts[0] is 0 and the last start the bytes' end. */
  constructor(
    readonly starts: Int32Array,
    readonly bytes: Uint8Array,
  ) {
    this.count = starts.length - 1;
    this.text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /**
   * `terms` as bytes; a term that is not well-formed UTF-16 is refused. Only a list of distinct terms in
   * code-point order merges and matches (`mergeTermFrequencies`, `positionsIn`); another is bytes to copy
   * from.
   */
  static of(terms: readonly string[]): TermList {
    const starts = new Int32Array(terms.length + 1);
    let size = 0;
    terms.forEach((t, i) => {
      if (LONE_SURROGATE.test(t))
        throw new RangeError(`term ${i} ${JSON.stringify(t)} holds a lone surrogate`);
      size += Buffer.byteLength(t, 'utf8');
      starts[i + 1] = size;
    });
    const bytes = Buffer.allocUnsafe(size);
    terms.forEach((t, i) => bytes.write(t, starts[i]!, 'utf8'));
    return new TermList(starts, bytes);
  }

  /** A list from `encode`'s bytes; `where` names them in the error when they are not one. */
  static decode(data: Uint8Array, where: string): TermList {
    const { list, end } = TermList.read(data, where);
    if (end !== data.byteLength) throw notTerms(where, `${data.byteLength - end} bytes after the terms`);
    return list;
  }

  /** The list `encode`'s bytes at the start of `data` hold, and where they end. */
  static read(data: Uint8Array, where: string): { list: TermList; end: number } {
    if (data.byteLength < 8) throw notTerms(where, `${data.byteLength} bytes`);
    const count = new DataView(data.buffer, data.byteOffset, 4).getInt32(0, true);
    const head = 4 * (count + 2);
    if (count < 0 || head > data.byteLength)
      throw notTerms(where, `${count} terms in ${data.byteLength} bytes`);
    const starts = new Int32Array(count + 1);
    new Uint8Array(starts.buffer).set(data.subarray(4, head));
    if (starts[0] !== 0 || head + starts[count]! > data.byteLength)
      throw notTerms(where, `offsets end at ${starts[count]}, the bytes at ${data.byteLength - head}`);
    for (let i = 0; i < count; i++)
      if (starts[i + 1]! < starts[i]!) throw notTerms(where, `term ${i} ends before it starts`);
    const end = head + starts[count]!;
    return { list: new TermList(starts, data.subarray(head, end)), end };
  }

  encode(): Uint8Array {
    const out = new Uint8Array(4 * (this.count + 2) + this.bytes.byteLength);
    const head = new DataView(out.buffer);
    head.setInt32(0, this.count, true);
    out.set(new Uint8Array(this.starts.buffer, this.starts.byteOffset, this.starts.byteLength), 4);
    out.set(this.bytes, 4 * (this.count + 2));
    return out;
  }

  /** Term i as a string. */
  term(i: number): string {
    return this.text.toString('utf8', this.starts[i]!, this.starts[i + 1]!);
  }

  /** Every term as a string. */
  strings(): string[] {
    return Array.from({ length: this.count }, (_, i) => this.term(i));
  }

  /** Term i against `other`'s term j: negative, 0 or positive, as their code points compare. */
  compare(i: number, other: TermList, j: number): number {
    const a = this.bytes;
    const b = other.bytes;
    let p = this.starts[i]!;
    const pe = this.starts[i + 1]!;
    let q = other.starts[j]!;
    const qe = other.starts[j + 1]!;
    for (; p < pe && q < qe; p++, q++) if (a[p] !== b[q]) return a[p]! - b[q]!;
    return pe - p - (qe - q);
  }

  /** The terms at `positions` (increasing), in a list of their own. */
  pick(positions: ArrayLike<number>): TermList {
    const out = new TermListBuilder(positions.length, this.bytes.byteLength);
    for (let k = 0; k < positions.length; k++) out.push(this, positions[k]!);
    return out.finish();
  }
}

/** Appends terms of other lists, in order, up to the counts and bytes it was made for. */
export class TermListBuilder {
  private readonly starts: Int32Array;
  private readonly bytes: Uint8Array;
  private n = 0;

  constructor(maxCount: number, maxBytes: number) {
    this.starts = new Int32Array(maxCount + 1);
    this.bytes = new Uint8Array(maxBytes);
  }

  push(from: TermList, i: number): void {
    const s = from.starts[i]!;
    const e = from.starts[i + 1]!;
    const at = this.starts[this.n]!;
    // Most terms are a few bytes: a loop beats a subarray and set() per term.
    for (let p = s; p < e; p++) this.bytes[at + p - s] = from.bytes[p]!;
    this.starts[++this.n] = at + e - s;
  }

  finish(): TermList {
    return new TermList(this.starts.slice(0, this.n + 1), this.bytes.slice(0, this.starts[this.n]!));
  }
}

/** Each of `terms`' position in `vocabulary` (−1 when absent): one walk over both. */
export function positionsIn(terms: TermList, vocabulary: TermList): Int32Array {
  const column = new Int32Array(terms.count).fill(-1);
  for (let i = 0, j = 0; i < terms.count && j < vocabulary.count;) {
    const c = terms.compare(i, vocabulary, j);
    if (c === 0) column[i++] = j++;
    else if (c < 0) i++;
    else j++;
  }
  return column;
}

/** The error for bytes at `where` that do not hold what a term list's reader expects. */
export function notTerms(where: string, why: string): Error {
  return new Error(`${where}: not a term list (${why})`);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
