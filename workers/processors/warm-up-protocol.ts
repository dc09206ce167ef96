/**
 * The messages by which a worker asks a sandbox it forked to warm up (shared/pipeline/warm-up.ts) and
 * hears back, on the IPC channel BullMQ opened to it. BullMQ's own messages carry a numeric `cmd`; these
 * carry strings, which its handlers on either side pass over.
 */
import type { WarmUpKind } from '../../shared/pipeline/stages/stage-definition';

export const WARM_UP_REQUEST = 'ticketflow:warm-up';
export const WARM_UP_DONE = 'ticketflow:warmed-up';

export interface WarmUpRequest {
  cmd: typeof WARM_UP_REQUEST;
  kind: WarmUpKind;
}

export function isWarmUpRequest(msg: unknown): msg is WarmUpRequest {
  return typeof msg === 'object' && msg !== null && (msg as { cmd?: unknown }).cmd === WARM_UP_REQUEST;
}

export interface WarmUpReply {
  cmd: typeof WARM_UP_DONE;
  /** tickets the warm-up ran on (0: no sample to run on) */
  tickets: number;
  seconds: number;
  /** why it failed; the sandbox serves jobs all the same */
  error: string | null;
}

export function isWarmUpReply(msg: unknown): msg is WarmUpReply {
  return typeof msg === 'object' && msg !== null && (msg as { cmd?: unknown }).cmd === WARM_UP_DONE;
}
