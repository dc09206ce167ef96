/** What the readers of every dataset format share: the byte range a chunk reads, and the sink of records. */
import { readPieces, type DatasetFile } from '../open-dataset';
import type { DropReason, TicketRecord } from '../ticket-record';

export type DatasetFormat = 'json' | 'jsonl' | 'csv';

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

/** Where a reader puts each record or drop reason: a promise when the record's consumer returned one. */
export interface RecordSink {
  accept(rec: TicketRecord | DropReason): void | Promise<void>;
}

/** The whole file or its range, in pieces read from the open descriptor. */
export function openStream(ds: DatasetFile, options: Required<ReadTicketsOptions>): AsyncGenerator<Buffer> {
  const r = options.range;
  return readPieces(ds, {
    highWaterMark: options.highWaterMark,
    start: r ? r.start : 0,
    ...(r ? { end: r.end } : {}),
  });
}

export interface ChunkPlan {
  file: string;
  format: DatasetFormat;
  /** records found (JSON elements, lines, CSV rows after the header; blank lines included) */
  records: number;
  chunks: TicketRange[];
}
