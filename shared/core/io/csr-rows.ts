import type { Readable } from 'node:stream';
import type { CsrMatrix, CsrValues } from '../numeric/csr-matrix';
import type { ArtifactStore } from '../store/artifact-store';
import { pad8 } from './csr-file';

/**
 * Reads rows of a features file (csr-file.ts's layout) without holding the file: the header, indptr and
 * labels by ranged reads, then the indices and data sections streamed in pieces and copied into a CSR
 * of only the requested rows. Its peak is the requested rows (4 bytes per index, 8 per value, and 4 more
 * per index of the requested rows while a column selection is applied) plus one piece, not the file.
 */

const MAGIC = 'ticketflow-csr-v1';

/** A features file's shape and where its sections start (bytes from the file's start). */
export interface CsrFileLayout {
  key: string;
  rows: number;
  cols: number;
  nnz: number;
  /** the file's row pointers: row i's entries are positions indptr[i] … indptr[i+1]−1 */
  indptr: Int32Array;
  offsets: { indptr: number; indices: number; data: number; labels: number };
}

/** Bytes per streamed piece by default: large enough for few reads, small next to any matrix. */
export const DEFAULT_PIECE_BYTES = 4 << 20;

/** The header and row pointers of features file `key` (4 × (rows + 1) bytes held). */
export async function readCsrLayout(store: ArtifactStore, key: string): Promise<CsrFileLayout> {
  const stat = await store.stat(key);
  if (stat === undefined) throw new Error(`cannot read ${key}: run the stage that writes it first`);
  let head = Buffer.alloc(0);
  let nl = -1;
  while (nl < 0 && head.length < stat.size) {
    const more = await store.getRange(key, {
      start: head.length,
      end: Math.min(stat.size, head.length + 4096) - 1,
    });
    head = Buffer.concat([head, more]);
    nl = head.indexOf(10);
    if (head.length >= 1 << 20) break;
  }
  let header: { magic?: unknown; rows: number; cols: number; nnz: number };
  try {
    if (nl < 0) throw new Error('no header line');
    header = JSON.parse(head.toString('latin1', 0, nl)) as typeof header;
    if (header.magic !== MAGIC) throw new Error(`not a ${MAGIC} file`);
  } catch (err) {
    throw new Error(`${key} is not a features matrix written by transform-split: rerun that stage`, {
      cause: err,
    });
  }
  const { rows, cols, nnz } = header;
  const at = nl + 1;
  const offsets = { indptr: at, indices: 0, data: 0, labels: 0 };
  offsets.indices = offsets.indptr + pad8(4 * (rows + 1));
  offsets.data = offsets.indices + pad8(4 * nnz);
  offsets.labels = offsets.data + pad8(8 * nnz);
  if (offsets.labels + 4 * rows > stat.size) throw new Error(`${key} is truncated: rerun transform-split`);
  const indptr = new Int32Array(rows + 1);
  await streamSection(store, key, offsets.indptr, rows + 1, 4, DEFAULT_PIECE_BYTES, (bytes, first) =>
    indptr.set(new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), first),
  );
  if (indptr[0] !== 0 || indptr[rows] !== nnz) {
    throw new Error(`${key} has row pointers that do not match its header: rerun transform-split`);
  }
  return { key, rows, cols, nnz, indptr, offsets };
}

/** The file's row labels (4 × rows bytes). */
export async function readCsrLabels(store: ArtifactStore, layout: CsrFileLayout): Promise<Int32Array> {
  const labels = new Int32Array(layout.rows);
  await streamSection(
    store,
    layout.key,
    layout.offsets.labels,
    layout.rows,
    4,
    DEFAULT_PIECE_BYTES,
    (b, first) => labels.set(new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4), first),
  );
  return labels;
}

