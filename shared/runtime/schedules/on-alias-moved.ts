import { emitModelPromoted } from '../events/webhook-events';
import { RunsContext } from '../runs/context';
import { PromotionDecision } from '../runs/record';

/** An alias the promotion gate moved to a run's model. */
export interface AliasMovedEvent {
  alias: string;
  /** the run the alias names now */
  run: string;
  /** the run it named before; null when it named none */
  previous: string | null;
  decision: PromotionDecision;
}

/**
 * Called once each time the promotion gate moves an alias (promotion-gate.ts is its only caller): emits
 * the `model.promoted` webhook event.
 */
export async function onAliasMoved(ctx: RunsContext, event: AliasMovedEvent): Promise<void> {
  await emitModelPromoted(ctx, { alias: event.alias, run: event.run, previous: event.previous });
}
