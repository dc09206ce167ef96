/**
 * Word tokenizer for stage 1: natural's `WordTokenizer` (split on /[^A-Za-zА-Яа-я0-9_]+/, drop empties)
 * written as one character loop — the regex split plus underscore's `without` costs several times more —
 * that also skips bracketed spans and keeps links whole in the same pass (see tokenizeWords).
 */

import { HASH_START, hashRange, hashStep } from '../numeric/word-table';

/** Word characters of natural's WordTokenizer: 0-9 A-Z _ a-z and the Cyrillic block А..я (U+0410..U+044F). */
function isWordChar(c: number): boolean {
  if (c < 128) return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
  return c >= 0x410 && c <= 0x44f;
}

const OPEN_CURLY = 123;
const OPEN_SQUARE = 91;
const OPEN_ROUND = 40;

/** Buffers larger than this many entries are not kept once a text needs a quarter of them or less. */
const KEPT_ENTRIES = 1 << 16;

/**
 * The size a reused per-token buffer of `have` entries should take for `need` entries: `have` when it
 * fits, room for twice `need` otherwise. A rare huge ticket (up to MAX_RECORD_BYTES) grows the buffers
 * for itself; the next ordinary ticket lets them go, so a long-lived sandbox does not keep them.
 */
export function tokenBufferSize(have: number, need: number): number {
  if (have >= need && (have <= KEPT_ENTRIES || need * 4 > have)) return have;
  return Math.max(256, need * 2);
}

/**
 * Where each token of a text starts and ends (UTF-16 offsets, end exclusive), filled by scanTokens.
 * Reuse one across texts (see tokenBufferSize for how it grows and shrinks).
 */
export class TokenBounds {
  starts = new Int32Array(256);
  ends = new Int32Array(256);
  /** each token's hashRange, computed as the scan reads its characters (WordTable.idOfHashed takes it) */
  hashes = new Int32Array(256);
  /** tokens of the last text scanned */
  count = 0;

  /** Room for every token of a text of `length` units (tokens are separated, so at most ⌈length / 2⌉). */
  reserve(length: number): void {
    const size = tokenBufferSize(this.starts.length, (length >> 1) + 1);
    if (size === this.starts.length) return;
    this.starts = new Int32Array(size);
    this.ends = new Int32Array(size);
    this.hashes = new Int32Array(size);
  }
}

/**
 * Tokens of `text` in order, like natural's WordTokenizer with two differences:
 *  - bracketed spans are skipped: `{...}`, `[...]` and `(...)` are removed with the semantics of the regex
 *    /\{[^{}]*\}|\[[^[\]]*\]|\([^()]*\)/g replaced by a space (innermost span of a kind, no nesting; an
 *    unmatched bracket is just a separator). CFPB narratives mask amounts as "{$20.00}" and the seed
 *    removed bracketed text before tagging.
 *  - a link — a white-space-delimited run containing '@', '://', 'www.' or a '.com'-like domain — is
 *    ONE token, punctuation included, so the extractor's punctuation filter drops it instead of keeping
 *    "gmail", "com", "http" as nouns.
 *
 * A string per token, for the tests and eval:pos (stage 1 uses scanTokens). `out` is cleared and filled
 * when given. When `starts` is given it receives each token's start offset in `text` (the POS evaluation
 * aligns tokens with gold ones by it).
 */
export function tokenizeWords(text: string, out: string[] = [], starts?: number[]): string[] {
  const bounds = new TokenBounds();
  const n = scanTokens(text, bounds);
  out.length = n;
  if (starts !== undefined) starts.length = n;
  for (let t = 0; t < n; t++) {
    out[t] = text.slice(bounds.starts[t], bounds.ends[t]);
    if (starts !== undefined) starts[t] = bounds.starts[t]!;
  }
  return out;
}

/**
 * The tokens of tokenizeWords as offsets into `text`, written into `bounds` (no string per token: stage 1
 * looks words up by their characters, see WordTable). Returns the number of tokens.
 */
