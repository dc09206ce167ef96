/**
 * UTF-8 validity of dataset bytes. Node's `toString('utf8')` turns invalid bytes into U+FFFD without a
 * word, so a Latin-1 or binary file would train on mojibake; readers check each record (or each piece of
 * the stream) with `buffer.isUtf8` (simdutf, several GB/s) and only on failure look for the exact offset
 * with the slower `firstInvalidUtf8`.
 */
import { isUtf8 } from 'node:buffer';

export { isUtf8 };

/**
 * Index of the first byte of `buf[start, end)` that does not begin a valid UTF-8 sequence (overlong forms,
 * surrogates and code points above U+10FFFF are invalid, as for `isUtf8`); -1 when all are valid. A
 * sequence cut by `end` is invalid.
 */
export function firstInvalidUtf8(buf: Uint8Array, start = 0, end = buf.length): number {
  let i = start;
  while (i < end) {
    const c = buf[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    let cp: number;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
      min = 0x80;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      min = 0x800;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      min = 0x10000;
      cp = c & 0x07;
    } else return i;
    if (i + need >= end) return i; // fewer than `need` continuation bytes before `end`
    for (let k = 1; k <= need; k++) {
      const b = buf[i + k]!;
      if ((b & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/** Where in `buf` a multi-byte character cut by the end of `buf` begins (buf.length when none is cut). */
function incompleteTail(buf: Uint8Array): number {
  const n = buf.length;
  for (let i = n - 1; i >= 0 && i >= n - 4; i--) {
    const c = buf[i]!;
    if ((c & 0xc0) === 0x80) continue; // a continuation byte: look further back for its lead
    const size = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return i + size > n ? i : n;
  }
  return n;
}

/**
 * Checks a byte stream piece by piece: a character cut by a piece's end is carried over and checked with
 * the next piece. `push` returns the bytes made of whole characters (the carried bytes first) with their
 * file offset, and the file offset of the first invalid byte among them, or -1.
 */
export class Utf8Checker {
  private carry: Buffer | null = null;

  push(piece: Buffer, offset: number): { bytes: Buffer; offset: number; invalidAt: number } {
    let bytes = piece;
    let start = offset;
    if (this.carry !== null) {
      bytes = Buffer.concat([this.carry, piece]);
      start = offset - this.carry.length;
      this.carry = null;
    }
    const cut = incompleteTail(bytes);
    if (cut < bytes.length) {
      this.carry = Buffer.from(bytes.subarray(cut));
      bytes = bytes.subarray(0, cut);
    }
    if (isUtf8(bytes)) return { bytes, offset: start, invalidAt: -1 };
    const at = firstInvalidUtf8(bytes);
    return { bytes, offset: start, invalidAt: start + (at < 0 ? 0 : at) };
  }

  /** After the last piece: the file offset of a character the end of the file cuts, or -1. */
  end(eof: number): number {
    const carried = this.carry;
    this.carry = null;
    return carried === null ? -1 : eof - carried.length;
  }
}
