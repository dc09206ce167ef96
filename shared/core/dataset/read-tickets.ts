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
import { CsvParser } from '../io/csv';
import { JsonArrayScanner, ScanError, UTF8_ADVICE, type JsonElement } from './json-array-scanner';
import { describeJsonError } from './json-error';
import { formatBytes, MAX_CHUNK_BYTES, MAX_RECORD_BYTES } from './limits';
import { LineSplitter, type Line } from './line-splitter';
import { readAt, readPieces, withDataset, type DatasetFile } from './open-dataset';
import { isBlank, ticketFromJson, type DropReason, type TicketRecord } from './ticket-record';
import { firstInvalidUtf8, isUtf8, Utf8Checker } from './utf8';

export type { TicketRecord } from './ticket-record';

export type DatasetFormat = 'json' | 'jsonl' | 'csv';

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

/**
 * A slice of a dataset holding whole records, as planned by planChunks: bytes [start, end) of the file,
 * whose first record has index `firstRecord`. For CSV, `headerEnd` is where the header row ends.
 */
export interface TicketRange {
  start: number;
  end: number;
  firstRecord: number;
  headerEnd?: number;
}

export interface ReadTicketsOptions {
  /** Default 'auto': by extension (.json, .jsonl/.ndjson, .csv), else by the first non-space byte. */
  format?: 'auto' | DatasetFormat;
  /** Stream chunk size in bytes. Default 1 MiB (tests use tiny chunks to cut multi-byte characters). */
  highWaterMark?: number;
  /** Read only this slice of the file (a chunk job's share). Default: the whole file. */
  range?: TicketRange | null;
}

const DEFAULTS: Required<ReadTicketsOptions> = { format: 'auto', highWaterMark: 1 << 20, range: null };
const FORMATS: ReadonlySet<string> = new Set(['auto', 'json', 'jsonl', 'csv']);

type OnRecord = (rec: TicketRecord) => void | Promise<void>;

/** CSV columns of the CFPB export. */
export const CSV_COLUMNS = {
  narrative: 'Consumer complaint narrative',
  product: 'Product',
  subProduct: 'Sub-product',
  id: 'Complaint ID',
} as const;

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

export function noNarrative(file: string, read: number): BadInputError {
  return badInput({ file }, `no record with a non-empty narrative (${read} records read)`);
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

/** The whole file or its range, in pieces read from the open descriptor. */
function openStream(ds: DatasetFile, options: Required<ReadTicketsOptions>): AsyncGenerator<Buffer> {
  const r = options.range;
  return readPieces(ds, {
    highWaterMark: options.highWaterMark,
    start: r ? r.start : 0,
    ...(r ? { end: r.end } : {}),
  });
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

const OBJECT_HINT =
  " (this .json file starts with '{', so it is read as JSON Lines, one object per line; a single object such " +
  'as an Elasticsearch response {hits: {hits: [...]}} is not supported: extract its array of hits)';

/**
 * For a .json file read as JSON Lines: its first record (line `index`, parsed from `text` at byte `offset`)
 * must be a hit, else the file is taken for what it most likely is, one JSON object.
 */
export function checkFirstJsonLine(file: string, index: number, offset: number, text: string): void {
  const notArray = 'the file holds a JSON object, not an array of hits';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const { reason, byte } = describeJsonError(err, text);
    throw badInput(
      { file, record: index },
      `${notArray}: its first line is not JSON on its own (not JSON at byte ${offset + byte}: ${reason})${OBJECT_HINT}`,
    );
  }
  if (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !('_source' in value) &&
    !('complaint_what_happened' in value)
  ) {
    throw badInput(
      { file, record: index },
      `${notArray}: its first line is an object that is not a hit (no _source, no complaint_what_happened)${OBJECT_HINT}`,
    );
  }
}

async function readJsonArray(
  ds: DatasetFile,
  options: Required<ReadTicketsOptions>,
  sink: Sink,
): Promise<void> {
  const file = ds.path;
  // A range holds elements separated by commas: wrapped in brackets it scans as an array of its own,
  // starting at the range's first record, the added '[' one byte before the range.
  const range = options.range;
  const scanner = new JsonArrayScanner(
    true,
    MAX_RECORD_BYTES,
    range ? { offset: range.start - 1, record: range.firstRecord } : {},
  );
  const stream = openStream(ds, options);
  const scan = (fn: () => JsonElement[]) => scanOrThrow(fn, file);
  const accept = (el: JsonElement): void | Promise<void> =>
    sink.accept(ticketFromJson(parseJson(el.text, file, el.index, el.offset), file, el.index));
  try {
    if (range) scanner.push(Buffer.from('['));
    for await (const chunk of stream) {
      for (const el of scan(() => scanner.push(chunk))) {
        const r = accept(el);
        if (r !== undefined) await r;
      }
    }
    if (range) {
      for (const el of scan(() => scanner.push(Buffer.from(']')))) {
        const r = accept(el);
        if (r !== undefined) await r;
      }
    }
    for (const el of scan(() => scanner.end())) {
      // only a bare literal can complete at end of file, and end() then throws for the missing ']'
      const r = accept(el);
      if (r !== undefined) await r;
    }
  } finally {
    await stream.return(undefined);
  }
}

/** Runs a scanner step; its ScanError becomes BadInputError naming the file, record and byte offset. */
export function scanOrThrow<T>(scan: () => T, file: string): T {
  try {
    return scan();
  } catch (err) {
    if (err instanceof ScanError) {
      const where = `byte ${err.offset}`;
      const message = err.message.includes(where) ? err.message : `${err.message} (${where})`;
      throw badInput({ file, record: err.record }, message, err);
    }
    throw err;
  }
}

function parseJson(text: string, file: string, record: number, offset: number): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8's message may quote the text: say what and where instead (and keep it out of `cause`)
    const { reason, byte } = describeJsonError(err, text);
    throw badInput(
      { file, record },
      `not JSON at byte ${offset + byte} (the record starts at byte ${offset}): ${reason}`,
    );
  }
}

