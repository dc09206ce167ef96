import { createLogger, Logger } from '../../core/logger';
import { RunsContext } from './context';

let defaultLog: Logger | undefined;

/**
 * Run the context's run-finished hooks for `runId`, one after another. A hook's failure never fails the
 * run nor the caller (the record is already final): it is logged with the run and the hook that failed,
 * and the next hook still runs.
 */
export async function runFinished(
  ctx: RunsContext,
  runId: string,
  log: Pick<Logger, 'warn'> = (defaultLog ??= createLogger(ctx.config.logLevel, { component: 'runs' })),
): Promise<void> {
  for (const hook of ctx.onRunFinished) {
    try {
      await hook(ctx, runId);
    } catch (err) {
      log.warn(
        `run ${runId}: the run-finished hook ${hook.name || '(anonymous)'} failed: ${(err as Error)?.message ?? String(err)}`,
      );
    }
  }
}
