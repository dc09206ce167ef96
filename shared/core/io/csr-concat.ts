import type { ArtifactStore, ArtifactWriter } from '../store/artifact-store';
import { csrLayout } from './csr-file';

/** A features matrix file (csr-file.ts) holding some of the rows: a block's rows and their labels. */
export interface CsrPart {
  key: string;
  rows: number;
  nnz: number;
}

/** Smaller pieces are gathered into writes of this size at least. */
const WRITE_BYTES = 1 << 16;

/**
 * Writes under `key` the features matrix file (csr-file.ts's layout, byte for byte what encodeCsr gives
 * for the whole matrix) of the rows of `parts` one after another, every part a file of the same `cols`
 * columns. Streams: each part's section is read by one ranged read per section (indptr shifted by the
 * non-zeros before it), so a process holds a buffer, never the matrix. Visible only when complete.
 */
export async function writeCsrFromParts(
  store: ArtifactStore,
  key: string,
  cols: number,
  parts: readonly CsrPart[],
): Promise<{ rows: number; nnz: number }> {
  const rows = parts.reduce((s, p) => s + p.rows, 0);
  const nnz = parts.reduce((s, p) => s + p.nnz, 0);
  const layout = csrLayout(rows, cols, nnz);
  const out = new BufferedWriter(await store.openWriter(key));
  try {
    await out.write(Buffer.from(layout.head, 'latin1'));
    await out.write(Buffer.from(new Int32Array(1).buffer));
    let base = 0;
    for (const p of parts) {
      // Each part's indptr starts at 0: its entries after the first, shifted by the non-zeros before it.
      const at = csrLayout(p.rows, cols, p.nnz).indptr + 4;
      await copyRange(store, p, at, 4 * p.rows, out, (piece) => {
        const ints = new Int32Array(piece.length / 4);
        Buffer.from(ints.buffer).set(piece);
        for (let i = 0; i < ints.length; i++) ints[i]! += base;
        return Buffer.from(ints.buffer);
      });
      base += p.nnz;
    }
    await out.pad(layout.indices);
    for (const p of parts) await copyRange(store, p, csrLayout(p.rows, cols, p.nnz).indices, 4 * p.nnz, out);
    await out.pad(layout.data);
    for (const p of parts) await copyRange(store, p, csrLayout(p.rows, cols, p.nnz).data, 8 * p.nnz, out);
    await out.pad(layout.labels);
    for (const p of parts) await copyRange(store, p, csrLayout(p.rows, cols, p.nnz).labels, 4 * p.rows, out);
    await out.pad(layout.size);
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
  return { rows, nnz };
}

/**
 * Copies `bytes` bytes of part `p` from offset `at` to `out`, through `map` in pieces of whole 4-byte
 * words when given. Fails naming the part when it holds fewer bytes than its rows and non-zeros say.
 */
async function copyRange(
  store: ArtifactStore,
  p: CsrPart,
  at: number,
  bytes: number,
  out: BufferedWriter,
  map?: (piece: Buffer) => Buffer,
): Promise<void> {
  if (bytes === 0) return;
  let read = 0;
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of await store.openRead(p.key, { start: at, end: at + bytes - 1 })) {
    const piece = chunk as Buffer;
    read += piece.length;
    if (!map) {
      await out.write(piece);
      continue;
    }
    const joined = carry.length > 0 ? Buffer.concat([carry, piece]) : piece;
    const whole = joined.length - (joined.length % 4);
    if (whole > 0) await out.write(map(joined.subarray(0, whole)));
    carry = Buffer.from(joined.subarray(whole));
  }
  if (read !== bytes || carry.length > 0)
    throw new Error(
      `${store.locate(p.key)}: expected ${bytes} bytes at offset ${at} for ${p.rows} rows and ${p.nnz} non-zeros, read ${read}: the part is truncated or not this matrix's`,
    );
}

/** Gathers small pieces into large writes; counts the bytes written, to pad sections. */
class BufferedWriter {
  private pieces: Buffer[] = [];
  private held = 0;
  written = 0;

  constructor(private readonly out: ArtifactWriter) {}

  async write(piece: Buffer): Promise<void> {
    this.written += piece.length;
    if (piece.length >= WRITE_BYTES) {
      // A large piece (a read's) goes as it is, after what was gathered before it.
      await this.flush();
      await this.out.write(piece);
      return;
    }
    this.pieces.push(piece);
    this.held += piece.length;
    if (this.held >= WRITE_BYTES) await this.flush();
  }

  /** Zero bytes up to offset `to`, where the next section starts (the padding to 8 bytes). */
  async pad(to: number): Promise<void> {
    if (this.written > to)
      throw new Error(`a section ends at ${this.written}, past ${to} where the next starts`);
    if (to > this.written) await this.write(Buffer.alloc(to - this.written));
  }

  async commit(): Promise<void> {
    await this.flush();
    await this.out.commit();
  }

  async abort(): Promise<void> {
    this.pieces = [];
    await this.out.abort();
  }

  private async flush(): Promise<void> {
    if (this.held === 0) return;
    const all = Buffer.concat(this.pieces);
    this.pieces = [];
    this.held = 0;
    await this.out.write(all);
  }
}
