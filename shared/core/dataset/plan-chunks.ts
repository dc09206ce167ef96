/**
 * Cut a dataset into chunks of `chunkSize` records by byte range, without parsing the records: only
 * their boundaries are found (array elements by bracket/string state, lines by newline, CSV rows by
 * newline outside quotes). Chunk jobs then read, validate and process their own range in parallel, so the
 * serial part of text processing is one fast scan of the file.
 *
 * The scan is also the first line of defence against pathological input, as it runs in the stage's parent
 * job and a BadInputError there fails the run on its first attempt: every byte is checked to be UTF-8,
 * every record to fit MAX_RECORD_BYTES, the scan to end within PLAN_TIME_LIMIT_MS, and a chunk holds at
 * most `chunkSize` records and MAX_CHUNK_BYTES bytes. CSV quotes are checked too: a quoted field must be
 * closed, and its closing quote followed by a comma or a line end.
 */
import { badInput, BadInputError, InputLocation } from '../errors';
import { ScanError, JsonArrayScanner, UTF8_ADVICE } from './json-array-scanner';
import { formatBytes, MAX_CHUNK_BYTES, MAX_RECORD_BYTES, PLAN_TIME_LIMIT_MS } from './limits';
import { LineSplitter } from './line-splitter';
import { readPieces, withDataset, type DatasetFile } from './open-dataset';
import {
  checkFirstJsonLine,
  looksLikeJsonObjectFile,
  noNarrative,
  scanOrThrow,
  sniffFormat,
  type DatasetFormat,
  type TicketRange,
} from './read-tickets';
import { isBlank } from './ticket-record';
import { Utf8Checker } from './utf8';

export interface ChunkPlan {
  file: string;
  format: DatasetFormat;
  /** records found (JSON elements, lines, CSV rows after the header; blank lines included) */
  records: number;
  chunks: TicketRange[];
}

export interface PlanOptions {
  /** stream piece size, default 1 MiB */
  highWaterMark?: number;
  /** default PLAN_TIME_LIMIT_MS */
  timeLimitMs?: number;
  /** default MAX_RECORD_BYTES */
  maxRecordBytes?: number;
  /** default MAX_CHUNK_BYTES */
  maxChunkBytes?: number;
  /** sees every piece of the file, in order, from its first byte to its end (as the scan reads them) */
  onPiece?: (piece: Buffer) => void;
}

interface Limits {
  file: string;
  size: number;
  chunkSize: number;
  maxRecordBytes: number;
  maxChunkBytes: number;
  timeLimitMs: number;
  deadline: number;
}

export async function planChunks(
  source: string | DatasetFile,
  chunkSize: number,
  opts: PlanOptions = {},
): Promise<ChunkPlan> {
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new RangeError(`chunkSize must be a whole number ≥ 1, got ${chunkSize}`);
  return withDataset(source, async (ds) => {
    const file = ds.path;
    const format = await sniffFormat(ds);
    const timeLimitMs = opts.timeLimitMs ?? PLAN_TIME_LIMIT_MS;
    const limits: Limits = {
      file,
      size: ds.size,
      chunkSize,
      maxRecordBytes: opts.maxRecordBytes ?? MAX_RECORD_BYTES,
      maxChunkBytes: opts.maxChunkBytes ?? MAX_CHUNK_BYTES,
      timeLimitMs,
      deadline: performance.now() + timeLimitMs,
    };
    const stream = tap(readPieces(ds, { highWaterMark: opts.highWaterMark ?? 1 << 20 }), opts.onPiece);
    try {
      if (format === 'json') return await planJson(stream, limits);
      if (looksLikeJsonObjectFile(file, format)) await checkJsonLinesStart(ds);
      return await planLines(format, stream, limits);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (
        !(err instanceof BadInputError) &&
        typeof code === 'string' &&
        (err as NodeJS.ErrnoException).syscall
      )
        throw badInput({ file }, `cannot read the file (${code})`, err);
      throw err;
    } finally {
      await stream.return(undefined);
    }
  });
}

async function* tap(
  pieces: AsyncGenerator<Buffer>,
  onPiece: ((piece: Buffer) => void) | undefined,
): AsyncGenerator<Buffer> {
  try {
    for await (const piece of pieces) {
      onPiece?.(piece);
      yield piece;
    }
  } finally {
    await pieces.return(undefined);
  }
}

