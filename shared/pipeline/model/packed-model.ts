/**
 * A validated `model.json` in compact form: the estimator's arrays (estimator.pack: the coefficients and
 * intercepts) and the idf as Float64Arrays, the vocabulary as one joined string with end offsets and an
 * open-addressing hash table of term numbers, and everything else (settings, threshold, lineage, label mix: small) as a plain object. Every array is
 * a transferable buffer, so a worker thread can read and parse a model file and hand the result to the
 * main thread without copying it, and the main thread only wraps the buffers (shared/pipeline/model/load-model.ts).
 * The numbers are the same doubles JSON.parse gives, so probabilities equal an in-process load's.
 */
import { estimatorOf } from './estimator-table';
import { LinearParameters } from './estimators/linear-model';
import { ModelFile, VectorizerSettings } from './model-file';

/** A model file without its per-term and per-class arrays (the estimator's packed ones). */
export type ModelHeader = Omit<ModelFile, 'coef' | 'intercept' | 'vectorizer'> & {
  vectorizer: VectorizerSettings;
};

export interface PackedModel {
  header: ModelHeader;
  /** the estimator's arrays (estimator.pack), which the header leaves out */
  parameters: LinearParameters;
  idf: Float64Array;
  /** the vocabulary's terms, concatenated */
  terms: string;
  /** where each term ends in `terms` (term j is terms[ends[j − 1] … ends[j]), ends[−1] = 0) */
  termEnds: Uint32Array;
  /** open addressing, linear probing: slot → term number + 1, 0 for an empty slot; length a power of 2 */
  termTable: Int32Array;
  /** bytes `terms` takes in memory: 1 per character, 2 when a term holds a character beyond Latin-1 */
  termBytes: number;
}

/** FNV-1a over the UTF-16 code units: the vocabulary table's hash, the same when built and when read. */
export function hashTerm(term: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < term.length; i++) h = Math.imul(h ^ term.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The open-addressing table of `vocabulary`: at most half full, so a probe ends after a few slots. */
function termTable(vocabulary: readonly string[]): Int32Array {
  let size = 2;
  while (size < vocabulary.length * 2) size *= 2;
  const table = new Int32Array(size);
  const mask = size - 1;
  vocabulary.forEach((term, j) => {
    let slot = hashTerm(term) & mask;
    while (table[slot] !== 0) slot = (slot + 1) & mask;
    table[slot] = j + 1;
  });
  return table;
}

/** Pack an already validated model file (see modelFileProblem in load-model.ts). */
export function packModel(file: ModelFile): PackedModel {
  const { estimator, kind } = estimatorOf(file);
  if (estimator === null) throw new RangeError(`estimator ${kind} is not one this code knows`);
  const parameters = estimator.pack(file);
  const { vectorizer, ...rest } = file;
  const header = Object.fromEntries(
    Object.entries(rest).filter(([key]) => !Object.hasOwn(parameters, key)),
  ) as Omit<ModelHeader, 'vectorizer'>;
  const { vocabulary, idf, ...settings } = vectorizer;
  const F = vocabulary.length;
  const termEnds = new Uint32Array(F);
  let end = 0;
  vocabulary.forEach((t, j) => (termEnds[j] = end += t.length));
  const terms = vocabulary.join('');
  return {
    header: { ...header, vectorizer: settings },
    parameters,
    idf: Float64Array.from(idf),
    terms,
    termEnds,
    termTable: termTable(vocabulary),
    // eslint-disable-next-line no-control-regex
    termBytes: /^[\u0000-\u00ff]*$/.test(terms) ? terms.length : 2 * terms.length,
  };
}

/** The buffers to transfer (not copy) when posting `packed` to another thread. */
export function packedBuffers(packed: PackedModel): ArrayBuffer[] {
  const { parameters, idf, termEnds, termTable: table } = packed;
  return [...Object.values(parameters), idf, termEnds, table].map((a) => a.buffer as ArrayBuffer);
}

/**
 * Memory a loaded model holds, in bytes: its arrays, its terms and its header (settings, lineage, label
 * mix: counted as twice their JSON, generously for V8's objects), plus a fixed allowance for the loaded
 * model's closures and typed-array objects.
 */
export function packedBytes(packed: PackedModel): number {
  const arrays = [...Object.values(packed.parameters), packed.idf, packed.termEnds, packed.termTable];
  return (
    arrays.reduce((s, a) => s + a.byteLength, 0) +
    packed.termBytes +
    2 * JSON.stringify(packed.header).length +
    4096
  );
}

/**
 * The term → column index of a packed vocabulary: no string or Map entry per term, so it costs a few bytes
 * per term and nothing to build on the thread that uses it.
 */
export class PackedVocabulary implements ReadonlyMap<string, number> {
  private readonly mask: number;

  constructor(
    private readonly terms: string,
    private readonly ends: Uint32Array,
    private readonly table: Int32Array,
  ) {
    this.mask = table.length - 1;
  }

  get size(): number {
    return this.ends.length;
  }

  get(term: string): number | undefined {
    const { ends, table, terms } = this;
    for (let slot = hashTerm(term) & this.mask; ; slot = (slot + 1) & this.mask) {
      const entry = table[slot]!;
      if (entry === 0) return undefined;
      const j = entry - 1;
      const start = j === 0 ? 0 : ends[j - 1]!;
      if (ends[j]! - start === term.length && terms.startsWith(term, start)) return j;
    }
  }

  has(term: string): boolean {
    return this.get(term) !== undefined;
  }

  /** Term number `j`. */
  term(j: number): string {
    return this.terms.slice(j === 0 ? 0 : this.ends[j - 1], this.ends[j]);
  }

  forEach(callback: (value: number, key: string, map: ReadonlyMap<string, number>) => void): void {
    for (let j = 0; j < this.size; j++) callback(j, this.term(j), this);
  }

  *entries(): MapIterator<[string, number]> {
    for (let j = 0; j < this.size; j++) yield [this.term(j), j];
  }

  *keys(): MapIterator<string> {
    for (let j = 0; j < this.size; j++) yield this.term(j);
  }

  *values(): MapIterator<number> {
    for (let j = 0; j < this.size; j++) yield j;
  }

  [Symbol.iterator](): MapIterator<[string, number]> {
    return this.entries();
  }
}
