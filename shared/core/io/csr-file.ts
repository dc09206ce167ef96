import { CsrMatrix } from '../numeric/csr';
import type { ArtifactStore } from '../store/artifact-store';

/**
 * A CSR matrix and its row labels in one binary file, so the training stage loads features without
 * re-parsing CSV or re-tokenising text. Layout: one JSON header line padded with spaces to a multiple of
 * 8 bytes, then indptr (int32), indices (int32), data (float64), labels (int32), each padded to 8 bytes;
 * little-endian, as Node's typed arrays are on every platform it runs on here.
 */
const MAGIC = 'ticketflow-csr-v1';

interface Header {
  magic: string;
  rows: number;
  cols: number;
  nnz: number;
}

/**
 * `n` rounded up to a multiple of 8. Arithmetic, not `(n + 7) & ~7`: section offsets pass 2^31 bytes
 * (a features file of 300 million non-zeros), where bitwise operators wrap to negative int32s.
 */
export function pad8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** Row pointers are int32: a matrix holds at most this many non-zeros. */
export const MAX_NNZ = 0x7fffffff;

/** Fails, saying what to change, when a matrix of `nnz` non-zeros cannot be written in this layout. */
export function checkNnz(nnz: number, what: string): void {
  if (nnz > MAX_NNZ)
    throw new RangeError(
      `${what} has ${nnz} non-zeros, more than the ${MAX_NNZ} its int32 row pointers can address: use fewer features (a higher minDf, shorter n-grams) or fewer tickets`,
    );
}

/**
 * Where the sections of the file of a `rows` × `cols` matrix with `nnz` non-zeros start (byte offsets),
 * its header line (encodeCsr's) and its size: for code that writes or reads the file in pieces.
 */
export function csrLayout(
  rows: number,
  cols: number,
  nnz: number,
): { head: string; indptr: number; indices: number; data: number; labels: number; size: number } {
  checkNnz(nnz, 'a features matrix');
  let head = JSON.stringify({ magic: MAGIC, rows, cols, nnz } satisfies Header);
  head = head.padEnd(pad8(head.length + 1) - 1, ' ') + '\n';
  const indptr = head.length;
  const indices = indptr + pad8(4 * (rows + 1));
  const data = indices + pad8(4 * nnz);
  const labels = data + pad8(8 * nnz);
  return { head, indptr, indices, data, labels, size: labels + pad8(4 * rows) };
}

/** Puts the matrix and its labels under `key`, whole (the store's put is atomic). */
export async function writeCsrFile(
  store: ArtifactStore,
  key: string,
  m: CsrMatrix,
  labels: Int32Array,
): Promise<void> {
  await store.put(key, encodeCsr(m, labels));
}

/** The matrix and labels stored under `key`. */
export async function readCsrFile(
  store: ArtifactStore,
  key: string,
): Promise<{ matrix: CsrMatrix; labels: Int32Array }> {
  return decodeCsr(await store.get(key), key);
}

/** The file's bytes. */
export function encodeCsr(m: CsrMatrix, labels: Int32Array): Buffer {
  if (labels.length !== m.rows) throw new RangeError(`${labels.length} labels for ${m.rows} rows`);
  const nnz = m.indptr[m.rows]!;
  let head = JSON.stringify({ magic: MAGIC, rows: m.rows, cols: m.cols, nnz } satisfies Header);
  head = head.padEnd(pad8(head.length + 1) - 1, ' ') + '\n';
  const parts = [m.indptr, m.indices.subarray(0, nnz), m.data.subarray(0, nnz), labels];
  const size = head.length + parts.reduce((s, a) => s + pad8(a.byteLength), 0);
  const out = Buffer.alloc(size);
  let at = out.write(head, 0, 'latin1');
  for (const a of parts) {
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(out, at);
    at += pad8(a.byteLength);
  }
  return out;
}

/** The matrix and labels in a file's bytes; `file` names it in errors. */
export function decodeCsr(buf: Buffer, file: string): { matrix: CsrMatrix; labels: Int32Array } {
  const nl = buf.indexOf(10);
  let header: Header;
  try {
    header = JSON.parse(buf.toString('latin1', 0, nl)) as Header;
    if (header.magic !== MAGIC) throw new Error(`not a ${MAGIC} file`);
  } catch (err) {
    throw new Error(`${file} is not a features matrix written by transform-split: rerun that stage`, {
      cause: err,
    });
  }
  let at = nl + 1;
  // Copy each section into its own aligned buffer (a Float64Array view needs an 8-byte aligned offset).
  const take = <T>(bytes: number, make: (b: ArrayBuffer) => T): T => {
    const part = new Uint8Array(buf.subarray(at, at + bytes)).buffer;
    at += pad8(bytes);
    return make(part);
  };
  const { rows, cols, nnz } = header;
  const indptr = take(4 * (rows + 1), (b) => new Int32Array(b));
  const indices = take(4 * nnz, (b) => new Int32Array(b));
  const data = take(8 * nnz, (b) => new Float64Array(b));
  const labels = take(4 * rows, (b) => new Int32Array(b));
  if (at > pad8(buf.length)) throw new Error(`${file} is truncated: rerun transform-split`);
  return { matrix: { rows, cols, indptr, indices, data }, labels };
}
