import type { ArtifactStore } from '../../../core/store/artifact-store';
import { CsrMatrix } from '../../../core/numeric/csr';
import { pad8 } from '../../../core/io/csr-file';
import { ByteBoundedCache } from '../../../core/io/byte-bounded-cache';
import { collectGarbage } from '../../../core/collect-garbage';
import { artifactKey } from '../context';
import { StageTry, scratchDir } from '../blocks/block-task';

/**
 * Feature extraction's intermediate files, all in the attempt's scratch folder (scratchDir:
 * `blocks-feature-extraction/` on a first attempt; removed when the stage completes), named by what they hold so a task run twice writes the same file:
 *  - `terms-<b>.bin`, `counts-<b>.bin`: block b's terms with their document frequencies (TermList bytes,
 *    then an int32 each: encodeTermFrequencies), its term counts
 *  - `vocabulary.bin`, `idf.bin`: the merged vocabulary with its document frequencies (as a block's terms),
 *    and its idf
 *  - `tfidf-<b>.bin`: block b's TF-IDF rows
 *  - `svd/<r>/z.bin`, `svd/<r>/xtxz.bin`, `svd/<r>/parts/xtxz-<b>.bin`: round r's basis block Z, XᵀX·Z
 *    and block b's share X_bᵀX_b·Z (block-svd.ts)
 *  - `init/vt.bin`, `init/svd.json`: X's top right singular vectors (cols × k) and the rounds they took,
 *    when the SVD ran over blocks
 *  - `nmf/<i>/ht.bin`: Hᵀ going into iteration i; `nmf/<i>/w-<b>.bin`, `nmf/<i>/xtw-<b>.bin`: block b's
 *    W and X_bᵀW_b after iteration i (`nmf/0/w-<b>.bin`: W's start); `nmf/<i>/resume.json`: what iteration
 *    i needs besides Hᵀ and W, for a later try to go on from there (fit-nmf-blocks.ts)
 *  - `done/…`: the tasks' records, for a later try to reuse them (block-task.ts)
 *  - `topics/labels-<b>.bin`: block b's topics (int32 a ticket)
 *  - `topics/rows-<b>.idx`: where block b's rows of tickets_topics.csv start, from 0 (float64, rows + 1)
 * Numbers are little-endian typed arrays, as Node's are on every platform it runs on here.
 */
export const FE_STAGE = 'feature-extraction';

const block = (b: number) => String(b).padStart(5, '0');

export const feFiles = {
  terms: (b: number) => `terms-${block(b)}.bin`,
  counts: (b: number) => `counts-${block(b)}.bin`,
  vocabulary: 'vocabulary.bin',
  idf: 'idf.bin',
  tfidf: (b: number) => `tfidf-${block(b)}.bin`,
  svd: 'svd/',
  svdRound: (r: number) => `svd/${r}/`,
  svdZ: (r: number) => `svd/${r}/z.bin`,
  svdProduct: (r: number) => `svd/${r}/xtxz.bin`,
  svdParts: (r: number) => `svd/${r}/parts/`,
  svdXtXZ: (r: number, b: number) => `svd/${r}/parts/xtxz-${block(b)}.bin`,
  initVt: 'init/vt.bin',
  initSvd: 'init/svd.json',
  iteration: (i: number) => `nmf/${i}/`,
  ht: (i: number) => `nmf/${i}/ht.bin`,
  resume: (i: number) => `nmf/${i}/resume.json`,
  w: (i: number, b: number) => `nmf/${i}/w-${block(b)}.bin`,
  xtw: (i: number, b: number) => `nmf/${i}/xtw-${block(b)}.bin`,
  topicLabels: (b: number) => `topics/labels-${block(b)}.bin`,
  topicRows: (b: number) => `topics/rows-${block(b)}.idx`,
} as const;

/** The store key of one of the stage's intermediate files. */
export function feKey(ctx: { runId: string } & StageTry, name: string): string {
  return artifactKey(ctx, scratchDir(FE_STAGE, ctx) + name);
}

