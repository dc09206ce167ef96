import fsp from 'node:fs/promises';
import path from 'node:path';
import { BadInputError } from '../../shared/core/errors';
import { StageContext, artifactPath } from '../../shared/pipeline/stages/context';

/**
 * Fault drill: `TICKETFLOW_FAIL_ONCE=feature-extraction,text-chunks:permanent` makes the first attempt of
 * those stages (or of the first chunk job to start) fail once per run — a marker file in the run's folder
 * remembers it across processes and retries. A plain entry fails transiently (the retry policy takes
 * over); `:permanent` fails for good, like bad input, so the run fails and can be retried from the stage.
 * Off unless the variable is set.
 */
export async function failOnceIfAsked(ctx: StageContext, stage: string): Promise<void> {
  const wanted = (process.env.TICKETFLOW_FAIL_ONCE ?? '').split(',').map((s) => s.trim());
  const permanent = wanted.includes(`${stage}:permanent`);
  if (!permanent && !wanted.includes(stage)) return;
  const marker = path.join(artifactPath(ctx, 'faults'), `${stage}.failed-once`);
  await fsp.mkdir(path.dirname(marker), { recursive: true });
  try {
    await fsp.writeFile(marker, new Date().toISOString(), { flag: 'wx' });
  } catch {
    return; // already failed once for this run
  }
  if (permanent)
    throw new BadInputError(`injected permanent failure of ${stage} (TICKETFLOW_FAIL_ONCE): retry the run`);
  throw new Error(`injected transient failure of ${stage} (TICKETFLOW_FAIL_ONCE); the retry should succeed`);
}
