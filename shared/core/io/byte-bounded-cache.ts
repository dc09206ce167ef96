/** What a ByteBoundedCache holds at most, and when it gives its memory back. */
export interface ByteBoundedCacheOptions {
  /** the entries' bytes together stay at or below this; an entry larger than it is not kept */
  maxBytes: number;
  /** after this long with no get or set, every entry is dropped (0: never) */
  idleMs: number;
  /** called after an idle drop, e.g. to have the runtime collect what the entries held */
  onIdleRelease?: () => void;
}

/**
 * Values by key, each with a tag (what the value was made from: a stale tag is a miss) and its size in
 * bytes; least recently used first out when the bytes go over maxBytes. A process that holds such a
 * cache for one phase of its work (a stage's rounds) would otherwise keep it for as long as it lives, next
 * to whatever runs after; the idle drop gives the memory back once the phase is over. The idle timer does
 * not keep the process alive.
 */
export class ByteBoundedCache<V> {
  private readonly entries = new Map<string, { tag: string; value: V; bytes: number }>();
  private heldBytes = 0;
  private lastUse = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: ByteBoundedCacheOptions) {}

  /** The value kept for `key` when it was kept with this tag; a value with another tag is dropped. */
  get(key: string, tag: string | undefined): V | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    this.entries.delete(key);
    this.heldBytes -= hit.bytes;
    if (tag === undefined || hit.tag !== tag) return undefined;
    this.entries.set(key, hit);
    this.heldBytes += hit.bytes;
    this.touch();
    return hit.value;
  }

  /** Keeps `value` (replacing what `key` held), then drops the least recently used over the bound. */
  set(key: string, tag: string, value: V, bytes: number): void {
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.heldBytes -= old.bytes;
    }
    if (bytes > this.opts.maxBytes) return;
    this.entries.set(key, { tag, value, bytes });
    this.heldBytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.heldBytes <= this.opts.maxBytes) break;
      this.entries.delete(oldest);
      this.heldBytes -= entry.bytes;
    }
    this.touch();
  }

  /** How many entries and bytes it holds now. */
  held(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.heldBytes };
  }

  clear(): void {
    this.entries.clear();
    this.heldBytes = 0;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private touch(): void {
    this.lastUse = Date.now();
    if (this.timer === null && this.opts.idleMs > 0) this.arm(this.opts.idleMs);
  }

  /** One timer at a time, re-armed for the rest of the idle time when there was a use since it was set. */
  private arm(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      const idle = Date.now() - this.lastUse;
      if (idle < this.opts.idleMs) return this.arm(this.opts.idleMs - idle);
      if (this.entries.size === 0) return;
      this.clear();
      this.opts.onIdleRelease?.();
    }, ms);
    this.timer.unref();
  }
}
