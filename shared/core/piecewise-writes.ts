import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/**
 * The most bytes one write system call hands the kernel. On this project's reference machine (Linux
 * 6.18, ext4) one write() or writev() of 25 MB into the page cache took 60–250 ms, and the same bytes as
 * 512 KiB writes 8–9 ms, whatever the file (a new one, or a place in a large one); 1 MiB writes were as
 * fast, 2 and 4 MiB as slow as one write (`dd bs=…`). Node's own fs.writeFile writes 512 KiB at a time:
 * every other write of the file store goes through the two functions below.
 */
export const WRITE_PIECE_BYTES = 512 * 1024;

type Done = (err: NodeJS.ErrnoException | null, written?: number) => void;

/** `length` bytes of `buffer` from `offset` at file position `position` (or the file's own), in pieces. */
function writeInPieces(
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number | null | undefined,
  done: Done,
): void {
  let written = 0;
  const next = (): void => {
    if (written >= length) return done(null, written);
    const n = Math.min(WRITE_PIECE_BYTES, length - written);
    const at = typeof position === 'number' ? position + written : null;
    fs.write(fd, buffer, offset + written, n, at, (err, wrote) => {
      if (err) return done(err);
      written += wrote;
      next();
    });
  };
  next();
}

/**
 * The file system a write stream uses (`fs.createWriteStream(file, { fs: PIECEWISE_FS })`): Node's, except
 * that a write, or the writev of the chunks the stream gathered, goes out in pieces of WRITE_PIECE_BYTES,
 * one after another.
 */
export const PIECEWISE_FS = {
  open: fs.open,
  close: fs.close,
  write: writeInPieces,
  writev(fd: number, buffers: Uint8Array[], position: number | null | undefined, done: Done): void {
    let i = 0;
    let total = 0;
    const next = (): void => {
      if (i >= buffers.length) return done(null, total);
      const b = buffers[i++]!;
      const at = typeof position === 'number' ? position + total : null;
      writeInPieces(fd, b, 0, b.byteLength, at, (err, wrote) => {
        if (err) return done(err);
        total += wrote!;
        next();
      });
    };
    next();
  },
};

/** All of `data` at `position` of an open file, in pieces of WRITE_PIECE_BYTES. */
export function writeAt(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) =>
    writeInPieces(handle.fd, data, 0, data.byteLength, position, (err) => (err ? reject(err) : resolve())),
  );
}
