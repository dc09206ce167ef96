/**
 * What a dataset format provides (DatasetFormatModule), and what the reader and planner hand it. Formats
 * are registered in formats/index.ts; readTickets and planChunks reach them only through that table.
 */
import type { DatasetFile } from '../open-dataset';
import type { DropReason, TicketRecord } from '../ticket-record';

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

/** Where a reader puts each record or drop reason: a promise when the record's consumer returned one. */
export interface RecordSink {
  accept(rec: TicketRecord | DropReason): void | Promise<void>;
}

/** The start of a file, as sniffing sees it (head.ts). */
export interface FileHead {
  /** the file name's extension, lower case with its dot: '.json'; '' for none */
  ext: string;
  /** the first byte that is not white space, after a UTF-8 byte order mark; undefined for an empty file */
  first: number | undefined;
  /** up to HEAD_BYTES bytes of the file from that first byte on */
  bytes: Buffer;
}

/**
 * How sure a format is that a file is its own. Sniffing takes the surest claim, and on a tie the format
 * listed first in the table. The order keeps an extension that names one format (.jsonl, .csv) decisive,
 * lets JSON Lines' leading '{' win over a .json extension, and lets a look at the content decide only
 * where neither name nor first byte does.
 */
export const CLAIM = {
  /** a guess from the content alone (a CSV header row naming the narrative column) */
  content: 1,
  /** the extension or first byte points to the format but leaves room for another (.json, '[') */
  likely: 2,
  /** the first byte is this format's own ('{' for JSON Lines) */
  signature: 3,
  /** the extension is this format's own (.jsonl, .ndjson, .csv) */
  extension: 4,
} as const;
export type Claim = keyof typeof CLAIM;

/** What a format's reader is given: where its records go and which bytes to read. */
export interface ReadContext {
  /** the chunk's byte range, or null for the whole file */
  range: TicketRange | null;
  /** the range's bytes (the whole file's without one), in pieces read from the open descriptor */
  pieces(): AsyncGenerator<Buffer>;
  sink: RecordSink;
  /** the format was found by sniffing, not named by the caller (a reader may then check its guess) */
  sniffed: boolean;
}

/** A planner's budgets for one file (plan-chunks.ts fills them from limits.ts or its options). */
export interface Limits {
  file: string;
  size: number;
  chunkSize: number;
  /** bytes a chunk holds at least before `chunkSize` records close it (the file's size / MAX_CHUNKS) */
  minChunkBytes: number;
  maxRecordBytes: number;
  maxChunkBytes: number;
  timeLimitMs: number;
  /** performance.now() by which the scan must end */
  deadline: number;
  /** sees each chunk once no record will join it: when the next one opens (planChunks hands over the last) */
  onChunk?: (range: TicketRange, index: number) => void;
}

/** What a format's planner returns: the chunks of whole records and how many records it found. */
export interface PlannedRecords {
  /** records found (JSON elements, lines, CSV rows after the header; blank lines included) */
  records: number;
  chunks: TicketRange[];
}

/** One dataset format: how it is recognised, cut into chunks at record boundaries and read. */
export interface DatasetFormatModule {
  /** what the format is and how a file is recognised as it, for the message naming the known formats */
  readonly description: string;
  /** this format's claim on a file, from its start and name; undefined when it is not this format */
  sniff(head: FileHead): Claim | undefined;
  /**
   * Record boundaries of the whole file from `pieces` (every piece from byte 0 on), checking each byte is
   * UTF-8, each record fits `limits.maxRecordBytes` and the scan keeps to its time limit (planning.ts).
   * Throws BadInputError naming the file (and record and byte where it applies).
   */
  plan(ds: DatasetFile, pieces: AsyncIterable<Buffer>, limits: Limits): Promise<PlannedRecords>;
  /**
   * Every record of `ctx.range` (or of the file) into `ctx.sink`, in file order, validated into a
   * TicketRecord or a drop reason; anything else wrong throws BadInputError naming file, record and field.
   */
  read(ds: DatasetFile, ctx: ReadContext): Promise<void>;
}
