/**
 * JSON parsed from a stream of bytes, for a document whose text would not fit in one string (V8's
 * longest is 536,870,888 characters; see json-pieces.ts, which writes such documents). The value is the
 * one JSON.parse gives for the same text: numbers through Number() of their JSON text, strings through
 * JSON.parse of their JSON text (escapes and all), objects with their keys in order and the last of a
 * repeated key, `__proto__` an own key. The grammar is JSON's (RFC 8259): anything else fails naming
 * `where` and the byte offset.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const LITERALS = new Map<string, unknown>([
  ['true', true],
  ['false', false],
  ['null', null],
]);

/** A container being filled: its value and, in an object, the key whose value comes next. */
interface Frame {
  value: unknown[] | Record<string, unknown>;
  key: string | null;
  /** what the next token must be */
  expect: 'value-or-close' | 'value' | 'comma-or-close' | 'key-or-close' | 'key' | 'colon';
}

/** Parses the bytes of `pieces`, in order, as one JSON document (see above). */
export async function parseJsonStream(pieces: AsyncIterable<Uint8Array>, where: string): Promise<unknown> {
  const parser = new JsonStreamParser(where);
  for await (const piece of pieces) parser.push(piece);
  return parser.end();
}

/**
 * The parser itself: `push` each piece of the document, then `end` for its value. Synchronous over
 * what it has: a token cut by a piece's end waits for the next piece.
 */
export class JsonStreamParser {
  private buf: Buffer = Buffer.alloc(0);
  /** next unread byte of buf */
  private pos = 0;
  /** bytes of the document before buf[0] */
  private base = 0;
  private ended = false;
  private readonly stack: Frame[] = [];
  private root: { value: unknown } | null = null;

  constructor(private readonly where: string) {}

  push(piece: Uint8Array): void {
    const bytes = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    // Only the unread bytes are kept: a token cut by the last piece's end continues in this one.
    this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), bytes]) : bytes;
    this.base += this.pos;
    this.pos = 0;
    this.run();
  }

  end(): unknown {
    this.ended = true;
    this.run();
    if (this.root === null || this.stack.length > 0) this.fail('the document ends early');
    return this.root!.value;
  }

  private fail(what: string, at = this.base + this.pos): never {
    throw new SyntaxError(`${this.where} is not JSON: ${what} at byte ${at}`);
  }

  /** Reads every whole token buf holds (all of them once the document has ended). */
  private run(): void {
    const { buf } = this;
    for (;;) {
      while (this.pos < buf.length && isSpace(buf[this.pos]!)) this.pos++;
      if (this.pos === buf.length) return;
      const b = buf[this.pos]!;
      const top = this.stack[this.stack.length - 1];
      if (!top && this.root) this.fail(`unexpected "${String.fromCharCode(b)}" after the value`);
      const expect = top?.expect ?? 'value';
      if (expect === 'comma-or-close' || expect === 'value-or-close' || expect === 'key-or-close') {
        const close = Array.isArray(top!.value) ? CLOSE_BRACKET : CLOSE_BRACE;
        if (b === close) {
          this.pos++;
          this.stack.pop();
          this.place(top!.value);
          continue;
        }
        if (expect === 'comma-or-close') {
          if (b !== COMMA) this.fail(`expected "," or "${String.fromCharCode(close)}"`);
          this.pos++;
          top!.expect = Array.isArray(top!.value) ? 'value' : 'key';
          continue;
        }
      }
      if (expect === 'colon') {
        if (b !== COLON) this.fail('expected ":"');
        this.pos++;
        top!.expect = 'value';
        continue;
      }
      if (expect === 'key' || expect === 'key-or-close') {
        if (b !== QUOTE) this.fail('expected a key');
        const end = this.tokenEnd(true);
        if (end < 0) return;
        top!.key = this.string(end);
        this.pos = end;
        top!.expect = 'colon';
        continue;
      }
      if (b === OPEN_BRACKET || b === OPEN_BRACE) {
        this.pos++;
        this.stack.push(
          b === OPEN_BRACKET
            ? { value: [], key: null, expect: 'value-or-close' }
            : { value: {}, key: null, expect: 'key-or-close' },
        );
        continue;
      }
      const end = this.tokenEnd(b === QUOTE);
      if (end < 0) return;
      if (b === QUOTE) this.place(this.string(end));
      else {
        const text = buf.toString('latin1', this.pos, end);
        if (NUMBER.test(text)) this.place(Number(text));
        else if (LITERALS.has(text)) this.place(LITERALS.get(text));
        else this.fail(`unexpected "${buf.toString('utf8', this.pos, Math.min(end, this.pos + 20))}"`);
      }
      this.pos = end;
    }
  }

  /**
   * The end of the token at pos (past a string's closing quote; at a number's or literal's first
   * delimiter), or -1 when buf ends first and more may come.
   */
  private tokenEnd(string: boolean): number {
    const { buf } = this;
    let i = this.pos + 1;
    if (string) {
      while (i < buf.length) {
        const b = buf[i]!;
        if (b === QUOTE) return i + 1;
        // An escape takes the next byte with it (a quote or a backslash among them).
        i += b === BACKSLASH ? 2 : 1;
      }
      if (this.ended) this.fail('a string that does not end');
      return -1;
    }
    while (i < buf.length) {
      const b = buf[i]!;
      if (isSpace(b) || b === COMMA || b === CLOSE_BRACKET || b === CLOSE_BRACE || b === COLON) return i;
      i++;
    }
    return this.ended ? buf.length : -1;
  }

  /** The string whose JSON text is buf[pos, end), by JSON.parse (its escapes, its control characters). */
  private string(end: number): string {
    try {
      return JSON.parse(this.buf.toString('utf8', this.pos, end)) as string;
    } catch {
      return this.fail('a bad string');
    }
  }

  private place(value: unknown): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) {
      this.root = { value };
      return;
    }
    if (Array.isArray(top.value)) top.value.push(value);
    // JSON.parse makes "__proto__" an own key; an assignment would set the prototype.
    else if (top.key === '__proto__')
      Object.defineProperty(top.value, top.key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else top.value[top.key!] = value;
    top.key = null;
    top.expect = 'comma-or-close';
  }
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}