export interface ReadRowsOptions {
  /**
   * Keep only some columns and renumber them: `map[j]` is column j's new number, or −1 to drop it; the
   * result has `columns` columns. Without it every column is kept as it is.
   */
  select?: { map: Int32Array; columns: number };
  /** bytes per streamed piece (rounded down to a multiple of 8, at least 8) */
  pieceBytes?: number;
}

/** Rows read in single precision: for counts (integers below 2^24) the same values in half the memory. */
export interface ReadRows32Options extends ReadRowsOptions {
  values: 'float32';
}

/** Rows read as counts of one byte each (count-rows.ts): null when a value is not an integer 1 … 255. */
export interface ReadRowsCount8Options extends ReadRowsOptions {
  values: 'count8';
}

/**
 * Rows `rows` of the file, in that order (a row may repeat), as `selectRows` of the whole matrix would
 * give them (and with `columnMap`, its columns selected and renumbered, in the row's order).
 */
export async function readCsrRows(
  store: ArtifactStore,
  layout: CsrFileLayout,
  rows: Int32Array,
  opts: ReadRows32Options,
): Promise<CsrMatrix<Float32Array>>;
export async function readCsrRows(
  store: ArtifactStore,
  layout: CsrFileLayout,
  rows: Int32Array,
  opts: ReadRowsCount8Options,
): Promise<CsrMatrix<Uint8Array> | null>;
export async function readCsrRows(
  store: ArtifactStore,
  layout: CsrFileLayout,
  rows: Int32Array,
  opts?: ReadRowsOptions,
): Promise<CsrMatrix>;
export async function readCsrRows(
  store: ArtifactStore,
  layout: CsrFileLayout,
  rows: Int32Array,
  opts: ReadRowsOptions & { values?: 'float32' | 'count8' } = {},
): Promise<CsrMatrix<CsrValues | Uint8Array> | null> {
  const { indptr: src, key } = layout;
  const piece = Math.max(8, (opts.pieceBytes ?? DEFAULT_PIECE_BYTES) & ~7);
  const map = opts.select?.map;
  if (map !== undefined && map.length !== layout.cols) {
    throw new RangeError(`column map of ${map.length} columns for ${key}'s ${layout.cols}`);
  }
  const n = rows.length;
  // Where each requested row goes with all its entries (`full`), and the requested rows by file order.
  const full = new Int32Array(n + 1);
  for (let k = 0; k < n; k++) {
    const i = rows[k]!;
    if (!Number.isInteger(i) || i < 0 || i >= layout.rows) {
      throw new RangeError(`row ${i} at position ${k} is outside ${key}'s rows [0, ${layout.rows})`);
    }
    full[k + 1] = full[k]! + src[i + 1]! - src[i]!;
  }
  const order = Int32Array.from({ length: n }, (_, k) => k).sort((a, b) => rows[a]! - rows[b]! || a - b);
  const total = full[n]!;
  const first = n === 0 ? 0 : src[rows[order[0]!]!]!;
  const last = n === 0 ? 0 : src[rows[order[n - 1]!]! + 1]!;

  // Walks the requested rows in file order over a piece of a section holding positions [q0, q1).
  let cursor = 0;
  const visit = (
    q0: number,
    q1: number,
    copy: (k: number, from: number, to: number, out: number) => void,
  ) => {
    for (let t = cursor; t < n; t++) {
      const k = order[t]!;
      const a = src[rows[k]!]!;
      if (a >= q1) break;
      const b = src[rows[k]! + 1]!;
      const lo = Math.max(a, q0);
      const hi = Math.min(b, q1);
      if (lo < hi) copy(k, lo - q0, hi - q0, full[k]! + lo - a);
    }
    while (cursor < n && src[rows[order[cursor]!]! + 1]! <= q1) cursor++;
  };

  const indices = new Int32Array(total);
  cursor = 0;
  await streamSection(store, key, layout.offsets.indices + 4 * first, last - first, 4, piece, (bytes, at) => {
    const part = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const q0 = first + at;
    visit(q0, q0 + part.length, (_, from, to, out) => indices.set(part.subarray(from, to), out));
  });
  // With a column selection, the kept entries' places: `indptr` in the result, `keep` per full entry.
  let indptr = full;
  let kept = total;
  if (map !== undefined) {
    indptr = new Int32Array(n + 1);
    kept = 0;
    for (let k = 0; k < n; k++) {
      for (let p = full[k]!; p < full[k + 1]!; p++) {
        const j = indices[p]!;
        if (j < 0 || j >= map.length) throw new RangeError(`${key}: column ${j} outside [0, ${map.length})`);
        if (map[j]! >= 0) kept++;
      }
      indptr[k + 1] = kept;
    }
  }
  const count8 = opts.values === 'count8';
  const data = count8
    ? new Uint8Array(kept)
    : opts.values === 'float32'
      ? new Float32Array(kept)
      : new Float64Array(kept);
  // A count of more than a byte (or not a count): given up, the caller reads other values.
  let fits = true;
  const byte = count8
    ? (v: number) => {
        if (!(v >= 1 && v <= 255 && Math.floor(v) === v)) fits = false;
        return v;
      }
    : (v: number) => v;
  cursor = 0;
  await streamSection(store, key, layout.offsets.data + 8 * first, last - first, 8, piece, (bytes, at) => {
    const part = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
    const q0 = first + at;
    if (map === undefined) {
      visit(q0, q0 + part.length, (_, from, to, out) => {
        if (count8) for (let p = from; p < to; p++) data[out++] = byte(part[p]!);
        else data.set(part.subarray(from, to), out);
      });
      return;
    }
    visit(q0, q0 + part.length, (k, from, to, out) => {
      // Entries before `out` in this row that are dropped shift the row's kept ones left.
      let q = indptr[k]!;
      for (let p = full[k]!; p < out; p++) if (map[indices[p]!]! >= 0) q++;
      for (let p = from; p < to; p++, out++) if (map[indices[out]!]! >= 0) data[q++] = byte(part[p]!);
    });
  });
  if (!fits) return null;
  if (map === undefined) return { rows: n, cols: layout.cols, indptr, indices, data };
  // Renumber the kept columns in place (each row moves left or stays), then shed the dropped room.
  for (let k = 0, q = 0; k < n; k++) {
    for (let p = full[k]!; p < full[k + 1]!; p++) {
      const j = map[indices[p]!]!;
      if (j >= 0) indices[q++] = j;
    }
  }
  const cols = opts.select!.columns;
  return { rows: n, cols, indptr, indices: kept === total ? indices : indices.slice(0, kept), data };
}

/**
 * Streams `count` elements of `size` bytes starting at byte `start` of `key`, handing `use` aligned pieces
 * of at most `pieceBytes` bytes with the index of their first element.
 */
async function streamSection(
  store: ArtifactStore,
  key: string,
  start: number,
  count: number,
  size: number,
  pieceBytes: number,
  use: (bytes: Uint8Array, firstElement: number) => void,
): Promise<void> {
  const length = count * size;
  if (length === 0) return;
  const cap = Math.max(size, pieceBytes - (pieceBytes % size));
  const buf = new Uint8Array(new ArrayBuffer(Math.min(cap, length)));
  let fill = 0;
  let element = 0;
  let got = 0;
  const stream: Readable = await store.openRead(key, { start, end: start + length - 1 });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let from = 0;
    while (from < chunk.length) {
      const take = Math.min(chunk.length - from, buf.length - fill);
      buf.set(chunk.subarray(from, from + take), fill);
      fill += take;
      from += take;
      if (fill === buf.length) {
        use(buf, element);
        element += fill / size;
        fill = 0;
      }
    }
    got += chunk.length;
  }
  if (got !== length) throw new Error(`${key} is truncated: rerun transform-split`);
  if (fill > 0) use(buf.subarray(0, fill), element);
}
