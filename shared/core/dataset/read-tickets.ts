/**
 * Streams a ticket dataset and calls back once per ticket with a non-empty narrative, in file order.
 *
 * Formats (detected by extension, else by the first non-space byte; see detectFormat):
 *  - json:  a JSON array of Kaggle/Elasticsearch hits `{_id, _source: {complaint_what_happened, product,
 *           sub_product, ...}}`; split element by element (JsonArrayScanner), never read as one string.
 *  - jsonl: one JSON object per line, each a hit as above or a bare `_source` object; blank lines are
 *           skipped; a record's index is its 0-based line number.
 *  - csv:   the CFPB's export with columns `Consumer complaint narrative`, `Product`, `Sub-product`
 *           (required) and `Complaint ID` (optional, the id).
 * An Elasticsearch response object `{hits: {hits: [...]}}` is not supported: extract the array first.
 *
 * Records with an empty, blank, null or missing narrative are dropped and counted (reason
 * emptyNarrative). Everything else that is wrong with the input throws BadInputError naming the file and,
 * where it applies, the record index, field and byte offset, without quoting the file's contents: not a
 * regular file, not UTF-8, a record over MAX_RECORD_BYTES, a chunk range over MAX_CHUNK_BYTES, bad syntax,
 * a wrong schema.
 *
 * The dataset is given as a path (opened here, with the checks of openDataset) or as an open DatasetFile
 * (a worker's, opened inside its data root): either way it is read through that one descriptor.
 */
import * as path from 'node:path';
import { badInput, BadInputError } from '../errors';
import { formatBytes, MAX_CHUNK_BYTES, MAX_RECORD_BYTES } from './limits';
import { readAt, withDataset, type DatasetFile } from './open-dataset';
import { noNarrative, type DropReason, type TicketRecord } from './ticket-record';
import { readCsv } from './formats/cfpb-csv';
import type { DatasetFormat, ReadTicketsOptions, TicketRange } from './formats/format';
import { readJsonArray } from './formats/json-array';
import { readJsonLines } from './formats/json-lines';

export type { TicketRecord } from './ticket-record';
export type { DatasetFormat, ReadTicketsOptions, TicketRange } from './formats/format';
export { noNarrative } from './ticket-record';

export interface ReadStats {
  file: string;
  format: DatasetFormat;
  /** Records read (blank JSON Lines / CSV lines are not records). */
  read: number;
  /** Records passed to onRecord. */
  kept: number;
  /** Reason → count of records read but not kept, e.g. emptyNarrative. */
  dropped: Record<string, number>;
}

const DEFAULTS: Required<ReadTicketsOptions> = { format: 'auto', highWaterMark: 1 << 20, range: null };
const FORMATS: ReadonlySet<string> = new Set(['auto', 'json', 'jsonl', 'csv']);

type OnRecord = (rec: TicketRecord) => void | Promise<void>;

export async function readTickets(
  source: string | DatasetFile,
  onRecord: OnRecord,
  opts: ReadTicketsOptions = {},
): Promise<ReadStats> {
  const options: Required<ReadTicketsOptions> = {
    format: opts.format ?? DEFAULTS.format,
    highWaterMark: opts.highWaterMark ?? DEFAULTS.highWaterMark,
    range: opts.range ?? DEFAULTS.range,
  };
  if (!FORMATS.has(options.format)) throw new Error(`readTickets: unknown format ${String(options.format)}`);
  return withDataset(source, async (ds) => {
    const file = ds.path;
    if (options.range !== null) checkRange(options.range, file, ds.size);
    // The whole file's start is checked (UTF-16, format) only when reading it from its start.
    let format: DatasetFormat;
    if (options.format === 'auto') format = await sniffFormat(ds);
    else {
      if (options.range === null) await sniff(ds);
      format = options.format;
    }
    const objectHint = options.format === 'auto' && looksLikeJsonObjectFile(file, format);
    const stats: ReadStats = { file, format, read: 0, kept: 0, dropped: { emptyNarrative: 0 } };
    const sink = new Sink(stats, onRecord);
    try {
      if (format === 'json') await readJsonArray(ds, options, sink);
      else if (format === 'jsonl') await readJsonLines(ds, options, sink, objectHint);
      else await readCsv(ds, options, sink);
    } catch (err) {
      // onRecord's own errors pass through unchanged, even I/O ones (a failed write downstream is not bad input)
      if (err instanceof BadInputError || sink.threw(err)) throw err;
      if (isIoError(err)) throw badInput({ file }, `cannot read the file (${err.code})`, err);
      throw err;
    }
    // A slice may well hold only empty narratives; the whole file may not (planChunks' caller checks the sum).
    if (stats.kept === 0 && options.range === null) throw noNarrative(file, stats.read);
    return stats;
  });
}