async function readJsonLines(
  ds: DatasetFile,
  options: Required<ReadTicketsOptions>,
  sink: Sink,
  objectHint: boolean,
): Promise<void> {
  const file = ds.path;
  const range = options.range;
  const splitter = new LineSplitter(
    MAX_RECORD_BYTES,
    range ? { offset: range.start, line: range.firstRecord } : {},
  );
  const stream = openStream(ds, options);
  let checkFirst = objectHint && options.range === null;
  const handle = async (lines: readonly Line[]): Promise<void> => {
    for (const line of lines) {
      if (isBlank(line.text)) continue;
      const index = line.index;
      if (checkFirst) {
        checkFirstJsonLine(file, index, line.offset, line.text);
        checkFirst = false;
      }
      const r = sink.accept(ticketFromJson(parseJson(line.text, file, index, line.offset), file, index));
      if (r !== undefined) await r;
    }
  };
  try {
    for await (const chunk of stream) await handle(scanOrThrow(() => splitter.push(chunk), file));
    await handle(scanOrThrow(() => splitter.end(), file));
  } finally {
    await stream.return(undefined);
  }
}

async function readCsv(ds: DatasetFile, options: Required<ReadTicketsOptions>, sink: Sink): Promise<void> {
  const file = ds.path;
  let rows: string[][] = [];
  const parser = new CsvParser((row) => rows.push(row));
  const range = options.range;
  // A range starts after the header: read the header row on its own first.
  let columns: CsvColumns | undefined = range
    ? csvColumns(await readCsvHeader(ds, range.headerEnd ?? 0), file)
    : undefined;
  const stream = openStream(ds, options);
  let rowIndex = range ? range.firstRecord : 0;
  const handleRows = async (): Promise<void> => {
    const batch = rows;
    rows = [];
    for (const row of batch) {
      if (columns === undefined) {
        columns = csvColumns(row, file);
        continue;
      }
      const index = rowIndex++;
      if (row.length === 1 && row[0] === '') continue; // blank line
      const r = sink.accept(ticketFromCsv(row, columns, file, index));
      if (r !== undefined) await r;
    }
  };
  /** the row in progress, for messages */
  const where = () => (columns === undefined ? { file } : { file, record: rowIndex });
  const utf8 = new Utf8Checker();
  let offset = range ? range.start : 0;
  /** bytes fed since a row last completed (an upper bound on the row in progress) */
  let sinceRow = 0;
  try {
    let first = range === null;
    for await (const piece of stream) {
      const buf = piece;
      const { bytes, offset: at, invalidAt } = utf8.push(buf, offset);
      offset += buf.length;
      let text = (invalidAt < 0 ? bytes : bytes.subarray(0, invalidAt - at)).toString('utf8');
      if (first && text.length > 0) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // byte order mark
        first = false;
      }
      parser.write(text);
      sinceRow = rows.length > 0 ? 0 : sinceRow + buf.length;
      await handleRows();
      if (invalidAt >= 0) throw badInput(where(), `not valid UTF-8 at byte ${invalidAt}${UTF8_ADVICE}`);
      if (sinceRow > MAX_RECORD_BYTES) {
        throw badInput(
          where(),
          `the row in progress at byte ${offset} is longer than the ${formatBytes(MAX_RECORD_BYTES)} a record may ` +
            'take (MAX_RECORD_BYTES): a quoted field in it may never be closed',
        );
      }
    }
    const cut = utf8.end(offset);
    if (cut >= 0)
      throw badInput(
        where(),
        `not valid UTF-8 at byte ${cut} (the file ends inside a character)${UTF8_ADVICE}`,
      );
    try {
      parser.end();
    } catch (err) {
      throw badInput(
        { file, record: rowIndex + rows.length },
        'truncated: the file ends inside a quoted field (an opening quote in this record is never closed)',
        err,
      );
    }
    await handleRows();
  } finally {
    await stream.return(undefined);
  }
  if (columns === undefined) throw badInput({ file }, 'the file is empty (expected a CSV header row)');
}