export function scanTokens(text: string, bounds: TokenBounds): number {
  const n = text.length;
  bounds.reserve(n);
  const starts = bounds.starts;
  const ends = bounds.ends;
  const hashes = bounds.hashes;
  let count = 0;
  let h = 0;
  // Cached "next position of this character at or after i" per bracket character, so that many
  // unmatched brackets cost linear, not quadratic, time.
  const next = new BracketIndex(text);
  let start = -1;
  // The current white-space-delimited run: where it starts and how many tokens it had produced before.
  let runStart = 0;
  let runTokens = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (isWordChar(c)) {
      if (start < 0) {
        start = i;
        h = HASH_START;
      }
      h = hashStep(h, c);
      continue;
    }
    if (c <= 32 || c === 0xa0) {
      if (start >= 0) {
        starts[count] = start;
        hashes[count] = h;
        ends[count++] = i;
        start = -1;
      }
      runStart = i + 1;
      runTokens = count;
      continue;
    }
    if ((c === 64 /* @ */ || c === 58 /* : */ || c === 46) /* . */ && isLinkMark(text, i, c, start)) {
      // Re-emit the whole run as one token, replacing the words already taken from it.
      let end = i + 1;
      while (end < n && !isSpace(text.charCodeAt(end))) end++;
      count = runTokens;
      starts[count] = runStart;
      hashes[count] = hashRange(text, runStart, end);
      ends[count++] = end;
      start = -1;
      runStart = end;
      runTokens = count;
      i = end - 1;
      continue;
    }
    if (start >= 0) {
      starts[count] = start;
      hashes[count] = h;
      ends[count++] = i;
      start = -1;
    }
    if (c === OPEN_CURLY || c === OPEN_SQUARE || c === OPEN_ROUND) {
      const close = next.spanEnd(c, i);
      if (close >= 0) {
        i = close; // the loop's i++ steps past the closing bracket
        // a skipped span separates runs like white space
        runStart = close + 1;
        runTokens = count;
      }
    }
  }
  if (start >= 0) {
    starts[count] = start;
    hashes[count] = h;
    ends[count++] = n;
  }
  bounds.count = count;
  return count;
}

function isSpace(c: number): boolean {
  return c <= 32 || c === 0xa0;
}

/** Top-level domains that make "word.tld" a link. */
const DOMAINS = ['com', 'org', 'net', 'gov', 'edu'];

/**
 * Does the character at `i` (an '@', ':' or '.') mark a link? '@' between word characters (an email);
 * ':' starting '://'; '.' right after a word "www", or before a DOMAINS word that ends there.
 * `wordStart` is where the word just before `i` began (-1: none).
 */
function isLinkMark(text: string, i: number, c: number, wordStart: number): boolean {
  if (wordStart < 0 || i + 1 >= text.length || !isWordChar(text.charCodeAt(i + 1))) {
    return c === 58 && text.charCodeAt(i + 1) === 47 && text.charCodeAt(i + 2) === 47 && wordStart >= 0;
  }
  if (c === 64) return true;
  if (c === 58) return false;
  if (i - wordStart === 3 && text.slice(wordStart, i).toLowerCase() === 'www') return true;
  for (const d of DOMAINS) {
    if (text.startsWith(d, i + 1) && !isLetter(text.charCodeAt(i + 1 + d.length))) return true;
  }
  return false;
}

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

/** Finds where a bracketed span that opens at a given position closes, in amortised O(1). */
class BracketIndex {
  // Next index (>= the last query position) of each bracket character; -2 = not looked up yet, -1 = none.
  // Queries come with increasing positions, so a cached hit stays valid until the scan passes it.
  private readonly pos = [-2, -2, -2, -2, -2, -2];

  constructor(private readonly text: string) {}

  /** Index of the closing bracket of the span opened at `i`, or -1 if `text[i]` opens no span. */
  spanEnd(open: number, i: number): number {
    const k = open === OPEN_CURLY ? 0 : open === OPEN_SQUARE ? 2 : 4;
    const close = this.find(k + 1, i + 1);
    if (close < 0) return -1;
    const reopen = this.find(k, i + 1);
    // Another opener of the same kind before the closer: the regex fails here and matches from that one.
    if (reopen >= 0 && reopen < close) return -1;
    return close;
  }

  private find(k: number, from: number): number {
    const cached = this.pos[k]!;
    if (cached === -1 || cached >= from) return cached;
    const found = this.text.indexOf(BRACKETS[k]!, from);
    this.pos[k] = found;
    return found;
  }
}

/** Opening and closing bracket of each kind, indexed as in BracketIndex.pos. */
const BRACKETS = ['{', '}', '[', ']', '(', ')'];
