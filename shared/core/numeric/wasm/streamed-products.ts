/**
 * spmm and spmmTransposed (sparse-kernels.ts) in WebAssembly, for any CSR matrix: its rows are copied
 * through one workspace per process, a chunk at a time, and the kernels (csr-kernels.wat) make the same
 * sums in the same order, so the results have the same bits. The kernels run 2–3× faster than V8's code
 * for the typed-array loops (at K = 3, ~1.5 and ~1.8 ns a non-zero against ~3.8 and ~5.2); the copy
 * costs ~0.9 ns a non-zero, a product still about half the time. NMF's and the SVD's sweeps over TF-IDF
 * blocks run here; sparse-kernels.ts decides which products do.
 *
 * The workspace holds the dense side that every row may touch (cols × K numbers), one chunk of rows (at
 * most CHUNK_ROWS rows and CHUNK_ENTRIES non-zeros, or one longer row) and that chunk's dense rows: it
 * grows with the columns × K, never with the rows, and is kept for the process's next product (a fresh
 * WebAssembly memory per product costs more than a block's product saves). A product that needs more than
 * KEEP_WORKSPACE_BYTES gets a memory of its own, let go after it, so a process keeps at most that much.
 */
import { CsrMatrix } from '../csr-matrix';
import { Kernels, MAX_PAGES, PAGE_BYTES, WasmMemory, instantiateKernels, productKernel } from './kernels';

/** Rows of a chunk at most. */
export const CHUNK_ROWS = 4_096;
/** Non-zeros of a chunk at most (a longer row gets a chunk of its own, sized for it). */
export const CHUNK_ENTRIES = 1 << 17;

/** Bytes of workspace a process keeps between products at most (~600,000 columns × K = 3). */
export const KEEP_WORKSPACE_BYTES = 16 << 20;

let memory: WasmMemory | undefined;
let kernels: Kernels | undefined;

/**
 * The workspace with at least `bytes` bytes. No memory here ever grows: growing a WebAssembly memory
 * detaches its old ArrayBuffer, and the first detached buffer in a process makes V8 check for detached
 * buffers in all its optimised typed-array code from then on (L-BFGS's vector loops ran ~1.8× slower in
 * that process). A larger workspace is a new memory, and the old one is left to the collector.
 */
function workspace(bytes: number): { buffer: ArrayBuffer; k: Kernels } {
  const pages = Math.ceil(Math.max(bytes, 1) / PAGE_BYTES);
  if (pages > MAX_PAGES)
    throw new RangeError(`sparse products need ${bytes} bytes, more than WebAssembly's 4 GiB`);
  if (pages * PAGE_BYTES > KEEP_WORKSPACE_BYTES) {
    const own = instantiateKernels(pages);
    return { buffer: own.memory.buffer, k: own.kernels };
  }
  if (memory === undefined || kernels === undefined || memory.buffer.byteLength < pages * PAGE_BYTES)
    ({ memory, kernels } = instantiateKernels(pages));
  return { buffer: memory.buffer, k: kernels };
}

/** Bytes the workspace holds now (0 before the first product): what a process keeps for them. */
export function workspaceBytes(): number {
  return memory?.buffer.byteLength ?? 0;
}

/** Smaller chunks than the defaults, for tests. */
export interface ChunkLimits {
  chunkRows?: number;
  chunkEntries?: number;
}

interface Layout {
  buffer: ArrayBuffer;
  k: Kernels;
  /** byte offsets: the whole dense side (cols × K), a chunk's dense rows, row pointers, indices, values */
  wholeAt: number;
  rowsAt: number;
  ipAt: number;
  ixAt: number;
  dAt: number;
  /** rows and non-zeros a chunk may hold */
  chunkRows: number;
  capacity: number;
}

