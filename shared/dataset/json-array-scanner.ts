/**
 * Splits a JSON array arriving as byte chunks into its top-level elements, without parsing the file as
 * one value: it tracks only string/escape state and nesting depth, hands each element's bytes (decoded as
 * UTF-8 on its own, so multi-byte characters cut by a chunk boundary are whole) to the caller, who
 * JSON.parses it. Inside strings it jumps from quote to quote with Buffer.indexOf, so long narratives cost
 * little more than a memchr.
 *
 * Structure errors (not an array, missing comma, truncated file, data after the closing bracket) are thrown
 * as JsonScanError with the byte offset; each element's own syntax is left to JSON.parse.
 */

export class JsonScanError extends Error {
  override readonly name = 'JsonScanError';
  constructor(
    message: string,
    readonly offset: number,
    readonly record?: number,
  ) {
    super(message);
  }
}

/** One top-level element: its index in the array, file byte offsets and text. */
export interface JsonElement {
  index: number;
  offset: number;
  /** byte offset just past the element */
  end: number;
  /** the element's text ('' when the scanner was made with decode = false) */
  text: string;
}

const enum Phase {
  /** Before the opening '['. */
  Start,
  /** After '[': an element or ']' comes next. */
  AfterOpen,
  /** After ',': an element comes next. */
  AfterComma,
  /** Inside an element. */
  InElement,
  /** After an element: ',' or ']' comes next. */
  AfterElement,
  /** After the closing ']': only white space may follow. */
  Done,
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export class JsonArrayScanner {
  /** Work buffer: bytes from the start of the unfinished element (or the scan position) on. */
  private buf = Buffer.alloc(0);
  /** Bytes of `buf` in use. */
  private len = 0;
  /** File offset of buf[0]. */
  private base = 0;
  private pos = 0;
  private phase = Phase.Start;
  private depth = 0;
  private inString = false;
  /** Element kind: true for objects/arrays/strings (end by bracket or quote), false for bare literals. */
  private structured = false;
  private elemStart = 0;
  private count = 0;

  /** `decode` false: report elements' byte spans only, for planning chunks without decoding text. */
  constructor(private readonly decode = true) {}

  /** Scans `chunk`; returns the elements it completed, in order. */
  push(chunk: Buffer): JsonElement[] {
    this.append(chunk);
    const out: JsonElement[] = [];
    this.scan(out);
    this.compact();
    return out;
  }

  /** Call after the last chunk: throws when the array is not complete. */
  end(): JsonElement[] {
    const out: JsonElement[] = [];
    const eof = this.base + this.len;
    // A bare literal as the last element ends at end of file; the missing ']' is reported below.
    if (this.phase === Phase.InElement && !this.structured) this.emit(this.len, out);
    switch (this.phase) {
      case Phase.Done:
        return out;
      case Phase.Start:
        throw new JsonScanError('the file is empty (expected a JSON array)', eof);
      case Phase.InElement:
        throw new JsonScanError(
          `truncated: the file ends inside record ${this.count}${this.inString ? ' (inside a string)' : ''}`,
          eof,
          this.count,
        );
      default:
        throw new JsonScanError("truncated: the file ends before the array's closing ']'", eof);
    }
  }

  /** Number of elements completed so far. */
  get elements(): number {
    return this.count;
  }

  private append(chunk: Buffer): void {
    const need = this.len + chunk.length;
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2, 1 << 16));
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    chunk.copy(this.buf, this.len);
    this.len = need;
  }

  /** Drops consumed bytes, keeping the unfinished element (if any) at the front of the buffer. */
  private compact(): void {
    const keep = this.phase === Phase.InElement ? this.elemStart : this.pos;
    if (keep === 0) return;
    this.buf.copy(this.buf, 0, keep, this.len);
    this.len -= keep;
    this.base += keep;
    this.pos -= keep;
    this.elemStart -= keep;
  }

  private scan(out: JsonElement[]): void {
    const buf = this.buf;
    const len = this.len;
    let pos = this.pos;
    while (pos < len) {
      if (this.phase === Phase.InElement) {
        if (this.inString) {
          const q = buf.indexOf(QUOTE, pos);
          if (q < 0 || q >= len) {
            pos = len;
            break;
          }
          // The quote is escaped when an odd number of backslashes precede it. The string's opening
          // quote is in the buffer, so the count cannot run past the string's start.
          let k = q - 1;
          while (buf[k] === BACKSLASH) k--;
          pos = q + 1;
          if ((q - 1 - k) % 2 === 0) {
            this.inString = false;
            if (this.depth === 0) pos = this.emit(pos, out); // a string element
          }
          continue;
        }
        const c = buf[pos]!;
        if (!this.structured) {
          // A bare literal (number, true, ...) ends at the first structural byte or white space; a
          // malformed one is then reported by JSON.parse with its record index.
          if (
            c === 0x2c ||
            c === 0x5d ||
            c === 0x7d ||
            c === 0x5b ||
            c === 0x7b ||
            c === QUOTE ||
            isSpace(c)
          ) {
            pos = this.emit(pos, out);
            continue;
          }
          pos++;
          continue;
        }
        if (c === QUOTE) {
          this.inString = true;
        } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
          this.depth++;
        } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
          if (--this.depth === 0) {
            pos = this.emit(pos + 1, out);
            continue;
          }
        }
        pos++;
        continue;
      }
      const c = buf[pos]!;
      if (isSpace(c)) {
        pos++;
        continue;
      }
      switch (this.phase) {
        case Phase.Start:
          if (c === 0xef && this.base + pos === 0) {
            // A UTF-8 byte order mark, possibly cut by the chunk boundary: wait for its 3 bytes.
            if (len - pos < 3) {
              this.pos = pos;
              return;
            }
            if (buf[pos + 1] === 0xbb && buf[pos + 2] === 0xbf) {
              pos += 3;
              break;
            }
          }
          if (c !== 0x5b) {
            throw new JsonScanError(
              `the top level is not a JSON array (first character ${describe(c)}, expected '[')`,
              this.base + pos,
            );
          }
          this.phase = Phase.AfterOpen;
          pos++;
          break;
        case Phase.AfterOpen:
        case Phase.AfterComma:
          if (c === 0x5d && this.phase === Phase.AfterOpen) {
            this.phase = Phase.Done;
            pos++;
            break;
          }
          if (c === 0x5d || c === 0x2c) {
            throw new JsonScanError(
              `not JSON: expected record ${this.count}, found ${describe(c)}`,
              this.base + pos,
              this.count,
            );
          }
          this.phase = Phase.InElement;
          this.elemStart = pos;
          this.depth = 0;
          this.structured = c === 0x7b || c === 0x5b || c === QUOTE;
          // the loop handles the first byte itself (it opens the object/array/string)
          break;
        case Phase.AfterElement:
          if (c === 0x2c) this.phase = Phase.AfterComma;
          else if (c === 0x5d) this.phase = Phase.Done;
          else {
            throw new JsonScanError(
              `not JSON: expected ',' or ']' after record ${this.count - 1}, found ${describe(c)}`,
              this.base + pos,
              this.count - 1,
            );
          }
          pos++;
          break;
        case Phase.Done:
          throw new JsonScanError(
            `not JSON: unexpected ${describe(c)} after the array's closing ']'`,
            this.base + pos,
          );
      }
    }
    this.pos = pos;
  }

  /** Ends the current element at `end` (exclusive); returns the position to continue from. */
  private emit(end: number, out: JsonElement[]): number {
    out.push({
      index: this.count++,
      offset: this.base + this.elemStart,
      end: this.base + end,
      text: this.decode ? this.buf.toString('utf8', this.elemStart, end) : '',
    });
    this.phase = Phase.AfterElement;
    return end;
  }
}

function describe(c: number): string {
  return c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, '0')}`;
}
