import { TicketflowConfig } from '../../core/config/config';
import { openStore } from '../../core/store/open-store';

/**
 * Fail at start, naming the store and why, rather than on every job or request: the artifact store
 * (TICKETFLOW_STORAGE_URL, or TICKETFLOW_STORAGE_DIR) must be reachable and writable.
 */
export async function checkArtifactStore(config: TicketflowConfig): Promise<void> {
  const store = openStore(config.storage);
  try {
    await store.check();
  } catch (err) {
    const setting = config.storage.kind === 'file' ? 'TICKETFLOW_STORAGE_DIR' : 'TICKETFLOW_STORAGE_URL';
    throw new Error(`storage ${store.url} (${setting}) cannot be used: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    await store.close();
  }
}
