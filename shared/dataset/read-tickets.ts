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
 * where it applies, the record index and field.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { badInput, BadInputError } from '../errors';
import { CsvParser } from '../io/csv';
import { JsonArrayScanner, JsonScanError, type JsonElement } from './json-array-scanner';
import { LineSplitter, type Line } from './line-splitter';
import { isBlank, ticketFromJson, type DropReason, type TicketRecord } from './ticket-record';

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
  file: string,
  onRecord: OnRecord,
  opts: ReadTicketsOptions = {},
): Promise<ReadStats> {
  const options: Required<ReadTicketsOptions> = {
    format: opts.format ?? DEFAULTS.format,
    highWaterMark: opts.highWaterMark ?? DEFAULTS.highWaterMark,
    range: opts.range ?? DEFAULTS.range,
  };
  if (!FORMATS.has(options.format)) throw new Error(`readTickets: unknown format ${String(options.format)}`);
  await checkReadable(file);
  const format = options.format === 'auto' ? await detectFormat(file) : options.format;
  // A .json file read as JSON Lines because it starts with '{' may be one (pretty-printed) object.
  const jsonlHint =
    options.format === 'auto' && path.extname(file).toLowerCase() === '.json'
      ? " (this .json file starts with '{', so it is read as JSON Lines, one object per line; a single object " +
        'such as an Elasticsearch response {hits: {hits: [...]}} is not supported: extract its array of hits)'
      : '';
  const stats: ReadStats = { file, format, read: 0, kept: 0, dropped: { emptyNarrative: 0 } };
  const sink = new Sink(stats, onRecord);
  try {
    if (format === 'json') await readJsonArray(file, options, sink);
    else if (format === 'jsonl') await readJsonLines(file, options, sink, jsonlHint);
    else await readCsv(file, options, sink);
  } catch (err) {
    // onRecord's own errors pass through unchanged, even I/O ones (a failed write downstream is not bad input)
    if (err instanceof BadInputError || sink.threw(err)) throw err;
    if (isIoError(err)) throw badInput({ file }, `cannot read the file: ${err.message}`, err);
    throw err;
  }
  // A slice may well hold only empty narratives; the whole file may not (planChunks' caller checks the sum).
  if (stats.kept === 0 && options.range === null) throw noNarrative(file, stats.read);
  return stats;
}

export function noNarrative(file: string, read: number): BadInputError {
  return badInput({ file }, `no record with a non-empty narrative (${read} records read)`);
}

