/**
 * Distinct terms in code-point order, held as their UTF-8 bytes and where each ends. UTF-8's byte
 * order is code-point order, so two lists merge, and a list's terms are found in another, by comparing
 * bytes: a category vocabulary's hundreds of thousands of terms a block (and their merge over every
 * block) are read, merged and matched without a string made per term, which as JSON cost more to parse
 * and collect than the merge itself.
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

  /** `terms` (distinct, in code-point order); a term that is not well-formed UTF-16 is refused. */
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
    const fail = (why: string) => new Error(`${where}: not a term list (${why})`);
    if (data.byteLength < 8) throw fail(`${data.byteLength} bytes`);
    const count = new DataView(data.buffer, data.byteOffset, 4).getInt32(0, true);
    const head = 4 * (count + 2);
    if (count < 0 || head > data.byteLength) throw fail(`${count} terms in ${data.byteLength} bytes`);
    const starts = new Int32Array(count + 1);
    new Uint8Array(starts.buffer).set(data.subarray(4, head));
    const bytes = data.subarray(head);
    if (starts[0] !== 0 || starts[count] !== bytes.byteLength)
      throw fail(`offsets end at ${starts[count]}, the bytes at ${bytes.byteLength}`);
    for (let i = 0; i < count; i++)
      if (starts[i + 1]! < starts[i]!) throw fail(`term ${i} ends before it starts`);
    return new TermList(starts, bytes);
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
class TermListBuilder {
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

/** Terms with, for each, the documents holding it, among `docs`. */
export interface TermFrequencies {
  docs: number;
  terms: TermList;
  df: Int32Array;
}

/**
 * Two lists' frequencies merged (terms of both, in order; a term of both sums its counts). A term of
 * `b` counted in no document is left out.
 */
export function mergeTermFrequencies(a: TermFrequencies, b: TermFrequencies): TermFrequencies {
  const out = new TermListBuilder(
    a.terms.count + b.terms.count,
    a.terms.bytes.byteLength + b.terms.bytes.byteLength,
  );
  const df = new Int32Array(a.terms.count + b.terms.count);
  let n = 0;
  let i = 0;
  let j = 0;
  while (i < a.terms.count || j < b.terms.count) {
    if (j < b.terms.count && b.df[j] === 0) {
      j++;
      continue;
    }
    const c = i === a.terms.count ? 1 : j === b.terms.count ? -1 : a.terms.compare(i, b.terms, j);
    if (c < 0) {
      out.push(a.terms, i);
      df[n++] = a.df[i++]!;
    } else if (c > 0) {
      out.push(b.terms, j);
      df[n++] = b.df[j++]!;
    } else {
      out.push(a.terms, i);
      df[n++] = a.df[i++]! + b.df[j++]!;
    }
  }
  return { docs: a.docs + b.docs, terms: out.finish(), df: df.slice(0, n) };
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

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
