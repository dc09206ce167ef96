import type { ArtifactStore } from '../store/artifact-store';

/**
 * `jsonBytes(value)` (JSON.stringify with a two-space indent, then a newline) written in pieces, for a
 * value whose text would not fit in one string: V8's longest string is 536,870,888 characters, and a
 * category model over ~2.9M terms (184 bytes a term) is longer. The bytes are the same as one
 * JSON.stringify's; only lists of many entries are cut, each piece a batch of their entries.
 */

/** Entries of a list written by one JSON.stringify: a few MB of text for numbers or short strings. */
const BATCH = 16_384;
/** Characters gathered before a piece is handed on. */
const PIECE_CHARS = 1 << 20;

/** The pieces of `JSON.stringify(value, null, 2) + '\n'`, in order, each at most a few MB. */
export function* jsonPieces(value: unknown): Generator<string> {
  let text = '';
  for (const part of valuePieces(toJsonValue(value, ''), '')) {
    text += part;
    if (text.length >= PIECE_CHARS) {
      yield text;
      text = '';
    }
  }
  yield text + '\n';
}

/** `v` (toJSON already applied) as JSON.stringify writes it at indentation `pad`. */
function* valuePieces(v: unknown, pad: string): Generator<string> {
  if (Array.isArray(v) && (v.length > BATCH || v.some((e) => isContainer(toJsonValue(e, '')))))
    yield* arrayPieces(v, pad);
  else if (isContainer(v) && !Array.isArray(v)) yield* objectPieces(v as Record<string, unknown>, pad);
  else {
    // One JSON.stringify, indented to this depth (a string holds no raw newline: JSON escapes it).
    const text = JSON.stringify(v, null, 2) as string | undefined;
    yield text === undefined ? 'null' : text.replace(/\n/g, `\n${pad}`);
  }
}

function* arrayPieces(list: readonly unknown[], pad: string): Generator<string> {
  const inner = `${pad}  `;
  yield '[';
  for (let start = 0; start < list.length; start += BATCH) {
    const batch = list.slice(start, start + BATCH);
    const sep = start === 0 ? '\n' : ',\n';
    if (!batch.some((e) => isContainer(toJsonValue(e, '')))) {
      // Scalars: one JSON.stringify of the batch, without its brackets ("[\n" and "\n]"), one level deeper.
      const text = JSON.stringify(batch, null, 2);
      yield `${sep}${pad}${text.slice(2, -2).replace(/\n/g, `\n${pad}`)}`;
      continue;
    }
    for (let i = 0; i < batch.length; i++) {
      yield `${i === 0 ? sep : ',\n'}${inner}`;
      yield* valuePieces(toJsonValue(batch[i], String(start + i)), inner);
    }
  }
  yield `\n${pad}]`;
}

function* objectPieces(object: Record<string, unknown>, pad: string): Generator<string> {
  const inner = `${pad}  `;
  let fields = 0;
  for (const key of Object.keys(object)) {
    const v = toJsonValue(object[key], key);
    // What JSON.stringify leaves out of an object.
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    yield `${fields++ === 0 ? '{\n' : ',\n'}${inner}${JSON.stringify(key)}: `;
    yield* valuePieces(v, inner);
  }
  yield fields === 0 ? '{}' : `\n${pad}}`;
}

/** What JSON.stringify writes in `value`'s place: its toJSON's result when it has one. */
function toJsonValue(value: unknown, key: string): unknown {
  const toJSON = (value as { toJSON?: unknown } | null | undefined)?.toJSON;
  return typeof value === 'object' && value !== null && typeof toJSON === 'function'
    ? (toJSON as (key: string) => unknown).call(value, key)
    : value;
}

/** An array or object JSON.stringify writes as one (a boxed number, string or boolean it unboxes). */
function isContainer(v: unknown): boolean {
  return (
    typeof v === 'object' &&
    v !== null &&
    !(v instanceof Number) &&
    !(v instanceof String) &&
    !(v instanceof Boolean)
  );
}

/** Writes `value` as `jsonBytes` would, in pieces (jsonPieces): visible whole once written, or not at all. */
export async function putJsonInPieces(store: ArtifactStore, key: string, value: unknown): Promise<void> {
  const out = await store.openWriter(key);
  try {
    for (const piece of jsonPieces(value)) await out.write(piece);
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
}
