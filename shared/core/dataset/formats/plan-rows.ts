/** Record boundaries of line-based formats (JSON Lines, CSV) for the chunk planner. */
import { badInput, type InputLocation } from '../../errors';
import { formatBytes } from '../limits';
import { Utf8Checker } from '../utf8';
import type { Limits, PlannedRecords, TicketRange } from './format';
import { addRecord, checkTime, notUtf8 } from './planning';

/**
 * JSON Lines and CSV: records end at "\n" (for CSV, outside quoted fields; a quote opens a field only
 * at its start, as in the CSV parser). The CSV header row is not a record.
 */
export async function planLines(
  stream: AsyncIterable<Buffer>,
  limits: Limits,
  rows: 'lines' | 'csv',
): Promise<PlannedRecords> {
  const { file, maxRecordBytes } = limits;
  const csv = rows === 'csv';
  const chunks: TicketRange[] = [];
  const state = { inChunk: 0 };
  const utf8 = new Utf8Checker();
  let records = 0;
  let headerEnd = csv ? -1 : 0;
  let offset = 0; // file offset of the current piece
  let rowStart = 0; // file offset where the current row began
  let inQuotes = false;
  /** a quote inside a quoted field ended the last piece: closing, or the first of a doubled pair */
  let pendingQuote = false;
  let atFieldStart = true;
  /** a quoted field just closed: a comma or a line end must follow */
  let afterClose = false;
  /** file offsets of the current quoted field's opening quote and of the quote that closed it */
  let quoteAt = -1;
  let closeAt = -1;
  /** where the row in progress is, for messages */
  const where = (): InputLocation => (headerEnd < 0 ? { file } : { file, record: records });
  const rowName = () => (headerEnd < 0 ? 'the CSV header row' : 'the record');
  const tooLong = (end: number) =>
    badInput(
      where(),
      `${rowName()} starting at byte ${rowStart} is longer than the ${formatBytes(maxRecordBytes)} a record may ` +
        `take (MAX_RECORD_BYTES; ${formatBytes(end - rowStart)} so far)` +
        (inQuotes
          ? `: an opening quote at byte ${quoteAt} is never closed`
          : csv
            ? ''
            : ': it has no newline where one should be'),
    );
  const endRow = (end: number) => {
    if (end - rowStart > maxRecordBytes) throw tooLong(end);
    if (headerEnd < 0) {
      headerEnd = end;
    } else {
      addRecord(chunks, state, limits, {
        offset: rowStart,
        end,
        index: records,
        ...(csv ? { headerEnd } : {}),
      });
      records++;
    }
    rowStart = end;
  };
  for await (const chunk of stream) {
    const buf = chunk;
    checkTime(limits, offset, where());
    const { invalidAt } = utf8.push(buf, offset);
    // scan up to a bad byte, so that the row it is in is known
    const n = invalidAt < 0 ? buf.length : Math.max(0, invalidAt - offset);
    let i = 0;
    if (pendingQuote && n > 0) {
      pendingQuote = false;
      if (buf[0] === 0x22)
        i = 1; // doubled: still inside
      else {
        inQuotes = false;
        afterClose = true;
      }
    }
    while (i < n) {
      if (!csv) {
        const nl = buf.indexOf(0x0a, i);
        if (nl < 0 || nl >= n) break;
        endRow(offset + nl + 1);
        i = nl + 1;
        continue;
      }
      if (inQuotes) {
        const q = buf.indexOf(0x22, i);
        if (q < 0 || q >= n) break;
        if (q + 1 >= n) {
          pendingQuote = true;
          closeAt = offset + q;
          i = n;
          break;
        }
        if (buf[q + 1] === 0x22) {
          i = q + 2; // a doubled quote stands for one: still inside
          continue;
        }
        inQuotes = false;
        afterClose = true;
        closeAt = offset + q;
        i = q + 1;
        continue;
      }
      const c = buf[i]!;
      if (afterClose) {
        afterClose = false;
        if (c !== 0x2c && c !== 0x0a && c !== 0x0d) {
          throw badInput(
            where(),
            `an opening quote at byte ${quoteAt} is never closed: the quote at byte ${closeAt} that would close ` +
              "its field is followed by neither ',' nor a line end (a quote inside a quoted field must be doubled)",
          );
        }
      }
      if (c === 0x22 && atFieldStart) {
        inQuotes = true;
        quoteAt = offset + i;
      } else if (c === 0x2c) {
        atFieldStart = true;
        i++;
        continue;
      } else if (c === 0x0a) {
        endRow(offset + i + 1);
        atFieldStart = true;
        i++;
        continue;
      }
      atFieldStart = false;
      i++;
    }
    if (invalidAt >= 0) throw notUtf8(where(), invalidAt);
    offset += buf.length;
    if (offset - rowStart > maxRecordBytes) throw tooLong(offset);
  }
  const cut = utf8.end(offset);
  if (cut >= 0) throw notUtf8(where(), cut, true);
  if (pendingQuote) inQuotes = false;
  if (csv && inQuotes) {
    throw badInput(
      where(),
      `truncated: an opening quote at byte ${quoteAt} is never closed (the file ends inside its quoted field)`,
    );
  }
  if (offset > rowStart) endRow(offset); // a last row without newline
  if (csv && headerEnd < 0) throw badInput({ file }, 'the file is empty (expected a CSV header row)');
  return { records, chunks };
}
