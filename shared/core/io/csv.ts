/** RFC 4180 CSV: fields quoted only when they hold a comma, quote, CR or LF; quotes doubled. */

const NEEDS_QUOTES = /[",\r\n]/;

function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One CSV line with its trailing "\n". */
export function csvRow(fields: readonly string[]): string {
  return fields.map(csvField).join(',') + '\n';
}

/**
 * Incremental CSV parser: feed it text pieces in order, it calls `onRow` for every complete row.
 * Handles quoted fields with embedded commas, quotes and newlines that span pieces, and CRLF.
 * Rows are parsed whole with `indexOf` jumps (no per-character loop); an incomplete last row is kept
 * and parsed again with the next piece.
 */
export class CsvParser {
  private rest = '';

  constructor(private readonly onRow: (row: string[]) => void) {}

  write(text: string): void {
    const buf = this.rest.length > 0 ? this.rest + text : text;
    this.rest = buf.slice(this.parseRows(buf, false));
  }

  /** Flush the last row when the input does not end with a newline. */
  end(): void {
    const buf = this.rest;
    this.rest = '';
    if (buf.length > 0) this.parseRows(buf, true);
  }

  /** Parse the complete rows of `buf`; returns where the first incomplete row starts. */
  private parseRows(buf: string, final: boolean): number {
    const n = buf.length;
    let comma = -1;
    let newline = -1;
    // Next "," or "\n" at or after i, or -1; both positions are cached and only move forward.
    const find = (ch: string, i: number): number => {
      const k = buf.indexOf(ch, i);
      return k < 0 ? Infinity : k;
    };
    const nextDelimiter = (i: number): number => {
      if (comma < i) comma = find(',', i);
      if (newline < i) newline = find('\n', i);
      const d = Math.min(comma, newline);
      return d === Infinity ? -1 : d;
    };
    let rowStart = 0;
    rows: while (rowStart < n) {
      const row: string[] = [];
      let i = rowStart;
      for (;;) {
        if (i >= n) {
          if (!final) return rowStart;
          row.push('');
          this.onRow(row);
          return n;
        }
        let value = '';
        if (buf.charCodeAt(i) === 34 /* " */) {
          let j = i + 1;
          for (;;) {
            const q = buf.indexOf('"', j);
            if (q < 0 || (q + 1 >= n && !final)) {
              if (final) throw new Error('CSV ends inside a quoted field: the file is truncated');
              return rowStart; // the quote may be the first of a doubled pair: wait for more text
            }
            if (buf.charCodeAt(q + 1) === 34) {
              value += buf.slice(j, q + 1); // a doubled quote stands for one quote
              j = q + 2;
              continue;
            }
            value += buf.slice(j, q);
            i = q + 1;
            break;
          }
        }
        const d = nextDelimiter(i);
        if (d < 0) {
          if (!final) return rowStart;
          row.push(value + stripCr(buf.slice(i)));
          this.onRow(row);
          return n;
        }
        const isNewline = buf.charCodeAt(d) === 10;
        const tail = buf.slice(i, d);
        row.push(value + (isNewline ? stripCr(tail) : tail));
        i = d + 1;
        if (isNewline) {
          this.onRow(row);
          rowStart = i;
          continue rows;
        }
      }
    }
    return rowStart;
  }
}

/** Drop the CR of a CRLF line end (only text after a closing quote or in an unquoted field gets here). */
function stripCr(text: string): string {
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}