function layout(m: CsrMatrix, K: number, limits: ChunkLimits): Layout {
  const { rows, indptr } = m;
  let longest = 0;
  for (let i = 0; i < rows; i++) longest = Math.max(longest, indptr[i + 1]! - indptr[i]!);
  const chunkRows = Math.max(1, limits.chunkRows ?? CHUNK_ROWS);
  const capacity = Math.max(1, longest, limits.chunkEntries ?? CHUNK_ENTRIES);
  let end = 0;
  const place = (bytes: number): number => {
    const at = end;
    end += Math.ceil(bytes / 8) * 8;
    return at;
  };
  const wholeAt = place(m.cols * K * 8);
  const rowsAt = place(chunkRows * K * 8);
  const ipAt = place((chunkRows + 1) * 4);
  const ixAt = place(capacity * 4);
  const dAt = place(capacity * 8);
  return { ...workspace(end), wholeAt, rowsAt, ipAt, ixAt, dAt, chunkRows, capacity };
}

/**
 * Runs `kernel` over m's rows a chunk at a time, in order: copies each chunk's row pointers (from 0),
 * indices and values into the workspace, then calls `kernel(r0, r1)`.
 */
function forChunks(m: CsrMatrix, w: Layout, kernel: (r0: number, r1: number) => void): void {
  const { rows, indptr, indices, data } = m;
  const ip = new Int32Array(w.buffer, w.ipAt, w.chunkRows + 1);
  const ix = new Int32Array(w.buffer, w.ixAt, w.capacity);
  const d = new Float64Array(w.buffer, w.dAt, w.capacity);
  for (let r0 = 0; r0 < rows;) {
    const p0 = indptr[r0]!;
    let r1 = r0 + 1;
    while (r1 < rows && r1 - r0 < w.chunkRows && indptr[r1 + 1]! - p0 <= w.capacity) r1++;
    const p1 = indptr[r1]!;
    for (let i = 0; i <= r1 - r0; i++) ip[i] = indptr[r0 + i]! - p0;
    ix.set(indices.subarray(p0, p1));
    d.set(data.subarray(p0, p1));
    kernel(r0, r1);
    r0 = r1;
  }
}

/** A matrix held whole in a WebAssembly memory of its own (pinRows), and room for two dense sides. */
interface Pinned {
  holders: number;
  memory: WasmMemory;
  k: Kernels;
  ipAt: number;
  ixAt: number;
  dAt: number;
  /** the two dense areas, a product's source and its result: max(rows, cols) × maxK numbers each */
  denseAt: number;
  outAt: number;
  /** the widest dense side the memory has room for: a wider product streams instead */
  maxK: number;
}

const pinned = new WeakMap<CsrMatrix, Pinned>();

/**
 * Holds `m` whole in WebAssembly memory, with room for products of up to `maxK` columns, until the
 * returned function is called: every such product of it then copies only its dense sides, not its rows.
 * For a solver that multiplies one matrix many times (fitNmf's iterations, the Lanczos SVD: ~100 products
 * of the same rows); the caller must not change `m` meanwhile. Costs a copy of its rows (12 bytes a non-zero), freed with the memory after the last unpin.
 * Pins of one matrix nest (the first one's `maxK` holds).
 */
export function pinRows(m: CsrMatrix, maxK: number): () => void {
  let pin = pinned.get(m);
  if (pin === undefined) {
    const nnz = m.indptr[m.rows]!;
    const ipAt = 0;
    const ixAt = Math.ceil((4 * (m.rows + 1)) / 8) * 8;
    const dAt = ixAt + Math.ceil((4 * nnz) / 8) * 8;
    const denseAt = dAt + 8 * nnz;
    const area = Math.max(m.rows, m.cols) * maxK * 8;
    const pages = Math.ceil(Math.max(denseAt + 2 * area, 1) / PAGE_BYTES);
    if (pages > MAX_PAGES) return () => undefined;
    const { memory, kernels } = instantiateKernels(pages);
    new Int32Array(memory.buffer, ipAt, m.rows + 1).set(m.indptr.subarray(0, m.rows + 1));
    new Int32Array(memory.buffer, ixAt, nnz).set(m.indices.subarray(0, nnz));
    new Float64Array(memory.buffer, dAt, nnz).set(m.data.subarray(0, nnz));
    pin = { holders: 0, memory, k: kernels, ipAt, ixAt, dAt, denseAt, outAt: denseAt + area, maxK };
    pinned.set(m, pin);
  }
  const held = pin;
  held.holders++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--held.holders === 0) pinned.delete(m);
  };
}