function checkTime(limits: Limits, offset: number, where: InputLocation): void {
  if (performance.now() <= limits.deadline) return;
  throw badInput(
    where,
    `planning chunks stopped after ${limits.timeLimitMs / 1000} s (PLAN_TIME_LIMIT_MS) at byte ${offset} of ` +
      `${limits.size}: the file is too large or too slow to read; split it into smaller datasets`,
  );
}

function notUtf8(where: InputLocation, at: number, cut = false): BadInputError {
  return badInput(
    where,
    `not valid UTF-8 at byte ${at}${cut ? ' (the file ends inside a character)' : ''}${UTF8_ADVICE}`,
  );
}

/** Appends `el` to the open chunk, or opens a new one when that is full in records or bytes. */
function addRecord(
  chunks: TicketRange[],
  state: { inChunk: number },
  limits: Limits,
  el: { offset: number; end: number; index: number; headerEnd?: number },
): void {
  const open = chunks[chunks.length - 1];
  if (open === undefined || state.inChunk >= limits.chunkSize || el.end - open.start > limits.maxChunkBytes) {
    chunks.push({
      start: el.offset,
      end: el.end,
      firstRecord: el.index,
      ...(el.headerEnd !== undefined ? { headerEnd: el.headerEnd } : {}),
    });
    state.inChunk = 1;
    return;
  }
  open.end = el.end;
  state.inChunk++;
}

async function planJson(stream: AsyncIterable<Buffer>, limits: Limits): Promise<ChunkPlan> {
  const { file } = limits;
  const scanner = new JsonArrayScanner(false, limits.maxRecordBytes);
  const utf8 = new Utf8Checker();
  const chunks: TicketRange[] = [];
  const state = { inChunk: 0 };
  let records = 0;
  let offset = 0;
  const take = (els: { index: number; offset: number; end: number }[]) => {
    for (const el of els) {
      addRecord(chunks, state, limits, el);
      records++;
    }
  };
  for await (const chunk of stream) {
    const piece = chunk;
    checkTime(limits, offset, { file, record: scanner.currentRecord });
    const { invalidAt } = utf8.push(piece, offset);
    if (invalidAt >= 0) {
      // structure errors before the bad byte come first; then name the record the byte is in
      if (invalidAt > offset)
        take(scanOrThrow(() => scanner.push(piece.subarray(0, invalidAt - offset)), file));
      throw notUtf8({ file, record: scanner.currentRecord }, invalidAt);
    }
    take(scanOrThrow(() => scanner.push(piece), file));
    offset += piece.length;
  }
  const cut = utf8.end(offset);
  if (cut >= 0) throw notUtf8({ file, record: scanner.currentRecord }, cut, true);
  take(scanOrThrow(() => scanner.end(), file));
  if (records === 0) throw noNarrative(file, 0);
  return { file, format: 'json', records, chunks };
}

/**
 * A .json file that starts with '{' is read as JSON Lines; when its first line is no hit it is most likely
 * one JSON object (an Elasticsearch response, a pretty-printed object): say so before planning.
 */
async function checkJsonLinesStart(ds: DatasetFile): Promise<void> {
  const splitter = new LineSplitter();
  const stream = readPieces(ds, { end: MAX_RECORD_BYTES + 1, highWaterMark: 1 << 16 });
  try {
    const check = (lines: { index: number; offset: number; text: string }[]): boolean => {
      const line = lines.find((l) => !isBlank(l.text));
      if (line) checkFirstJsonLine(ds.path, line.index, line.offset, line.text);
      return line !== undefined;
    };
    for await (const piece of stream) if (check(splitter.push(piece))) return;
    check(splitter.end());
  } catch (err) {
    // a first line that is too long or not UTF-8: the scan reports it with its own message
    if (!(err instanceof ScanError)) throw err;
  } finally {
    await stream.return(undefined);
  }
}

/**
 * JSON Lines and CSV: records end at "\n" (for CSV, outside quoted fields; a quote opens a field only
 * at its start, as in the CSV parser). The CSV header row is not a record.
 */