/** A chunk's range comes from job data: check it before reading a byte or allocating a buffer. */
function checkRange(r: TicketRange, file: string, size: number): void {
  const int = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const valid =
    int(r.start) &&
    int(r.end) &&
    int(r.firstRecord) &&
    r.end > r.start &&
    (r.headerEnd === undefined || (int(r.headerEnd) && r.headerEnd <= r.start));
  if (!valid) throw badInput({ file }, 'the chunk job holds no valid byte range of the file');
  if (r.end - r.start > MAX_CHUNK_BYTES) {
    throw badInput(
      { file, record: r.firstRecord },
      `the chunk from byte ${r.start} to ${r.end} is larger than the ${formatBytes(MAX_CHUNK_BYTES)} a chunk ` +
        'may read (MAX_CHUNK_BYTES)',
    );
  }
  if ((r.headerEnd ?? 0) > MAX_RECORD_BYTES) {
    throw badInput(
      { file },
      `the CSV header row (bytes 0 to ${r.headerEnd}) is larger than the ${formatBytes(MAX_RECORD_BYTES)} a record may take (MAX_RECORD_BYTES)`,
    );
  }
  if (r.end > size) {
    throw badInput(
      { file, record: r.firstRecord },
      `the chunk ends at byte ${r.end}, past the end of the file (${size} bytes): the file changed after its chunks were planned`,
    );
  }
}

/** Counts records and forwards kept ones, awaiting onRecord only when it returns a promise. */
class Sink {
  /** Errors thrown by onRecord, so readTickets never mistakes them for read errors. */
  private readonly callbackErrors = new WeakSet<object>();

  constructor(
    private readonly stats: ReadStats,
    private readonly onRecord: OnRecord,
  ) {}

  /** Returns a promise only when onRecord did (so the synchronous path stays allocation-free). */
  accept(rec: TicketRecord | DropReason): void | Promise<void> {
    this.stats.read++;
    if (typeof rec === 'string') {
      this.stats.dropped[rec] = (this.stats.dropped[rec] ?? 0) + 1;
      return;
    }
    this.stats.kept++;
    let r: void | Promise<void>;
    try {
      r = this.onRecord(rec);
    } catch (err) {
      this.mark(err);
      throw err;
    }
    if (r !== undefined && typeof (r as Promise<void>).then === 'function') {
      return (r as Promise<void>).then(undefined, (err: unknown) => {
        this.mark(err);
        throw err;
      });
    }
  }

  threw(err: unknown): boolean {
    return typeof err === 'object' && err !== null && this.callbackErrors.has(err);
  }

  private mark(err: unknown): void {
    if (typeof err === 'object' && err !== null) this.callbackErrors.add(err);
  }
}

/**
 * The start of the file: its first non-space byte after a UTF-8 byte order mark (undefined for a file of
 * white space only). A UTF-16 byte order mark is refused here, before anything reads it as UTF-8.
 */
export async function sniff(ds: DatasetFile): Promise<number | undefined> {
  const buf = Buffer.alloc(64 * 1024);
  let offset = 0;
  while (offset < MAX_RECORD_BYTES) {
    const bytesRead = await readAt(ds, buf, offset);
    if (bytesRead === 0) return undefined;
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
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
    }
    offset += bytesRead;
  }
  throw badInput(
    { file: ds.path },
    `the file starts with more than ${formatBytes(MAX_RECORD_BYTES)} of white space (MAX_RECORD_BYTES)`,
  );
}

/**
 * Format from the extension; for other extensions, from the first non-space byte ('[' json, '{' jsonl,
 * anything else csv). A .json file that starts with '{' is read as JSON Lines.
 */
export async function sniffFormat(ds: DatasetFile): Promise<DatasetFormat> {
  const first = await sniff(ds);
  const ext = path.extname(ds.path).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv') return 'csv';
  if (first === 0x7b) return 'jsonl';
  if (ext === '.json' || first === 0x5b) return 'json';
  return 'csv';
}

/** Format detection by path (opens the file): see sniffFormat. */
export function detectFormat(source: string | DatasetFile): Promise<DatasetFormat> {
  return withDataset(source, sniffFormat);
}

/** A .json file read as JSON Lines (it starts with '{'): it may well be one JSON object rather than lines. */
export function looksLikeJsonObjectFile(file: string, format: DatasetFormat): boolean {
  return format === 'jsonl' && path.extname(file).toLowerCase() === '.json';
}

function isIoError(err: unknown): err is NodeJS.ErrnoException {
  return (
    err instanceof Error &&
    typeof (err as NodeJS.ErrnoException).code === 'string' &&
    (err as NodeJS.ErrnoException).syscall !== undefined
  );
}
