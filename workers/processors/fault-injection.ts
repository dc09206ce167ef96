import { randomBytes } from 'node:crypto';
import { BadInputError } from '../../shared/core/errors';
import { StageContext, artifactKey } from '../../shared/pipeline/stages/context';

/**
 * Fault drill: `TICKETFLOW_FAIL_ONCE=feature-extraction,text-chunks:permanent` makes the first attempt of
 * those stages (or of the first chunk job to start) fail once per run — a marker in the run's store
 * remembers it across processes and retries. A plain entry fails transiently (the retry policy takes
 * over); `:permanent` fails for good, like bad input, so the run fails and can be retried from the stage.
 * Off unless the variable is set.
 */
export async function failOnceIfAsked(ctx: StageContext, stage: string): Promise<void> {
  const wanted = (process.env.TICKETFLOW_FAIL_ONCE ?? '').split(',').map((s) => s.trim());
  const permanent = wanted.includes(`${stage}:permanent`);
  if (!permanent && !wanted.includes(stage)) return;
  if (!(await claimFirst(ctx, stage))) return; // already failed once for this run
  if (permanent)
    throw new BadInputError(`injected permanent failure of ${stage} (TICKETFLOW_FAIL_ONCE): retry the run`);
  throw new Error(`injected transient failure of ${stage} (TICKETFLOW_FAIL_ONCE); the retry should succeed`);
}

/**
 * Whether this attempt is the first of the run's to reach the drill for `stage`, among attempts running
 * at once in other processes too. A store has no create-if-absent, so each contender puts a claim named
 * by its time and a random tag and the earliest claim listed wins; an attempt that finds a claim already
 * there puts none.
 */
async function claimFirst(ctx: StageContext, stage: string): Promise<boolean> {
  const prefix = artifactKey(ctx, `faults/${stage}.failed-once.`);
  if ((await ctx.store.list(prefix)).length > 0) return false;
  const mine = `${prefix}${String(Date.now()).padStart(15, '0')}.${randomBytes(6).toString('hex')}`;
  await ctx.store.put(mine, new Date().toISOString());
  return (await ctx.store.list(prefix))[0]?.key === mine;
}
