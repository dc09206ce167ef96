/**
 * The compiled sparse kernels (csr-kernels.wat) and the part of the WebAssembly API that loads them.
 * Arguments are byte offsets into the instance's memory (see the .wat file).
 */
import { CSR_KERNELS_WASM_BASE64 } from './csr-kernels-binary';

/** A product over `rows` rows: offsets of the row pointers, indices, values, dense source and destination. */
export type Fixed = (ip: number, ix: number, d: number, src: number, dst: number, rows: number) => void;
type AnyK = (ip: number, ix: number, d: number, src: number, dst: number, rows: number, k: number) => void;

export interface Kernels {
  spmm1: Fixed;
  spmmT1: Fixed;
  spmm3: Fixed;
  spmmT3: Fixed;
  spmm4: Fixed;
  spmmT4: Fixed;
  spmm: AnyK;
  spmmT: AnyK;
}

export interface WasmMemory {
  buffer: ArrayBuffer;
}

/** The part of the WebAssembly API used here (lib.dom.d.ts declares it; this project compiles without DOM). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
  Instance: new (module: object, imports: object) => { exports: unknown };
};

/** Bytes of a WebAssembly page. */
export const PAGE_BYTES = 65_536;
/** Pages of a 32-bit memory at most (4 GiB). */
export const MAX_PAGES = 65_536;

let compiled: object | undefined;

/**
 * A memory of `pages` pages and the kernels over it. The memory cannot grow: growing one detaches its
 * old ArrayBuffer, which makes V8's optimised typed-array code check for detached buffers in the whole
 * process from then on (~1.8× slower loops).
 */
export function instantiateKernels(pages: number): { memory: WasmMemory; kernels: Kernels } {
  compiled ??= new WebAssembly.Module(Buffer.from(CSR_KERNELS_WASM_BASE64, 'base64'));
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const kernels = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as Kernels;
  return { memory, kernels };
}

/**
 * The kernel of X·A (or Xᵀ·A, scattered, when `transposed`) for K dense columns: the unrolled one for K = 1,
 * 3 or 4, else the loop over any K. All make the same sums in the same order.
 */
export function productKernel(k: Kernels, K: number, transposed: boolean): Fixed {
  const unrolled: Partial<Record<number, Fixed>> = transposed
    ? { 1: k.spmmT1, 3: k.spmmT3, 4: k.spmmT4 }
    : { 1: k.spmm1, 3: k.spmm3, 4: k.spmm4 };
  const fixed = unrolled[K];
  if (fixed) return fixed;
  const any = transposed ? k.spmmT : k.spmm;
  return (ip, ix, d, src, dst, rows) => any(ip, ix, d, src, dst, rows, K);
}
