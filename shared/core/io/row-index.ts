import type { Readable } from 'node:stream';
import type { ArtifactStore, ArtifactWriter } from '../store/artifact-store';

/**
 * A CSV artifact's row index, `<key>.idx`: the byte offset of every data row's first byte, then the
 * offset just past the last row (the file's size), each a little-endian float64 (exact to 2^53, so files
 * past 4 GB index fine). Row r is bytes [idx[r], idx[r + 1]); idx[0] is the header's length. With it any
 * process reads rows a … b of a file of millions with one ranged read, without scanning what comes before.
 */
export function rowIndexKey(csvKey: string): string {
  return `${csvKey}.idx`;
}

const ENTRY = 8;
/** Offsets buffered before a write to the index. */
const FLUSH_ENTRIES = 8192;

/**
 * Builds an index while its CSV is written: `row(bytes)` after each row, `finish()` at the end. Offsets
 * start at `base` (the header's length, or 0 for a part without header) and go to `out` in pieces.
 */
export class RowIndexWriter {
  private readonly buffer = new Float64Array(FLUSH_ENTRIES);
  private filled = 0;
  private offset: number;
  rows = 0;

  constructor(
    private readonly out: ArtifactWriter,
    base: number,
  ) {
    this.offset = base;
    this.buffer[this.filled++] = base;
  }

  /** Records a row of `bytes` bytes (UTF-8 length). */
  async row(bytes: number): Promise<void> {
    this.offset += bytes;
    this.rows++;
    this.buffer[this.filled++] = this.offset;
    if (this.filled === FLUSH_ENTRIES) await this.flush();
  }

  /**
   * Records the rows of a part whose own index is `offsets` (its entries from its first row's start to
   * its end), appended where the file ends now: one write, however many rows.
   */
  async part(offsets: Float64Array): Promise<void> {
    if (offsets.length < 2) return;
    await this.flush();
    const shift = this.offset - offsets[0]!;
    const entries = new Float64Array(offsets.length - 1);
    for (let r = 1; r < offsets.length; r++) entries[r - 1] = offsets[r]! + shift;
    await this.out.write(new Uint8Array(entries.buffer));
    this.offset = entries[entries.length - 1]!;
    this.rows += entries.length;
  }

  /** Bytes the indexed file holds so far. */
  get end(): number {
    return this.offset;
  }

  async finish(): Promise<void> {
    await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.filled === 0) return;
    await this.out.write(new Uint8Array(this.buffer.buffer.slice(0, this.filled * ENTRY)));
    this.filled = 0;
  }
}

/**
 * A CSV written row by row with its index beside it; both become visible on commit (the index last, so
 * an index is never there without its file — a reader that finds the index finds the file).
 */
export class IndexedCsvWriter {
  private constructor(
    private readonly data: ArtifactWriter,
    private readonly idxOut: ArtifactWriter,
    private readonly index: RowIndexWriter,
  ) {}

  /** Opens `key` (and `key.idx`); `header` is written first unless null (a part to be concatenated). */
  static async open(store: ArtifactStore, key: string, header: string | null): Promise<IndexedCsvWriter> {
    const data = await store.openWriter(key);
    let idxOut: ArtifactWriter;
    try {
      idxOut = await store.openWriter(rowIndexKey(key));
    } catch (err) {
      await data.abort();
      throw err;
    }
    if (header !== null) await data.write(header);
    return new IndexedCsvWriter(
      data,
      idxOut,
      new RowIndexWriter(idxOut, header === null ? 0 : utf8Bytes(header)),
    );
  }

  get rows(): number {
    return this.index.rows;
  }

  /** Appends one whole CSV row (with its trailing newline). */
  async row(line: string): Promise<void> {
    await this.data.write(line);
    await this.index.row(utf8Bytes(line));
  }

  /** Bytes written so far, header included. */
  get bytes(): number {
    return this.index.end;
  }

  /** Appends rows already encoded, one after another in `bytes`, whose byte lengths are `lengths`. */
  async encodedRows(bytes: Uint8Array, lengths: ArrayLike<number>): Promise<void> {
    const offsets = new Float64Array(lengths.length + 1);
    for (let r = 0; r < lengths.length; r++) offsets[r + 1] = offsets[r]! + lengths[r]!;
    await this.part([bytes], offsets, 'encoded rows');
  }

  /** Appends a part's bytes (whole rows) and its index (see RowIndexWriter.part). */
  async part(
    pieces: AsyncIterable<unknown> | Iterable<unknown>,
    offsets: Float64Array,
    name: string,
  ): Promise<void> {
    let bytes = 0;
    for await (const piece of pieces) {
      bytes += (piece as Buffer).length;
      await this.data.write(piece as Buffer);
    }
    const indexed = offsets.length === 0 ? 0 : offsets[offsets.length - 1]! - offsets[0]!;
    if (bytes !== indexed)
      throw new Error(
        `${name} holds ${bytes} bytes, its index ${indexed}: it was not written by IndexedCsvWriter`,
      );
    await this.index.part(offsets);
  }

