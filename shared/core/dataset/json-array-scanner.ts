/**
 * Splits a JSON array arriving as byte chunks into its top-level elements, without parsing the file as
 * one value: it tracks only string/escape state and nesting depth, hands each element's bytes (decoded as
 * UTF-8 on its own, so multi-byte characters cut by a chunk boundary are whole) to the caller, who
 * JSON.parses it. Inside strings it jumps from quote to quote with Buffer.indexOf, so long narratives cost
 * little more than a memchr.
 *
 * Structure errors (not an array, missing comma, truncated file, data after the closing bracket), an element
 * larger than the record budget (MAX_RECORD_BYTES: an unterminated string or array is caught here rather
 * than buffered to the end of the file) and, when decoding, an element that is not valid UTF-8 are thrown
 * as JsonScanError with the byte offset; each element's own syntax is left to JSON.parse. Messages never
 * quote the input: a byte is described by its class unless it is JSON punctuation.
 */
import { formatBytes, MAX_RECORD_BYTES } from './limits';
import { firstInvalidUtf8, isUtf8 } from './utf8';

/** A problem found while splitting a dataset into records, at a byte offset of what was scanned. */
export class ScanError extends Error {
  override readonly name: string = 'ScanError';
  constructor(
    message: string,
    readonly offset: number,
    readonly record?: number,
  ) {
    super(message);
  }
}

export class JsonScanError extends ScanError {
  override readonly name = 'JsonScanError';
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
  private base: number;
  /** File offset of the first byte pushed. */
  private readonly start: number;
  private pos = 0;
  private phase = Phase.Start;
  private depth = 0;
  private inString = false;
  /** Element kind: true for objects/arrays/strings (end by bracket or quote), false for bare literals. */
  private structured = false;
  private elemStart = 0;
  private count: number;

  /**
   * `decode` false: report elements' byte spans only, for planning chunks without decoding text (the
   * caller checks UTF-8 itself). `maxRecordBytes`: an element larger than this is an error. `origin`: the
   * file offset of the first byte pushed and the index of the first element, when scanning a slice.
   */
  constructor(
    private readonly decode = true,
    private readonly maxRecordBytes = MAX_RECORD_BYTES,
    origin: { offset?: number; record?: number } = {},
  ) {
    this.base = this.start = origin.offset ?? 0;
    this.count = origin.record ?? 0;
  }

  /** Scans `chunk`; returns the elements it completed, in order. */
  push(chunk: Buffer): JsonElement[] {
    this.append(chunk);
    const out: JsonElement[] = [];
    this.scan(out);
    if (this.phase === Phase.InElement && this.len - this.elemStart > this.maxRecordBytes) {
      throw this.tooLarge();
    }
    this.compact();
    return out;
  }

  /** The element in progress, or the next one: the record a byte that is not yet scanned belongs to. */
  get currentRecord(): number {
    return this.count;
  }

  private tooLarge(): JsonScanError {
    const start = this.base + this.elemStart;
    return new JsonScanError(
      `the record starting at byte ${start} is larger than the ${formatBytes(this.maxRecordBytes)} a record may ` +
        `take (MAX_RECORD_BYTES)${this.inString ? '; a string in it is still open there (an unterminated string?)' : ''}`,
      start,
      this.count,
    );
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
          if ((c === 0xff || c === 0xfe) && this.base + pos === this.start) {
            throw new JsonScanError(
              'the file starts with a UTF-16 byte order mark: datasets must be UTF-8 (convert it, e.g. iconv -f UTF-16 -t UTF-8)',
              0,
            );
          }
          if (c === 0xef && this.base + pos === this.start) {
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
              `the top level is not a JSON array (first character ${describeByte(c)}, expected '[')` +
                (c === 0x7b
                  ? ': the file holds a JSON object, not an array of hits (for an Elasticsearch response ' +
                    '{"hits": {"hits": [...]}}, extract its hits.hits array)'
                  : ''),
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
              `not JSON: expected record ${this.count}, found ${describeByte(c)}`,
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
              `not JSON: expected ',' or ']' after record ${this.count - 1}, found ${describeByte(c)}`,
              this.base + pos,
              this.count - 1,
            );
          }
          pos++;
          break;
        case Phase.Done:
          throw new JsonScanError(
            `not JSON: unexpected ${describeByte(c)} after the array's closing ']'`,
            this.base + pos,
          );
      }
    }
    this.pos = pos;
  }

  /** Ends the current element at `end` (exclusive); returns the position to continue from. */
  private emit(end: number, out: JsonElement[]): number {
    if (end - this.elemStart > this.maxRecordBytes) throw this.tooLarge();
    let text = '';
    if (this.decode) {
      const bytes = this.buf.subarray(this.elemStart, end);
      if (!isUtf8(bytes)) {
        const at = this.base + this.elemStart + Math.max(0, firstInvalidUtf8(bytes));
        throw new JsonScanError(`not valid UTF-8 at byte ${at}${UTF8_ADVICE}`, at, this.count);
      }
      text = bytes.toString('utf8');
    }
    out.push({ index: this.count++, offset: this.base + this.elemStart, end: this.base + end, text });
    this.phase = Phase.AfterElement;
    return end;
  }
}

/** Appended to "not valid UTF-8" messages. */
export const UTF8_ADVICE =
  ': datasets must be UTF-8 (convert the file, e.g. iconv -f LATIN1 -t UTF-8, or check it is a dataset at all)';

/** A byte in words without quoting the input: JSON punctuation by itself, anything else by its class. */
export function describeByte(c: number): string {
  if ('[]{},:"'.includes(String.fromCharCode(c))) return `'${String.fromCharCode(c)}'`;
  if (c >= 0x30 && c <= 0x39) return 'a digit';
  if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return 'a letter';
  if (c < 0x20 || c === 0x7f) return 'a control character';
  if (c >= 0x80) return 'a non-ASCII byte';
  return 'a punctuation character';
}
