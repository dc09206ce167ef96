/**
 * JSON.parse's errors in words that never quote the input. V8's messages may hold a slice of the text
 * ("Unexpected token 'a', "abc..." is not valid JSON"), and a dataset may be a secret file named by
 * mistake or on purpose: the reader reports the kind of error and its byte offset instead, found by a
 * small validator that runs only after JSON.parse has failed.
 */

/** Phrases of V8's JSON errors that are safe to repeat: they name JSON syntax, never the input. */
const SAFE_REASON = /^[A-Za-z ,'{}[\]:-]{1,80}$/;

export interface JsonErrorWhere {
  /** what is wrong, in words */
  reason: string;
  /** UTF-8 byte offset in the text where it is */
  byte: number;
}

/** Explain JSON.parse's failure on `text` (which did fail to parse) without quoting it. */
export function describeJsonError(err: unknown, text: string): JsonErrorWhere {
  const message = err instanceof Error ? err.message : '';
  let reason: string;
  const positioned = / in JSON at position (\d+)/.exec(message);
  if (message.startsWith('Unexpected token')) reason = 'unexpected character';
  else if (message.startsWith('Unexpected end of JSON input'))
    reason = 'the record ends before its value does';
  else if (positioned) {
    const phrase = message.slice(0, positioned.index);
    reason = SAFE_REASON.test(phrase) ? phrase.charAt(0).toLowerCase() + phrase.slice(1) : 'not valid JSON';
  } else reason = 'not valid JSON';
  // V8's position where it gives one, else our own validator's
  let at = positioned ? Math.min(Number(positioned[1]), text.length) : locateJsonError(text);
  if (at < 0) at = 0;
  return { reason, byte: Buffer.byteLength(text.slice(0, at), 'utf8') };
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/**
 * Index (UTF-16 code units) of the first character at which `text` stops being one JSON value, or -1 when
 * it is one. Iterative, so deeply nested input does not overflow the stack.
 */
export function locateJsonError(text: string): number {
  const n = text.length;
  let i = 0;
  /** open containers: true for objects, false for arrays */
  const stack: boolean[] = [];
  const space = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  /** at a '"': past the closing quote, or false with `i` at the fault */
  const string = (): boolean => {
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return true;
      }
      if (c < 0x20) return false;
      if (c === 0x5c) {
        const e = text.charAt(i + 1);
        if (e === 'u') {
          for (let k = 2; k < 6; k++) {
            if (!/[0-9a-fA-F]/.test(text.charAt(i + k))) {
              i += k;
              return false;
            }
          }
          i += 6;
          continue;
        }
        if (!ESCAPES.has(e)) {
          i++;
          return false;
        }
        i += 2;
        continue;
      }
      i++;
    }
    return false;
  };
  /** at an object's '{' or ',': a key and its ':' come next; false with `i` at the fault */
  const key = (): boolean => {
    space();
    if (text.charCodeAt(i) !== 0x22 || !string()) return false;
    space();
    if (text.charCodeAt(i) !== 0x3a) return false;
    i++;
    return true;
  };
  for (;;) {
    // a value comes next
    space();
    if (i >= n) return i;
    const c = text.charAt(i);
    if (c === '{') {
      i++;
      space();
      if (text.charAt(i) === '}') i++;
      else {
        stack.push(true);
        if (!key()) return i;
        continue;
      }
    } else if (c === '[') {
      i++;
      space();
      if (text.charAt(i) === ']') i++;
      else {
        stack.push(false);
        continue;
      }
    } else if (c === '"') {
      if (!string()) return i;
    } else if (text.startsWith('true', i)) i += 4;
    else if (text.startsWith('false', i)) i += 5;
    else if (text.startsWith('null', i)) i += 4;
    else {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) return i;
      i = NUMBER.lastIndex;
    }
    // after a value: close containers, or a ',' and the next value
    for (;;) {
      space();
      if (stack.length === 0) return i < n ? i : -1;
      const inObject = stack[stack.length - 1]!;
      const d = text.charAt(i);
      if (d === ',') {
        i++;
        if (inObject && !key()) return i;
        break;
      }
      if (d === (inObject ? '}' : ']')) {
        stack.pop();
        i++;
        continue;
      }
      return i;
    }
  }
}