export async function putFloat64(store: ArtifactStore, key: string, values: Float64Array): Promise<void> {
  await store.put(key, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

export async function getFloat64(store: ArtifactStore, key: string, length?: number): Promise<Float64Array> {
  const values = float64s(await store.get(key));
  if (length !== undefined && values.length !== length)
    throw new Error(
      `${store.locate(key)} holds ${values.length} numbers, ${length} expected: rerun the stage`,
    );
  return values;
}

/** A view of whole float64s, copied when the bytes are not 8-byte aligned. */
function float64s(buf: Buffer): Float64Array {
  if (buf.byteLength % 8 !== 0) throw new Error(`${buf.byteLength} bytes are not float64s`);
  if (buf.byteOffset % 8 === 0) return new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
  return new Float64Array(new Uint8Array(buf).buffer);
}

/** A CSR matrix's bytes: rows, cols, nnz (int32, padded to 16), indptr, indices (padded to 8), data. */
export function encodeMatrix(m: CsrMatrix): Buffer {
  const nnz = m.indptr[m.rows]!;
  const intBytes = 4 * (m.rows + 1 + nnz);
  const dataAt = 16 + pad8(intBytes);
  const out = Buffer.alloc(dataAt + 8 * nnz); // zeroed: the padding's bytes are fixed too
  const head = new Int32Array(out.buffer, out.byteOffset, 4);
  head.set([m.rows, m.cols, nnz, 0]);
  const ints = new Int32Array(out.buffer, out.byteOffset + 16, m.rows + 1 + nnz);
  ints.set(m.indptr.subarray(0, m.rows + 1));
  ints.set(m.indices.subarray(0, nnz), m.rows + 1);
  new Float64Array(out.buffer, out.byteOffset + dataAt, nnz).set(m.data.subarray(0, nnz));
  return out;
}

export function decodeMatrix(buf: Buffer, file: string): CsrMatrix {
  const bytes = buf.byteOffset % 8 === 0 ? buf : Buffer.from(new Uint8Array(buf));
  const [rows, cols, nnz] = new Int32Array(bytes.buffer, bytes.byteOffset, 4);
  const intBytes = 4 * (rows! + 1 + nnz!);
  const dataAt = 16 + pad8(intBytes);
  if (bytes.byteLength !== dataAt + 8 * nnz!)
    throw new Error(
      `${file}: ${bytes.byteLength} bytes do not hold a ${rows}×${cols} matrix: rerun the stage`,
    );
  return {
    rows: rows!,
    cols: cols!,
    indptr: new Int32Array(bytes.buffer, bytes.byteOffset + 16, rows! + 1),
    indices: new Int32Array(bytes.buffer, bytes.byteOffset + 16 + 4 * (rows! + 1), nnz!),
    data: new Float64Array(bytes.buffer, bytes.byteOffset + dataAt, nnz!),
  };
}

export async function putMatrix(store: ArtifactStore, key: string, m: CsrMatrix): Promise<void> {
  await store.put(key, encodeMatrix(m));
}

export async function getMatrix(store: ArtifactStore, key: string): Promise<CsrMatrix> {
  return decodeMatrix(await store.get(key), store.locate(key));
}

/**
 * Decoded TF-IDF blocks this process read lately, by location, with the store's tag of the file they
 * came from: NMF reads every block once per iteration, and a process that ran a block's task often runs
 * it again (always, in-process). Bounded by MATRIX_CACHE_BYTES, least recently used first out. The bound
 * holds the TF-IDF rows of 1.6M tickets (~384 MB at ~20 non-zeros a ticket): below it, NMF's rounds read
 * their blocks from memory; above it, a worker whose job covers more blocks than fit reads them from the
 * store each round (least-recently-used order keeps none of a cyclic scan bigger than the cache). What
 * reading them each round costs: docs/scaling.md.
 *
 * The blocks are read again only while the stage runs (its rounds are well under a second apart), so the
 * cache empties after MATRIX_CACHE_IDLE_MS without a read, and the memory goes back to the system before
 * the next stages' processes on the same machine need theirs. It starts the collection itself: the
 * sandbox's own idle collection (collectWhenIdle) is timed from its last job's end and may run first.
 */
const MATRIX_CACHE_BYTES = 512 * 1024 * 1024;
const MATRIX_CACHE_IDLE_MS = 10_000;
const matrixCache = new ByteBoundedCache<CsrMatrix>({
  maxBytes: MATRIX_CACHE_BYTES,
  idleMs: MATRIX_CACHE_IDLE_MS,
  onIdleRelease: collectGarbage,
});

/** getMatrix, from the cache when the file is unchanged (same tag). */
export async function getMatrixCached(store: ArtifactStore, key: string): Promise<CsrMatrix> {
  const where = store.locate(key);
  const before = await store.stat(key);
  const hit = matrixCache.get(where, before?.tag);
  if (hit !== undefined) return hit;
  const buf = await store.get(key);
  const matrix = decodeMatrix(buf, where);
  // Cached only when the file did not change while it was read.
  const after = await store.stat(key);
  if (before !== undefined && after?.tag === before.tag)
    matrixCache.set(where, before.tag, matrix, buf.byteLength);
  return matrix;
}

/** putMatrix, keeping the matrix in the cache as written. */
export async function putMatrixCached(store: ArtifactStore, key: string, m: CsrMatrix): Promise<void> {
  const bytes = encodeMatrix(m);
  await store.put(key, bytes);
  const stat = await store.stat(key);
  if (stat !== undefined) matrixCache.set(store.locate(key), stat.tag, m, bytes.byteLength);
}
