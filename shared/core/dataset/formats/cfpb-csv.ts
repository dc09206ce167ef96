/**
 * The CFPB's CSV export: a header row, then one complaint a row, with columns `Consumer complaint
 * narrative`, `Product`, `Sub-product` (required) and `Complaint ID` (optional, the id). Parsed by
 * shared/core/io/csv.ts's CsvParser from text decoded in whole UTF-8 characters.
 */
import { badInput } from '../../errors';
import { CsvParser } from '../../io/csv';
import { UTF8_ADVICE } from '../json-array-scanner';
import { formatBytes, MAX_RECORD_BYTES } from '../limits';
import { readAt, type DatasetFile } from '../open-dataset';
import { isBlank, type DropReason, type TicketRecord } from '../ticket-record';
import { firstInvalidUtf8, isUtf8, Utf8Checker } from '../utf8';
import type { Claim, DatasetFormatModule, FileHead, ReadContext } from './format';
import { planLines } from './plan-rows';

/** CSV columns of the CFPB export. */
const CSV_COLUMNS = {
  narrative: 'Consumer complaint narrative',
  product: 'Product',
  subProduct: 'Sub-product',
  id: 'Complaint ID',
} as const;

export const cfpbCsv: DatasetFormatModule = {
  description: `the CFPB's CSV export: a .csv file, or one whose first row names the "${CSV_COLUMNS.narrative}" column`,
  sniff,
  plan: (_ds, pieces, limits) => planLines(pieces, limits, 'csv'),
  read: readCsv,
};

/** .csv decides; any other name needs a first line that names the narrative column (a CFPB header row). */
function sniff(head: FileHead): Claim | undefined {
  if (head.ext === '.csv') return 'extension';
  const nl = head.bytes.indexOf(0x0a);
  const firstLine = head.bytes.subarray(0, nl < 0 ? head.bytes.length : nl);
  return firstLine.includes(CSV_COLUMNS.narrative) ? 'content' : undefined;
}

async function readCsv(ds: DatasetFile, ctx: ReadContext): Promise<void> {
  const file = ds.path;
  let rows: string[][] = [];
  const parser = new CsvParser((row) => rows.push(row));
  const range = ctx.range;
  // A range starts after the header: read the header row on its own first.
  let columns: CsvColumns | undefined = range
    ? csvColumns(await readCsvHeader(ds, range.headerEnd ?? 0), file)
    : undefined;
  const stream = ctx.pieces();
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
      const r = ctx.sink.accept(ticketFromCsv(row, columns, file, index));
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
