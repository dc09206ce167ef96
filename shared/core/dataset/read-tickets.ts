/**
 * Streams a ticket dataset and calls back once per ticket with a non-empty narrative, in file order.
 *
 * The format is sniffed from the file's name and first bytes (formats/index.ts walks its table of formats;
 * a file no format claims is a BadInputError naming the known ones) or named by the caller; the format's
 * module (formats/) then reads the records: json (the Kaggle file), jsonl, csv (the CFPB export).
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
import { badInput, BadInputError } from '../errors';
import { formatBytes, MAX_CHUNK_BYTES, MAX_RECORD_BYTES } from './limits';
import { readPieces, withDataset, type DatasetFile } from './open-dataset';
import { noNarrative, type DropReason, type TicketRecord } from './ticket-record';
import type { RecordSink, TicketRange } from './formats/format';
import { readHead } from './formats/head';
import { DATASET_FORMATS, isDatasetFormat, sniffFormat, type DatasetFormat } from './formats/index';

export type { TicketRecord } from './ticket-record';
export type { TicketRange } from './formats/format';
export type { DatasetFormat } from './formats/index';
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

export interface ReadTicketsOptions {
  /** Default 'auto': sniffed from the file's name and first bytes (formats/index.ts). */
  format?: 'auto' | DatasetFormat;
  /** Stream chunk size in bytes. Default 1 MiB (tests use tiny chunks to cut multi-byte characters). */
  highWaterMark?: number;
  /** Read only this slice of the file (a chunk job's share). Default: the whole file. */
  range?: TicketRange | null;
}

const DEFAULTS: Required<ReadTicketsOptions> = { format: 'auto', highWaterMark: 1 << 20, range: null };

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
  if (options.format !== 'auto' && !isDatasetFormat(options.format))
    throw new Error(`readTickets: unknown format ${String(options.format)}`);
  return withDataset(source, async (ds) => {
    const file = ds.path;
    if (options.range !== null) checkRange(options.range, file, ds.size);
    // The whole file's start is checked (UTF-16, format) only when reading it from its start.
    let format: DatasetFormat;
    if (options.format === 'auto') format = await sniffFormat(ds);
    else {
      if (options.range === null) await readHead(ds);
      format = options.format;
    }
    const stats: ReadStats = { file, format, read: 0, kept: 0, dropped: { emptyNarrative: 0 } };
    const sink = new Sink(stats, onRecord);
    try {
      await DATASET_FORMATS[format].read(ds, {
        range: options.range,
        pieces: () => openStream(ds, options),
        sink,
        sniffed: options.format === 'auto',
      });
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
class Sink implements RecordSink {
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

function isIoError(err: unknown): err is NodeJS.ErrnoException {
  return (
    err instanceof Error &&
    typeof (err as NodeJS.ErrnoException).code === 'string' &&
    (err as NodeJS.ErrnoException).syscall !== undefined
  );
}
