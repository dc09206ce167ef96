import { warmUp } from '../../../shared/pipeline/warm-up';
import { WARM_UP_DONE, WarmUpReply, isWarmUpRequest } from '../warm-up-protocol';

/**
 * Imported by a sandbox whose queue names a warm-up (its ProcessorSpec's `warmUp`): runs it when the worker
 * that forked this sandbox asks (once, before the sandbox's first job) and says how it went. A failed
 * warm-up only costs the time: jobs run as they would cold.
 */
process.on('message', (msg: unknown) => {
  if (!isWarmUpRequest(msg)) return;
  const start = performance.now();
  const reply = (tickets: number, error: string | null) => {
    const message: WarmUpReply = {
      cmd: WARM_UP_DONE,
      tickets,
      seconds: Math.round(performance.now() - start) / 1000,
      error,
    };
    process.send?.(message);
  };
  warmUp(msg.kind).then(
    (r) => reply(r.tickets, null),
    (err: Error) => reply(0, err.message ?? String(err)),
  );
});
