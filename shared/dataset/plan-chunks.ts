/**
 * Cut a dataset into chunks of `chunkSize` records by byte range, without parsing the records: only
 * their boundaries are found (array elements by bracket/string state, lines by newline, CSV rows by
 * newline outside quotes). Chunk jobs then read, validate and process their own range in parallel, so the
 * serial part of text processing is one fast scan of the file.
 */
import * as fs from 'node:fs';
import { badInput } from '../errors';
import { JsonArrayScanner } from './json-array-scanner';
import {
  checkReadable,
  detectFormat,
  noNarrative,
  scanOrThrow,
  type DatasetFormat,
  type TicketRange,
} from './read-tickets';

export interface ChunkPlan {
  file: string;
  format: DatasetFormat;
  /** records found (JSON elements, lines, CSV rows after the header; blank lines included) */
  records: number;
  chunks: TicketRange[];
}

export async function planChunks(
  file: string,
  chunkSize: number,
  highWaterMark = 1 << 20,
): Promise<ChunkPlan> {
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new RangeError(`chunkSize must be a whole number ≥ 1, got ${chunkSize}`);
  await checkReadable(file);
  const format = await detectFormat(file);
  const stream = fs.createReadStream(file, { highWaterMark });
  try {
    if (format === 'json') return await planJson(file, stream, chunkSize);
    return await planLines(file, format, stream, chunkSize);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && (err as NodeJS.ErrnoException).syscall)
      throw badInput({ file }, `cannot read the file: ${(err as Error).message}`, err);
    throw err;
  } finally {
    stream.destroy();
  }
}

async function planJson(file: string, stream: fs.ReadStream, chunkSize: number): Promise<ChunkPlan> {
  const scanner = new JsonArrayScanner(false);
  const chunks: TicketRange[] = [];
  let open: TicketRange | null = null;
  let records = 0;
  const take = (els: { offset: number; end: number }[]) => {
    for (const el of els) {
      if (open === null || records % chunkSize === 0) {
        open = { start: el.offset, end: el.end, firstRecord: records };
        chunks.push(open);
      }
      open.end = el.end;
      records++;
    }
  };
  for await (const piece of stream) take(scanOrThrow(() => scanner.push(piece as Buffer), file));
  take(scanOrThrow(() => scanner.end(), file));
  if (records === 0) throw noNarrative(file, 0);
  return { file, format: 'json', records, chunks };
}

/**
 * JSON Lines and CSV: records end at "\n" (for CSV, outside quoted fields; a quote opens a field only
 * at its start, as in the CSV parser). The CSV header row is not a record.
 */
async function planLines(
  file: string,
  format: 'jsonl' | 'csv',
  stream: fs.ReadStream,
  chunkSize: number,
): Promise<ChunkPlan> {
  const csv = format === 'csv';
  const chunks: TicketRange[] = [];
  let records = 0;
  let headerEnd = csv ? -1 : 0;
  let offset = 0; // file offset of the current piece
  let rowStart = 0; // file offset where the current row began
  let inQuotes = false;
  /** a quote inside a quoted field ended the last piece: closing, or the first of a doubled pair */
  let pendingQuote = false;
  let atFieldStart = true;
  const endRow = (end: number) => {
    if (headerEnd < 0) {
      headerEnd = end;
    } else {
      if (records % chunkSize === 0)
        chunks.push({ start: rowStart, end, firstRecord: records, ...(csv ? { headerEnd } : {}) });
      else chunks[chunks.length - 1]!.end = end;
      records++;
    }
    rowStart = end;
  };
  for await (const chunk of stream) {
    const buf = chunk as Buffer;
    let i = 0;
    const n = buf.length;
    if (pendingQuote) {
      pendingQuote = false;
      if (buf[0] === 0x22)
        i = 1; // doubled: still inside
      else inQuotes = false;
    }
    while (i < n) {
      if (!csv) {
        const nl = buf.indexOf(0x0a, i);
        if (nl < 0) break;
        endRow(offset + nl + 1);
        i = nl + 1;
        continue;
      }
      if (inQuotes) {
        const q = buf.indexOf(0x22, i);
        if (q < 0) break;
        if (q + 1 >= n) {
          pendingQuote = true;
          i = n;
          break;
        }
        if (buf[q + 1] === 0x22) {
          i = q + 2; // a doubled quote stands for one: still inside
          continue;
        }
        inQuotes = false;
        atFieldStart = false;
        i = q + 1;
        continue;
      }
      const c = buf[i]!;
      if (c === 0x22 && atFieldStart) {
        inQuotes = true;
      } else if (c === 0x2c) {
        atFieldStart = true;
        i++;
        continue;
      } else if (c === 0x0a) {
        endRow(offset + i + 1);
        atFieldStart = true;
        i++;
        continue;
      }
      atFieldStart = false;
      i++;
    }
    offset += n;
  }
  if (pendingQuote) inQuotes = false;
  if (csv && inQuotes)
    throw badInput({ file, record: records }, 'truncated: the file ends inside a quoted field');
  if (offset > rowStart) endRow(offset); // a last row without newline
  if (csv && headerEnd < 0) throw badInput({ file }, 'the file is empty (expected a CSV header row)');
  if (records === 0) throw noNarrative(file, 0);
  return { file, format, records, chunks };
}