/** The byte stream of the whole file or of its range (fs ranges are inclusive at the end). */
function openStream(
  file: string,
  options: Required<ReadTicketsOptions>,
  encoding?: BufferEncoding,
): fs.ReadStream {
  const r = options.range;
  return fs.createReadStream(file, {
    highWaterMark: options.highWaterMark,
    ...(encoding ? { encoding } : {}),
    ...(r ? { start: r.start, end: r.end - 1 } : {}),
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

export async function checkReadable(file: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw badInput(
      { file },
      code === 'ENOENT' ? 'no such file' : `cannot read the file: ${(err as Error).message}`,
      err,
    );
  }
  if (st.isDirectory()) throw badInput({ file }, 'is a directory, expected a dataset file');
}

/**
 * Format from the extension; for other extensions, from the first non-space byte ('[' json, '{' jsonl,
 * anything else csv). A .json file that starts with '{' is read as JSON Lines.
 */
export async function detectFormat(file: string): Promise<DatasetFormat> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv') return 'csv';
  const first = await firstNonSpaceByte(file);
  if (first === 0x7b) return 'jsonl';
  if (ext === '.json' || first === 0x5b) return 'json';
  return 'csv';
}

async function firstNonSpaceByte(file: string): Promise<number | undefined> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    let offset = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      if (bytesRead === 0) return undefined;
      let i = offset === 0 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
      for (; i < bytesRead; i++) {
        const c = buf[i]!;
        if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
      }
      offset += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

async function readJsonArray(file: string, options: Required<ReadTicketsOptions>, sink: Sink): Promise<void> {
  const scanner = new JsonArrayScanner();
  const stream = openStream(file, options);
  // A range holds elements separated by commas: wrapped in brackets it scans as an array of its own,
  // whose indices and offsets shift by the range's first record and start (minus the added '[').
  const range = options.range;
  const first = range ? range.firstRecord : 0;
  const shift = range ? range.start - 1 : 0;
  const accept = (el: JsonElement): void | Promise<void> =>
    sink.accept(
      ticketFromJson(parseJson(el.text, file, el.index + first, el.offset + shift), file, el.index + first),
    );
  try {
    if (range) scanner.push(Buffer.from('['));
    for await (const chunk of stream) {
      for (const el of scanOrThrow(() => scanner.push(chunk as Buffer), file)) {
        const r = accept(el);
        if (r !== undefined) await r;
      }
    }
    if (range) {
      for (const el of scanOrThrow(() => scanner.push(Buffer.from(']')), file)) {
        const r = accept(el);
        if (r !== undefined) await r;
      }
    }
    for (const el of scanOrThrow(() => scanner.end(), file)) {
      // only a bare literal can complete at end of file, and end() then throws for the missing ']'
      const r = accept(el);
      if (r !== undefined) await r;
    }
  } finally {
    stream.destroy();
  }
}

export function scanOrThrow<T>(scan: () => T, file: string): T {
  try {
    return scan();
  } catch (err) {
    if (err instanceof JsonScanError) {
      throw badInput({ file, record: err.record }, `${err.message} (byte ${err.offset})`, err);
    }
    throw err;
  }
}

function parseJson(text: string, file: string, record: number, offset: number, hint = ''): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badInput(
      { file, record },
      `not JSON (record starts at byte ${offset}): ${(err as Error).message}${hint}`,
      err,
    );
  }
}

async function readJsonLines(
  file: string,
  options: Required<ReadTicketsOptions>,
  sink: Sink,
  hint: string,
): Promise<void> {
  const splitter = new LineSplitter();
  const stream = openStream(file, options);
  const first = options.range ? options.range.firstRecord : 0;
  const shift = options.range ? options.range.start : 0;
  const handle = async (lines: readonly Line[]): Promise<void> => {
    for (const line of lines) {
      if (isBlank(line.text)) continue;
      const index = line.index + first;
      const r = sink.accept(
        ticketFromJson(parseJson(line.text, file, index, line.offset + shift, hint), file, index),
      );
      if (r !== undefined) await r;
    }
  };
  try {
    for await (const chunk of stream) await handle(splitter.push(chunk as Buffer));
    await handle(splitter.end());
  } finally {
    stream.destroy();
  }
}

async function readCsv(file: string, options: Required<ReadTicketsOptions>, sink: Sink): Promise<void> {
  let rows: string[][] = [];
  const parser = new CsvParser((row) => rows.push(row));
  const range = options.range;
  // A range starts after the header: read the header row on its own first.
  let columns: CsvColumns | undefined = range
    ? csvColumns(await readCsvHeader(file, range.headerEnd ?? 0), file)
    : undefined;
  const stream = openStream(file, options, 'utf8');
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
  try {
    let first = true;
    for await (const piece of stream) {
      let text = piece as string;
      if (first && text.length > 0) {
        if (text.charCodeAt(0) === 0xfeff && !range) text = text.slice(1); // byte order mark
        first = false;
      }
      parser.write(text);
      await handleRows();
    }
    try {
      parser.end();
    } catch (err) {
      throw badInput(
        { file, record: rowIndex + rows.length },
        'truncated: the file ends inside a quoted field',
        err,
      );
    }
    await handleRows();
  } finally {
    stream.destroy();
  }
  if (columns === undefined) throw badInput({ file }, 'the file is empty (expected a CSV header row)');
}

async function readCsvHeader(file: string, headerEnd: number): Promise<string[]> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(headerEnd);
    await fh.read(buf, 0, headerEnd, 0);
    let header: string[] = [];
    const parser = new CsvParser((row) => (header = header.length === 0 ? row : header));
    parser.write(buf.toString('utf8').replace(/^\uFEFF/, ''));
    parser.end();
    return header;
  } finally {
    await fh.close();
  }
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
