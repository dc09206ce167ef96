/** The start of a dataset, for sniffing its format: read once from the open descriptor, never the whole file. */
import * as path from 'node:path';
import { badInput } from '../../errors';
import { formatBytes, MAX_RECORD_BYTES } from '../limits';
import { readAt, type DatasetFile } from '../open-dataset';
import type { FileHead } from './format';

/** How much of the file from its first non-space byte a format's sniff may look at. */
export const HEAD_BYTES = 64 * 1024;

/**
 * The file's first non-space byte after a UTF-8 byte order mark (undefined for a file of white space only)
 * and the bytes from there on. A UTF-16 byte order mark is refused here, before anything reads it as UTF-8.
 */
export async function readHead(ds: DatasetFile): Promise<FileHead> {
  const ext = path.extname(ds.path).toLowerCase();
  const buf = Buffer.alloc(HEAD_BYTES);
  let offset = 0;
  while (offset < MAX_RECORD_BYTES) {
    const bytesRead = await readAt(ds, buf, offset);
    if (bytesRead === 0) return { ext, first: undefined, bytes: Buffer.alloc(0) };
    let i = 0;
    if (offset === 0) {
      if (bytesRead >= 2 && ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff))) {
        throw badInput(
          { file: ds.path },
          'is UTF-16 (it starts with a UTF-16 byte order mark): datasets must be UTF-8 (convert it, e.g. iconv -f UTF-16 -t UTF-8)',
        );
      }
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3;
    }
    for (; i < bytesRead; i++) {
      const c = buf[i]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
        // a full buffer cut short by the white space before the first byte: read the head on its own
        const bytes =
          i > 0 && bytesRead === buf.length
            ? buf.subarray(0, await readAt(ds, buf, offset + i))
            : buf.subarray(i, bytesRead);
        return { ext, first: c, bytes };
      }
    }
    offset += bytesRead;
  }
  throw badInput(
    { file: ds.path },
    `the file starts with more than ${formatBytes(MAX_RECORD_BYTES)} of white space (MAX_RECORD_BYTES)`,
  );
}
