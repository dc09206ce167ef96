/** RFC 4180 CSV: fields quoted only when they hold a comma, quote, CR or LF; quotes doubled. */

const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One CSV line with its trailing "\n". */
export function csvRow(fields: readonly string[]): string {
  return fields.map(csvField).join(',') + '\n';
}

/**
 * Incremental CSV parser: feed it text pieces in order, it calls `onRow` for every complete row.
 * Handles quoted fields with embedded commas, quotes and newlines that span pieces, and CRLF.
 */
export class CsvParser {
  private field = '';
  private row: string[] = [];
  private inQuotes = false;
  /** A quote seen inside a quoted field: either the closing quote or the first of a doubled pair. */
  private pendingQuote = false;

  constructor(private readonly onRow: (row: string[]) => void) {}

  write(text: string): void {
    let field = this.field;
    let start = 0;
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (this.pendingQuote) {
        this.pendingQuote = false;
        if (c === 34 /* " */) {
          field += '"'; // a doubled quote inside a quoted field stands for one quote
          start = i + 1;
          continue;
        }
        this.inQuotes = false;
      }
      if (this.inQuotes) {
        if (c === 34) {
          field += text.slice(start, i);
          start = i + 1;
          this.pendingQuote = true;
        }
        continue;
      }
      if (c === 44 /* , */) {
        this.row.push(field + text.slice(start, i));
        field = '';
        start = i + 1;
      } else if (c === 10 /* \n */) {
        let end = i;
        if (end > start && text.charCodeAt(end - 1) === 13) end--;
        else if (end === start && field.endsWith('\r')) field = field.slice(0, -1);
        this.row.push(field + text.slice(start, end));
        field = '';
        start = i + 1;
        this.emit();
      } else if (c === 34 && field.length === 0 && i === start) {
        this.inQuotes = true;
        start = i + 1;
      }
    }
    this.field = field + text.slice(start);
  }

  /** Flush the last row when the input does not end with a newline. */
  end(): void {
    if (this.inQuotes && !this.pendingQuote) throw new Error('CSV ends inside a quoted field: the file is truncated');
    if (this.field.length > 0 || this.row.length > 0) {
      this.row.push(this.field.endsWith('\r') ? this.field.slice(0, -1) : this.field);
      this.field = '';
      this.emit();
    }
    this.pendingQuote = false;
    this.inQuotes = false;
  }

  private emit(): void {
    this.onRow(this.row);
    this.row = [];
  }
}
