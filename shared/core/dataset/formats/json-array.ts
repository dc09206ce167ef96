/** The Kaggle file: a JSON array of hits, split element by element (JsonArrayScanner), never read as one string. */
import { JsonArrayScanner, type JsonElement } from '../json-array-scanner';
import { MAX_RECORD_BYTES } from '../limits';
import type { DatasetFile } from '../open-dataset';
import { noNarrative, ticketFromJson } from '../ticket-record';
import { Utf8Checker } from '../utf8';
import {
  openStream,
  type ChunkPlan,
  type ReadTicketsOptions,
  type RecordSink,
  type TicketRange,
} from './format';
import { parseJson, scanOrThrow } from './json-records';
import { addRecord, checkTime, notUtf8, type Limits } from './planning';

export async function readJsonArray(
  ds: DatasetFile,
  options: Required<ReadTicketsOptions>,
  sink: RecordSink,
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

export async function planJson(stream: AsyncIterable<Buffer>, limits: Limits): Promise<ChunkPlan> {
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