async function readCsvHeader(ds: DatasetFile, headerEnd: number): Promise<string[]> {
  const buf = Buffer.alloc(headerEnd);
  const bytesRead = headerEnd > 0 ? await readAt(ds, buf, 0) : 0;
  const bytes = buf.subarray(0, bytesRead);
  if (!isUtf8(bytes)) {
    throw badInput(
      { file: ds.path },
      `the CSV header row is not valid UTF-8 at byte ${Math.max(0, firstInvalidUtf8(bytes))}${UTF8_ADVICE}`,
    );
  }
  let header: string[] = [];
  const parser = new CsvParser((row) => (header = header.length === 0 ? row : header));
  parser.write(bytes.toString('utf8').replace(/^\uFEFF/, ''));
  parser.end();
  return header;
}

interface CsvColumns {
  count: number;
  narrative: number;
  product: number;
  subProduct: number;
  id: number;
}

function csvColumns(header: readonly string[], file: string): CsvColumns {
  const at = (name: string): number => header.findIndex((h) => h.trim() === name);
  const cols: CsvColumns = {
    count: header.length,
    narrative: at(CSV_COLUMNS.narrative),
    product: at(CSV_COLUMNS.product),
    subProduct: at(CSV_COLUMNS.subProduct),
    id: at(CSV_COLUMNS.id),
  };
  const missing = [CSV_COLUMNS.narrative, CSV_COLUMNS.product, CSV_COLUMNS.subProduct].filter(
    (name) => at(name) < 0,
  );
  if (missing.length > 0) {
    throw badInput(
      { file },
      `CSV header lacks required column(s) ${missing.map((m) => `"${m}"`).join(', ')}`,
    );
  }
  return cols;
}

function ticketFromCsv(
  row: readonly string[],
  cols: CsvColumns,
  file: string,
  index: number,
): TicketRecord | DropReason {
  if (row.length !== cols.count) {
    throw badInput({ file, record: index }, `CSV row has ${row.length} fields, the header has ${cols.count}`);
  }
  const narrative = row[cols.narrative]!;
  if (isBlank(narrative)) return 'emptyNarrative';
  const product = row[cols.product]!;
  if (isBlank(product)) {
    throw badInput(
      { file, record: index, field: CSV_COLUMNS.product },
      'is empty (required when the narrative is not empty)',
    );
  }
  const sub = row[cols.subProduct]!;
  const id = cols.id >= 0 ? row[cols.id]! : '';
  return {
    index,
    id: isBlank(id) ? null : id.trim(),
    narrative,
    product: product.trim(),
    subProduct: isBlank(sub) ? null : sub.trim(),
  };
}

function isIoError(err: unknown): err is NodeJS.ErrnoException {
  return (
    err instanceof Error &&
    typeof (err as NodeJS.ErrnoException).code === 'string' &&
    (err as NodeJS.ErrnoException).syscall !== undefined
  );
}
