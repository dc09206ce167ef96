import { WARM_UP_DONE, WarmUpReply, isWarmUpRequest } from './warm-up-protocol';

/**
 * Preloaded into every sandbox (`node --require`, start-workers.ts): runs the warm-up its queue names (its
 * ProcessorSpec's `warmUp`) when the worker that forked it asks (once, before the sandbox's first job) and
 * says how it went. A failed warm-up only costs the time: jobs run as they would cold. Preloaded rather
 * than imported by the processor files, whose import closures are their stages' code identities: the
 * warm-up reaches every stage's code, which a stage's results do not depend on.
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
  // Loaded on request: the stage code it runs is the processor's own, from the same module cache.
  import('../../shared/pipeline/warm-up')
    .then(({ warmUp }) => warmUp(msg.kind))
    .then(async (r) => {
      // The code identities its child jobs are checked against (same-build.ts): ~10 ms a stage, hashed
      // here rather than during the sandbox's first job, for the stages whose children warm up this way.
      const [{ STAGES, childrenOf }, { stageCodeIdentity }] = await Promise.all([
        import('../../shared/pipeline/stages/definitions'),
        import('../../shared/runtime/runs/code-identity'),
      ]);
      for (const stage of STAGES) {
        const processor = childrenOf(stage)?.processor;
        if (processor && 'warmUp' in processor && processor.warmUp === msg.kind) stageCodeIdentity(stage);
      }
      return r;
    })
    .then(
      (r) => reply(r.tickets, null),
      (err: Error) => reply(0, err.message ?? String(err)),
    );
});
