import fsp from 'node:fs/promises';
import path from 'node:path';
import { StageContext, artifactPath } from '../../shared/stages/context';

/**
 * Fault drill: `TICKETFLOW_FAIL_ONCE=feature-extraction,text-chunks` makes the first attempt of those
 * stages fail with a transient error, once per run (a marker file in the run's folder remembers it across
 * processes), so the retry policy can be exercised against real workers. Off unless the variable is set.
 */
export async function failOnceIfAsked(ctx: StageContext, stage: string): Promise<void> {
  const wanted = (process.env.TICKETFLOW_FAIL_ONCE ?? '').split(',').map((s) => s.trim());
  if (!wanted.includes(stage)) return;
  const marker = path.join(artifactPath(ctx, 'faults'), `${stage}.failed-once`);
  await fsp.mkdir(path.dirname(marker), { recursive: true });
  try {
    await fsp.writeFile(marker, new Date().toISOString(), { flag: 'wx' });
  } catch {
    return; // already failed once for this run
  }
  throw new Error(`injected transient failure of ${stage} (TICKETFLOW_FAIL_ONCE); the retry should succeed`);
}
