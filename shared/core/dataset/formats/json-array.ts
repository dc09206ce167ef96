/**
 * The Kaggle file: a JSON array of Kaggle/Elasticsearch hits `{_id, _source: {complaint_what_happened,
 * product, sub_product, ...}}`, split element by element (JsonArrayScanner), never read as one string.
 */
import { JsonArrayScanner, type JsonElement } from '../json-array-scanner';
import { MAX_RECORD_BYTES } from '../limits';
import type { DatasetFile } from '../open-dataset';
import { ticketFromJson } from '../ticket-record';
import { Utf8Checker } from '../utf8';
import type {
  Claim,
  DatasetFormatModule,
  FileHead,
  Limits,
  PlannedRecords,
  ReadContext,
  TicketRange,
} from './format';
import { parseJson, scanOrThrow } from './json-records';
import { addRecord, checkTime, notUtf8 } from './planning';

export const jsonArray: DatasetFormatModule = {
  description: "a JSON array of hits: a .json file, or one whose first byte is '['",
  sniff,
  plan: (_ds, pieces, limits) => planJson(pieces, limits),
  read: readJsonArray,
};

/** '[' or .json points here; a .json file that starts with '{' is left to JSON Lines' surer claim. */
function sniff(head: FileHead): Claim | undefined {
  return head.first === 0x5b || head.ext === '.json' ? 'likely' : undefined;
}

async function readJsonArray(ds: DatasetFile, ctx: ReadContext): Promise<void> {
  const file = ds.path;
  // A range holds elements separated by commas: wrapped in brackets it scans as an array of its own,
  // starting at the range's first record, the added '[' one byte before the range.
  const range = ctx.range;
  const scanner = new JsonArrayScanner(
    true,
    MAX_RECORD_BYTES,
    range ? { offset: range.start - 1, record: range.firstRecord } : {},
  );
  const stream = ctx.pieces();
  /** one scanner step, its complete elements passed on in order (awaiting the sink only when it asks) */
  const scan = async (step: () => JsonElement[]): Promise<void> => {
    for (const el of scanOrThrow(step, file)) {
      const r = ctx.sink.accept(
        ticketFromJson(parseJson(el.text, file, el.index, el.offset), file, el.index),
      );
      if (r !== undefined) await r;
    }
  };
  try {
    if (range) scanner.push(Buffer.from('['));
    for await (const chunk of stream) await scan(() => scanner.push(chunk));
    if (range) await scan(() => scanner.push(Buffer.from(']')));
    // only a bare literal can complete at end of file, and end() then throws for the missing ']'
    await scan(() => scanner.end());
  } finally {
    await stream.return(undefined);
  }
}

async function planJson(stream: AsyncIterable<Buffer>, limits: Limits): Promise<PlannedRecords> {
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
  return { records, chunks };
}
