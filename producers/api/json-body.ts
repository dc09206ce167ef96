/**
 * The API's JSON body parser: express.json with a nesting limit. JSON.parse itself copes with deep nesting,
 * but everything that walks the parsed value afterwards (validation, JSON.stringify into Redis) recurses
 * and would overflow the stack; the raw body's bracket depth is counted in a loop before parsing instead.
 */
import express from 'express';
import type { RequestHandler } from 'express';

/** How deeply objects and arrays may nest in a request body. */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = new Set([0x7b, 0x5b]); // { [
const CLOSE = new Set([0x7d, 0x5d]); // } ]

/**
 * The offset of the first bracket that nests deeper than `max` (outside strings), or null. Iterative and
 * linear: any body the size limit lets through is checked without recursion.
 */
export function jsonTooDeepAt(text: Buffer | string, max = MAX_JSON_DEPTH): number | null {
  const at = typeof text === 'string' ? (i: number) => text.charCodeAt(i) : (i: number) => text[i]!;
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = at(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === BACKSLASH) escaped = true;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (OPEN.has(c)) {
      if (++depth > max) return i;
    } else if (CLOSE.has(c)) depth--;
  }
  return null;
}

class JsonTooDeep extends Error {
  readonly status = 400;
  readonly type = 'entity.too.deep';
}

/** Count the raw body's depth in its own charset (UTF-8 bytes as they are; others decoded first). */
function checkDepth(_req: unknown, _res: unknown, buf: Buffer, encoding: string): void {
  let text: Buffer | string = buf;
  if (!/^utf-?8$/i.test(encoding)) {
    try {
      text = new TextDecoder(encoding).decode(buf);
    } catch {
      return; // a charset the parser refuses anyway
    }
  }
  const at = jsonTooDeepAt(text);
  if (at !== null) {
    throw new JsonTooDeep(
      `the JSON body nests objects or arrays deeper than ${MAX_JSON_DEPTH} levels (at character ${at}): no request needs that many`,
    );
  }
}

/** express.json with the depth check; errors reach the app's error handler as 400s. */
export function jsonBody(limit: string): RequestHandler {
  return express.json({ limit, verify: checkDepth });
}
