import { Redis } from 'ioredis';
import { RunKeys } from './keys';

/**
 * Wakes whoever follows a run when its record is written: RunStore.index publishes the run's id on
 * `keys.recordChannel` with every write. A follower reads the record when it changed instead of polling
 * it many times a second (each read is a file and Redis's work, on the cores the run's workers use), and
 * still reads it every `maxWaitMs` in case a message was missed (a reconnect drops what was published
 * meanwhile) or no worker writes the record any more.
 */
export class RecordChanges {
  /** written since the last wait returned: the next one returns at once */
  private written = false;
  private wake: (() => void) | null = null;

  private constructor(
    private readonly subscriber: Redis,
    private readonly runId: string,
  ) {
    subscriber.on('message', (_channel: string, id: string) => {
      if (id !== runId) return;
      if (this.wake) this.wake();
      else this.written = true;
    });
  }

  /** Follows `runId`'s writes on a connection of its own (a subscribed connection takes no other command). */
  static async open(redis: Redis, keys: RunKeys, runId: string): Promise<RecordChanges> {
    const subscriber = redis.duplicate();
    subscriber.on('error', () => undefined);
    try {
      await subscriber.subscribe(keys.recordChannel);
    } catch (err) {
      subscriber.disconnect();
      throw err;
    }
    return new RecordChanges(subscriber, runId);
  }

  /**
   * Resolves when the run's record is written (at once if it was since the last wait returned), or after
   * `maxWaitMs`: `true` when a write woke it. One wait at a time.
   */
  next(maxWaitMs: number): Promise<boolean> {
    if (this.wake) throw new Error(`run ${this.runId}: already waiting for its record to change`);
    if (this.written) {
      this.written = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const done = (woken: boolean) => {
        clearTimeout(timer);
        this.wake = null;
        resolve(woken);
      };
      const timer = setTimeout(() => done(false), maxWaitMs);
      this.wake = () => done(true);
    });
  }

  close(): void {
    this.subscriber.disconnect();
  }
}