async function planLines(
  format: 'jsonl' | 'csv',
  stream: AsyncIterable<Buffer>,
  limits: Limits,
): Promise<ChunkPlan> {
  const { file, maxRecordBytes } = limits;
  const csv = format === 'csv';
  const chunks: TicketRange[] = [];
  const state = { inChunk: 0 };
  const utf8 = new Utf8Checker();
  let records = 0;
  let headerEnd = csv ? -1 : 0;
  let offset = 0; // file offset of the current piece
  let rowStart = 0; // file offset where the current row began
  let inQuotes = false;
  /** a quote inside a quoted field ended the last piece: closing, or the first of a doubled pair */
  let pendingQuote = false;
  let atFieldStart = true;
  /** a quoted field just closed: a comma or a line end must follow */
  let afterClose = false;
  /** file offsets of the current quoted field's opening quote and of the quote that closed it */
  let quoteAt = -1;
  let closeAt = -1;
  /** where the row in progress is, for messages */
  const where = (): InputLocation => (headerEnd < 0 ? { file } : { file, record: records });
  const rowName = () => (headerEnd < 0 ? 'the CSV header row' : 'the record');
  const tooLong = (end: number) =>
    badInput(
      where(),
      `${rowName()} starting at byte ${rowStart} is longer than the ${formatBytes(maxRecordBytes)} a record may ` +
        `take (MAX_RECORD_BYTES; ${formatBytes(end - rowStart)} so far)` +
        (inQuotes
          ? `: an opening quote at byte ${quoteAt} is never closed`
          : csv
            ? ''
            : ': it has no newline where one should be'),
    );
  const endRow = (end: number) => {
    if (end - rowStart > maxRecordBytes) throw tooLong(end);
    if (headerEnd < 0) {
      headerEnd = end;
    } else {
      addRecord(chunks, state, limits, {
        offset: rowStart,
        end,
        index: records,
        ...(csv ? { headerEnd } : {}),
      });
      records++;
    }
    rowStart = end;
  };
  for await (const chunk of stream) {
    const buf = chunk;
    checkTime(limits, offset, where());
    const { invalidAt } = utf8.push(buf, offset);
    // scan up to a bad byte, so that the row it is in is known
    const n = invalidAt < 0 ? buf.length : Math.max(0, invalidAt - offset);
    let i = 0;
    if (pendingQuote && n > 0) {
      pendingQuote = false;
      if (buf[0] === 0x22)
        i = 1; // doubled: still inside
      else {
        inQuotes = false;
        afterClose = true;
      }
    }
    while (i < n) {
      if (!csv) {
        const nl = buf.indexOf(0x0a, i);
        if (nl < 0 || nl >= n) break;
        endRow(offset + nl + 1);
        i = nl + 1;
        continue;
      }
      if (inQuotes) {
        const q = buf.indexOf(0x22, i);
        if (q < 0 || q >= n) break;
        if (q + 1 >= n) {
          pendingQuote = true;
          closeAt = offset + q;
          i = n;
          break;
        }
        if (buf[q + 1] === 0x22) {
          i = q + 2; // a doubled quote stands for one: still inside
          continue;
        }
        inQuotes = false;
        afterClose = true;
        closeAt = offset + q;
        i = q + 1;
        continue;
      }
      const c = buf[i]!;
      if (afterClose) {
        afterClose = false;
        if (c !== 0x2c && c !== 0x0a && c !== 0x0d) {
          throw badInput(
            where(),
            `an opening quote at byte ${quoteAt} is never closed: the quote at byte ${closeAt} that would close ` +
              "its field is followed by neither ',' nor a line end (a quote inside a quoted field must be doubled)",
          );
        }
      }
      if (c === 0x22 && atFieldStart) {
        inQuotes = true;
        quoteAt = offset + i;
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
    if (invalidAt >= 0) throw notUtf8(where(), invalidAt);
    offset += buf.length;
    if (offset - rowStart > maxRecordBytes) throw tooLong(offset);
  }
  const cut = utf8.end(offset);
  if (cut >= 0) throw notUtf8(where(), cut, true);
  if (pendingQuote) inQuotes = false;
  if (csv && inQuotes) {
    throw badInput(
      where(),
      `truncated: an opening quote at byte ${quoteAt} is never closed (the file ends inside its quoted field)`,
    );
  }
  if (offset > rowStart) endRow(offset); // a last row without newline
  if (csv && headerEnd < 0) throw badInput({ file }, 'the file is empty (expected a CSV header row)');
  if (records === 0) throw noNarrative(file, 0);
  return { file, format, records, chunks };
}
