import fsp from 'node:fs/promises';
import { CsrMatrix } from '../numeric/csr';
import { writeFileAtomic } from '../storage';

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

const pad8 = (n: number) => (n + 7) & ~7;

export async function writeCsrFile(file: string, m: CsrMatrix, labels: Int32Array): Promise<void> {
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
  await writeFileAtomic(file, out);
}

export async function readCsrFile(file: string): Promise<{ matrix: CsrMatrix; labels: Int32Array }> {
  const buf = await fsp.readFile(file);
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
    const part = buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + bytes);
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
