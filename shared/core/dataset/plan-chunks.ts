/**
 * Cut a dataset into chunks of `chunkSize` records by byte range, without parsing the records: the
 * format sniffed from the file (formats/index.ts; a file no format claims fails here) finds only their
 * boundaries (array elements by bracket/string state, lines by newline, CSV rows by newline outside
 * quotes). Chunk jobs then read, validate and process their own range in parallel, so the
 * serial part of text processing is one fast scan of the file.
 *
 * The scan is also the first line of defence against pathological input, as it runs in the stage's parent
 * job and a BadInputError there fails the run on its first attempt: every byte is checked to be UTF-8,
 * every record to fit MAX_RECORD_BYTES, the scan to end within PLAN_TIME_LIMIT_MS, and a chunk holds at
 * most `chunkSize` records and MAX_CHUNK_BYTES bytes. CSV quotes are checked too: a quoted field must be
 * closed, and its closing quote followed by a comma or a line end.
 */
import { badInput, BadInputError } from '../errors';
import { MAX_CHUNK_BYTES, MAX_CHUNKS, MAX_RECORD_BYTES, PLAN_TIME_LIMIT_MS } from './limits';
import { readPieces, withDataset, type DatasetFile } from './open-dataset';
import { noNarrative } from './ticket-record';
import type { Limits, TicketRange } from './formats/format';
import { DATASET_FORMATS, sniffFormat, type DatasetFormat } from './formats/index';

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
  /** default MAX_CHUNKS: each chunk holds at least 1/maxChunks of the file's bytes */
  maxChunks?: number;
  /** sees every piece of the file, in order, from its first byte to its end (as the scan reads them) */
  onPiece?: (piece: Buffer) => void;
  /**
   * sees each chunk, in order, as soon as its range is final, while the scan goes on (the last one once
   * the scan has ended without error); a throw stops the scan. Bytes after a chunk are not checked yet:
   * the plan may still fail on them.
   */
  onChunk?: (chunk: FoundChunk) => void;
}

/** A chunk the scan has found (PlanOptions.onChunk). */
export interface FoundChunk {
  range: TicketRange;
  index: number;
  format: DatasetFormat;
}

export async function planChunks(
  source: string | DatasetFile,
  chunkSize: number,
  opts: PlanOptions = {},
): Promise<ChunkPlan> {
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new RangeError(`chunkSize must be a whole number ≥ 1, got ${chunkSize}`);
  const maxChunks = opts.maxChunks ?? MAX_CHUNKS;
  if (!Number.isInteger(maxChunks) || maxChunks < 1)
    throw new RangeError(`maxChunks must be a whole number ≥ 1, got ${maxChunks}`);
  return withDataset(source, async (ds) => {
    const file = ds.path;
    const format = await sniffFormat(ds);
    const timeLimitMs = opts.timeLimitMs ?? PLAN_TIME_LIMIT_MS;
    const { onChunk } = opts;
    const limits: Limits = {
      file,
      size: ds.size,
      chunkSize,
      minChunkBytes: Math.ceil(ds.size / maxChunks),
      maxRecordBytes: opts.maxRecordBytes ?? MAX_RECORD_BYTES,
      maxChunkBytes: opts.maxChunkBytes ?? MAX_CHUNK_BYTES,
      timeLimitMs,
      deadline: performance.now() + timeLimitMs,
      ...(onChunk
        ? { onChunk: (range: TicketRange, index: number) => onChunk({ range, index, format }) }
        : {}),
    };
    const stream = tap(readPieces(ds, { highWaterMark: opts.highWaterMark ?? 1 << 20 }), opts.onPiece);
    try {
      const { records, chunks } = await DATASET_FORMATS[format].plan(ds, stream, limits);
      if (records === 0) throw noNarrative(file, 0);
      if (chunks.length > 0)
        onChunk?.({ range: chunks[chunks.length - 1]!, index: chunks.length - 1, format });
      return { file, format, records, chunks };
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
