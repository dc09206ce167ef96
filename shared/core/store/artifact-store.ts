import type { Readable } from 'node:stream';

/**
 * Where runs and classifications keep their artifacts: one interface, a local-folder backend and an S3
 * backend (open-store.ts picks one from TICKETFLOW_STORAGE_URL). Keys are relative, "/"-separated paths
 * (`runs/<runId>/model.json`); checkKey says which are allowed.
 *
 * Every put is atomic: a reader sees the whole object or none (a temporary name and a rename locally, one
 * PUT or a completed multipart upload on S3).
 */
export interface ArtifactStore {
  /** The store's location for messages: `file:///var/lib/ticketflow` or `s3://bucket/prefix`. */
  readonly url: string;
  /** Puts a whole object. */
  put(key: string, data: string | Uint8Array): Promise<void>;
  /** Puts `value` as indented JSON with a final newline. */
  putJson(key: string, value: unknown): Promise<void>;
  /** The whole object; ArtifactNotFound when there is none. */
  get(key: string): Promise<Buffer>;
  /** The object parsed as JSON; ArtifactNotFound when there is none. */
  getJson<T>(key: string): Promise<T>;
  /**
   * Size, a content tag (mtime-based locally, the ETag on S3) and when it was written, or undefined when
   * there is no object.
   */
  stat(key: string): Promise<ArtifactStat | undefined>;
  /**
   * A stream of the object's bytes, or of bytes `range.start` to `range.end` (inclusive, like HTTP's
   * `bytes=start-end`); ArtifactNotFound when there is none.
   */
  openRead(key: string, range?: ByteRange): Promise<Readable>;
  /**
   * Bytes `range.start` to `range.end` (inclusive) in one buffer; ArtifactNotFound when there is no
   * object, an error when it ends before `range.end`. An empty range (end before start) is no bytes.
   */
  getRange(key: string, range: ByteRange): Promise<Buffer>;
  /** An object written piece by piece, visible only once committed. */
  openWriter(key: string): Promise<ArtifactWriter>;
  /** Every object whose key starts with `prefix`, sorted by key (temporary objects excluded). */
  list(prefix: string): Promise<ArtifactEntry[]>;
  /** Removes one object; no error when there is none. */
  remove(key: string): Promise<void>;
  /** Removes every object whose key starts with `prefix` (a folder: end it with "/"). */
  removePrefix(prefix: string): Promise<void>;
  /**
   * Removes what writes cut short (a killed process) left under `prefix` — temporary files locally,
   * incomplete multipart uploads on S3 — and returns how many. Never visible as objects, they only take
   * space. Only for a prefix no write is under way in (e.g. a run whose jobs have all ended).
   */
  removeAbandonedWrites(prefix: string): Promise<number>;
  /** Copies an object cheaply: a hard link locally, a server-side copy on S3. */
  copy(from: string, to: string): Promise<void>;
  /**
   * Where an object (or a folder prefix, "…/") is, for messages and people: a file's path on the local
   * backend, the object's URL (`s3://bucket/prefix/key`) on S3.
   */
  locate(key: string): string;
  /** Checks that the store can be reached and written, for start-up and /readyz; throws saying why not. */
  check(): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;

  // What only some backends can do; callers ask for it and do without.

  /** The object's path on this machine, where objects are files (a reader may hand it to a thread). */
  localPath?(key: string): string;
  /** Writes by several processes into one object at once, where the backend can (PlacedWrites). */
  readonly placed?: PlacedWrites;
  /** Appends to an object in place (not atomic: for logs only), where the backend can. */
  append?(key: string, data: string | Uint8Array): Promise<void>;
  /**
   * For a backend whose removePrefix renames a folder away before removing it: names of the folders under
   * `parent` whose removal was cut short, and finishing those of folder `prefix`.
   */
  cutShortRemovals?(parent: string): Promise<string[]>;
  finishRemovals?(prefix: string): Promise<void>;
}

/**
 * An object of a size known in advance whose pieces several processes write at once, and that becomes
 * visible only when completed, whole: `start` returns the upload's name, which any process of the
 * deployment passes to `write`. Pieces are numbered from 0 in the order of their offsets and together
 * cover the object; every piece but the last holds at least `minPieceBytes`. A file in a shared folder
 * writes each piece at its offset; S3 uploads each as a part of a multipart upload.
 */
export interface PlacedWrites {
  /** Bytes every piece but the last must hold at least (S3's multipart parts: 5 MiB); 0: any. */
  readonly minPieceBytes: number;
  /** Begins an object of `size` bytes under `key`, invisible until completed; returns the upload's name. */
  start(key: string, size: number): Promise<string>;
  /**
   * Writes piece `piece.index`, `data`, at byte `piece.offset` of the upload; returns what completing the
   * upload needs of it (its receipt). Fails, writing nothing, past the upload's size where that is known.
   */
  write(
    key: string,
    upload: string,
    piece: { index: number; offset: number },
    data: Uint8Array,
  ): Promise<string>;
  /** Makes the object visible, whole, from its pieces' receipts in piece order. */
  complete(key: string, upload: string, receipts: readonly string[]): Promise<void>;
  /** Drops the upload; nothing becomes visible. No error when it is gone. */
  abort(key: string, upload: string): Promise<void>;
}

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

export interface ArtifactStat {
  size: number;
  tag: string;
  /** when the object was last written (the file's mtime, the object's Last-Modified) */
  modifiedAt: Date;
}

export interface ArtifactEntry {
  key: string;
  size: number;
}

/** A streamed object: `write` may return a promise (await it for back-pressure). */
export interface ArtifactWriter {
  write(chunk: string | Uint8Array): void | Promise<void>;
  /** Makes the object visible, whole. */
  commit(): Promise<void>;
  /** Drops what was written; nothing becomes visible. */
  abort(): Promise<void>;
}

/** No object under the key. */
export class ArtifactNotFound extends Error {
  override readonly name = 'ArtifactNotFound';
  constructor(
    readonly store: string,
    readonly key: string,
  ) {
    super(`no artifact ${key} in ${store}`);
  }
}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.=-]*$/;

/**
 * A key is one or more "/"-separated segments of letters, digits, "_", "-", "." and "=", none starting with
 * "." (no "..", no hidden or temporary names) — so a key can never leave its store or collide with a
 * backend's temporary objects. A prefix may end with "/".
 */
export function checkKey(key: string, what: 'key' | 'prefix' = 'key'): string {
  const body = what === 'prefix' && key.endsWith('/') ? key.slice(0, -1) : key;
  if (what === 'prefix' && body === '') return key;
  if (key.length > 1024 || !body.split('/').every((s) => SEGMENT.test(s)))
    throw new RangeError(
      `artifact ${what} "${key}": "/"-separated names of letters, digits, "_", "-", "." and "=", none starting with "."`,
    );
  return key;
}

/** JSON as every artifact store writes it. */
export function jsonBytes(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/** The error of a ranged read of an object that ends before the range does. */
export function shortRange(where: string, range: ByteRange, got: number): Error {
  return new Error(
    `${where}: bytes ${range.start}–${range.end} asked, ${got} read: it is shorter than its reader expects; rerun the stage that wrote it`,
  );
}
