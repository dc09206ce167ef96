/**
 * JSON Lines: one JSON object per line, each a hit `{_id, _source: {...}}` or a bare `_source` object
 * (recognised by its complaint_what_happened key); blank lines are skipped; a record's index is its 0-based
 * line number. Split on newline bytes (LineSplitter), one line parsed at a time.
 */
import * as path from 'node:path';
import { badInput } from '../../errors';
import { ScanError } from '../json-array-scanner';
import { describeJsonError } from '../json-error';
import { MAX_RECORD_BYTES } from '../limits';
import { LineSplitter, type Line } from '../line-splitter';
import { readPieces, type DatasetFile } from '../open-dataset';
import { isBlank, ticketFromJson } from '../ticket-record';
import type { Claim, DatasetFormatModule, FileHead, ReadContext } from './format';
import { parseJson, scanOrThrow } from './json-records';
import { planLines } from './plan-rows';

export const jsonLines: DatasetFormatModule = {
  description: "JSON Lines of hits: a .jsonl or .ndjson file, or one whose first byte is '{'",
  sniff,
  async plan(ds, pieces, limits) {
    if (objectHint(ds.path)) await checkJsonLinesStart(ds);
    return planLines(pieces, limits, 'lines');
  },
  read: readJsonLines,
};

/** Its extensions decide; else a leading '{' does, even in a .json file (which objectHint then checks). */
function sniff(head: FileHead): Claim | undefined {
  if (head.ext === '.jsonl' || head.ext === '.ndjson') return 'extension';
  return head.first === 0x7b ? 'signature' : undefined;
}

/** A .json file found to be JSON Lines (it starts with '{'): it may well be one JSON object rather than lines. */
function objectHint(file: string): boolean {
  return path.extname(file).toLowerCase() === '.json';
}

const OBJECT_HINT =
  " (this .json file starts with '{', so it is read as JSON Lines, one object per line; a single object such " +
  'as an Elasticsearch response {hits: {hits: [...]}} is not supported: extract its array of hits)';

/**
 * For a .json file read as JSON Lines: its first record (line `index`, parsed from `text` at byte `offset`)
 * must be a hit, else the file is taken for what it most likely is, one JSON object.
 */
function checkFirstJsonLine(file: string, index: number, offset: number, text: string): void {
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

async function readJsonLines(ds: DatasetFile, ctx: ReadContext): Promise<void> {
  const file = ds.path;
  const range = ctx.range;
  const splitter = new LineSplitter(
    MAX_RECORD_BYTES,
    range ? { offset: range.start, line: range.firstRecord } : {},
  );
  const stream = ctx.pieces();
  let checkFirst = ctx.sniffed && objectHint(file) && range === null;
  const handle = async (lines: readonly Line[]): Promise<void> => {
    for (const line of lines) {
      if (isBlank(line.text)) continue;
      const index = line.index;
      if (checkFirst) {
        checkFirstJsonLine(file, index, line.offset, line.text);
        checkFirst = false;
      }
      const r = ctx.sink.accept(ticketFromJson(parseJson(line.text, file, index, line.offset), file, index));
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
