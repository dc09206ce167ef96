import { ArtifactStore } from '../../shared/core/store/artifact-store';
import type { StoreLocation } from '../../shared/core/store/store-location';
import { probeStore, StoreHealth, storeFailure } from '../../shared/runtime/runs/check-store';

/** A check that takes longer counts as an unreachable store: below REDIS_DEADLINE_MS, so /readyz answers. */
export const STORE_CHECK_MS = 1500;
/** A healthy answer is reused this long: a burst of submissions checks the store once. */
const HEALTHY_FOR_MS = 5000;
/** A failure is reused only briefly: a store that is back is seen within a second. */
const FAILING_FOR_MS = 1000;

/**
 * The artifact store's health for /readyz and for the routes that write to it (POST /runs,
 * POST /classifications answer 503 rather than accept what cannot be stored). One check at a time,
 * its answer reused for a few seconds.
 */
export class StoreHealthCheck {
  private last: { health: StoreHealth; until: number } | undefined;
  private running: Promise<StoreHealth> | undefined;

  constructor(
    private readonly store: ArtifactStore,
    private readonly location: StoreLocation,
  ) {}

  health(): Promise<StoreHealth> {
    if (this.last !== undefined && Date.now() < this.last.until) return Promise.resolve(this.last.health);
    this.running ??= probeStore(this.store, this.location, STORE_CHECK_MS).then((health) => {
      const ttl = health.state === 'ok' ? HEALTHY_FOR_MS : FAILING_FOR_MS;
      this.last = { health, until: Date.now() + ttl };
      this.running = undefined;
      return health;
    });
    return this.running;
  }

  /**
   * The 503 message when a remote store cannot be used (unreachable, refused credentials, no bucket), else
   * null. A local folder is not refused here: one that refuses a write (full, read-only) fails the
   * submission at once, rolled back, with a 507 naming the file.
   */
  async problem(): Promise<string | null> {
    if (this.location.kind === 'file') return null;
    const health = await this.health();
    return health.problem === undefined ? null : `${health.problem}; try again once it is back`;
  }

  /**
   * The 503 message when `err`, thrown by a request that passed problem(), says a remote store went since
   * the last check (in practice unreachable: handlers answer the store's refusals, StorageErrors, with 507),
   * else null. The next request checks the store afresh.
   */
  failed(err: unknown): string | null {
    if (this.location.kind === 'file') return null;
    const health = storeFailure(this.store, this.location, err);
    if (health.state === 'failing') return null;
    this.last = undefined;
    return `${health.problem}; try again once it is back`;
  }
}