/** `m`'s pin (pinRows) when it has room for products of K columns; undefined otherwise. */
function pinFor(m: CsrMatrix, K: number): Pinned | undefined {
  const pin = pinned.get(m);
  return pin !== undefined && K <= pin.maxK ? pin : undefined;
}

/** Whether `m` is pinned now (pinRows), with room for products of K columns when K is given. */
export function isPinned(m: CsrMatrix, K = 1): boolean {
  return pinFor(m, K) !== undefined;
}

function pinnedSpmm(m: CsrMatrix, pin: Pinned, src: Float64Array, K: number, dst: Float64Array): void {
  const { buffer } = pin.memory;
  new Float64Array(buffer, pin.denseAt, m.cols * K).set(src.subarray(0, m.cols * K));
  productKernel(pin.k, K, false)(pin.ipAt, pin.ixAt, pin.dAt, pin.denseAt, pin.outAt, m.rows);
  dst.set(new Float64Array(buffer, pin.outAt, m.rows * K));
}

function pinnedSpmmTransposed(
  m: CsrMatrix,
  pin: Pinned,
  src: Float64Array,
  K: number,
  dst: Float64Array,
): void {
  const { buffer } = pin.memory;
  new Float64Array(buffer, pin.denseAt, m.rows * K).set(src.subarray(0, m.rows * K));
  const out = new Float64Array(buffer, pin.outAt, m.cols * K);
  out.fill(0);
  productKernel(pin.k, K, true)(pin.ipAt, pin.ixAt, pin.dAt, pin.denseAt, pin.outAt, m.rows);
  dst.set(out);
}

/** dst (m.rows × K) = m · src (m.cols × K): spmm's result, bit for bit. */
export function streamedSpmm(
  m: CsrMatrix,
  src: Float64Array,
  K: number,
  dst: Float64Array,
  limits: ChunkLimits = {},
): void {
  const pin = pinFor(m, K);
  if (pin !== undefined) return pinnedSpmm(m, pin, src, K, dst);
  const w = layout(m, K, limits);
  new Float64Array(w.buffer, w.wholeAt, m.cols * K).set(src.subarray(0, m.cols * K));
  const out = new Float64Array(w.buffer, w.rowsAt, w.chunkRows * K);
  const run = productKernel(w.k, K, false);
  forChunks(m, w, (r0, r1) => {
    run(w.ipAt, w.ixAt, w.dAt, w.wholeAt, w.rowsAt, r1 - r0);
    dst.set(out.subarray(0, (r1 - r0) * K), r0 * K);
  });
}

/** dst (m.cols × K) = mᵀ · src (m.rows × K): spmmTransposed's result, bit for bit. */
export function streamedSpmmTransposed(
  m: CsrMatrix,
  src: Float64Array,
  K: number,
  dst: Float64Array,
  limits: ChunkLimits = {},
): void {
  const pin = pinFor(m, K);
  if (pin !== undefined) return pinnedSpmmTransposed(m, pin, src, K, dst);
  const w = layout(m, K, limits);
  const whole = new Float64Array(w.buffer, w.wholeAt, m.cols * K);
  whole.fill(0);
  const part = new Float64Array(w.buffer, w.rowsAt, w.chunkRows * K);
  const run = productKernel(w.k, K, true);
  forChunks(m, w, (r0, r1) => {
    part.set(src.subarray(r0 * K, r1 * K));
    run(w.ipAt, w.ixAt, w.dAt, w.rowsAt, w.wholeAt, r1 - r0);
  });
  dst.set(whole);
}