  async commit(): Promise<void> {
    await this.index.finish();
    await this.data.commit();
    await this.idxOut.commit();
  }

  async abort(): Promise<void> {
    await Promise.all([this.data.abort(), this.idxOut.abort()]);
  }
}

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Rows the index of `csvKey` covers, or undefined when the CSV has no index. */
export async function indexedRows(store: ArtifactStore, csvKey: string): Promise<number | undefined> {
  const stat = await store.stat(rowIndexKey(csvKey));
  if (stat === undefined) return undefined;
  if (stat.size % ENTRY !== 0 || stat.size < ENTRY)
    throw new Error(`${store.locate(rowIndexKey(csvKey))}: ${stat.size} bytes is not a row index`);
  return stat.size / ENTRY - 1;
}

/** Entries `from` … `to` (inclusive) of the index of `csvKey`: one ranged read. */
export async function readRowOffsets(
  store: ArtifactStore,
  csvKey: string,
  from: number,
  to: number,
): Promise<Float64Array> {
  const bytes = await readAll(
    await store.openRead(rowIndexKey(csvKey), { start: from * ENTRY, end: (to + 1) * ENTRY - 1 }),
  );
  if (bytes.length !== (to - from + 1) * ENTRY)
    throw new Error(
      `${store.locate(rowIndexKey(csvKey))}: entries ${from}–${to} asked, ${bytes.length / ENTRY} there`,
    );
  return new Float64Array(new Uint8Array(bytes).buffer);
}

/** Every entry of an index part (a block's own, bounded by its rows). */
export async function readWholeIndex(store: ArtifactStore, csvKey: string): Promise<Float64Array> {
  const bytes = await store.get(rowIndexKey(csvKey));
  return new Float64Array(new Uint8Array(bytes).buffer);
}

/**
 * Writes the index of a CSV that has none (one put in place by other means, or by code that wrote no
 * index), by one streaming scan for row ends: a newline outside quotes, as csvRow writes rows.
 */
export async function writeMissingIndex(store: ArtifactStore, csvKey: string): Promise<void> {
  if ((await store.stat(rowIndexKey(csvKey))) !== undefined) return;
  const out = await store.openWriter(rowIndexKey(csvKey));
  try {
    const buffer: number[] = [];
    const flush = async () => {
      if (buffer.length === 0) return;
      await out.write(new Uint8Array(Float64Array.from(buffer).buffer));
      buffer.length = 0;
    };
    let quoted = false;
    let entries = 0;
    let at = 0;
    let lastEnd = 0;
    for await (const piece of await store.openRead(csvKey)) {
      const b = piece as Buffer;
      for (let i = 0; i < b.length; i++) {
        const c = b[i]!;
        if (c === 34) quoted = !quoted;
        else if (c === 10 && !quoted) {
          // The first newline ends the header (entry 0), every later one a row.
          lastEnd = at + i + 1;
          buffer.push(lastEnd);
          entries++;
        }
      }
      at += b.length;
      if (buffer.length >= FLUSH_ENTRIES) await flush();
    }
    // A last line without its newline still ends at the file's end.
    if (lastEnd < at || entries === 0) buffer.push(at);
    await flush();
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

/** Appends the rows of `key`, a part written by IndexedCsvWriter (no header), and their index to `out`. */
export async function appendIndexedPart(
  store: ArtifactStore,
  out: IndexedCsvWriter,
  key: string,
): Promise<void> {
  await out.part(await store.openRead(key), await readWholeIndex(store, key), store.locate(key));
}

/**
 * Concatenates CSV parts (rows without header, each with its own index from IndexedCsvWriter) under one
 * `header` into `outKey`, with the whole file's index: the merge of fanned-out work, in part order.
 * `beforeCommit` runs last (a cancelled run throws there, so nothing is put in place).
 */
export async function concatIndexedParts(
  store: ArtifactStore,
  partKeys: readonly string[],
  outKey: string,
  header: string,
  beforeCommit?: () => void,
): Promise<{ rows: number; bytes: number }> {
  const out = await IndexedCsvWriter.open(store, outKey, header);
  try {
    for (const key of partKeys) await appendIndexedPart(store, out, key);
    beforeCommit?.();
    const result = { rows: out.rows, bytes: out.bytes };
    await out.commit();
    return result;
  } catch (err) {
    await out.abort();
    throw err;
  }
}
