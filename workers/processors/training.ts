import { Job, Queue } from 'bullmq';
import { TicketflowConfig } from '../../shared/core/config/config';
import { SEARCH_QUEUE } from '../../shared/pipeline/stages/training/definition';
import { nodeOptions } from '../../shared/runtime/flow/build-flow';
import { SearchJobData, StageJobData, searchJobId } from '../../shared/runtime/flow/job-types';
import { StageContext } from '../../shared/pipeline/stages/context';
import {
  foldKey,
  readFoldResults,
  removeFoldFiles,
  summarizeSearch,
  writeSearchFile,
} from '../../shared/pipeline/stages/training/model-search';
import { describeCandidate, searchGrid } from '../../shared/pipeline/stages/training/search-grid';
import { TrainingResult } from '../../shared/pipeline/stages/training/training';
import { runLogged } from './stage-context';
import { failOnceIfAsked } from './fault-injection';
import { waitForChildren } from './fan-out';

/** Training's result, with the search's candidates and the winner (as in `search.json`). */
export type TrainingJobResult = TrainingResult;

/**
 * Stage 4 as a parent job in three steps, each ending by waiting for its child jobs on the search queue
 * (any worker may take them; the fitting runs in their sandboxes, so this job only plans and waits):
 * "search" adds one job per grid candidate and cross-validation fold; "refit" gathers their scores,
 * writes `search.json` with the winner and adds one job refitting it on the whole training split (it
 * writes model.json and metrics.json); "done" returns that job's result. Job ids are deterministic, so a
 * repeated step adds nothing twice.
 */
export function trainingProcessor(config: TicketflowConfig, searchQueue: Queue) {
  return async (job: Job<StageJobData>, token?: string, signal?: AbortSignal): Promise<TrainingJobResult> => {
    return runLogged(
      job,
      'training',
      async (ctx) => {
        const step = job.data.step ?? 'search';
        if (step === 'search') {
          // The stage's span begins here (its seconds cover the search and the refit), at the first attempt.
          const startedAt = job.data.startedAt ?? Date.now();
          await failOnceIfAsked(ctx, 'training');
          const grid = searchGrid(ctx.params);
          const folds = ctx.params.cvFolds;
          // Fold results an earlier generation of the run left in storage are not computed again.
          const done = await readFoldResults(ctx);
          const children = grid.flatMap((c) =>
            Array.from({ length: folds }, (_, fold) =>
              done.has(foldKey(c.id, fold))
                ? []
                : [child(config, job, { kind: 'cv', candidate: c.id, fold, child: c.id * folds + fold })],
            ).flat(),
          );
          ctx.log.info(
            `model search: ${grid.length} candidate(s) × ${folds} folds = ${grid.length * folds} jobs${done.size > 0 ? ` (${done.size} done by an earlier attempt)` : ''}: ${grid.map((c) => `${c.id}: ${describeCandidate(c)}`).join('; ')}`,
          );
          signal?.throwIfAborted();
          // Longest first (the grid lists longer n-grams and larger C later, and they take longest), so
          // the last jobs to finish are short ones and no worker idles long at the end of the search.
          if (children.length > 0) await searchQueue.addBulk([...children].reverse());
          await wait(job, token!, searchQueue, {
            step: 'refit',
            chunks: grid.length * folds,
            reusedChunks: done.size,
            startedAt,
          });
        }
        if (job.data.step === 'refit') {
          const search = summarizeSearch(ctx.params, [...(await readFoldResults(ctx)).values()]);
          await writeSearchFile(ctx, search);
          const best = search.candidates.find((c) => c.winner)!;
          ctx.log.info(
            `search winner: candidate ${best.id} ${describeCandidate(best)}, CV ${search.score} ${best.meanScore.toFixed(4)} ± ${best.stdScore.toFixed(4)}`,
          );
          const n = job.data.chunks ?? 0;
          // `chunks` counts every CV job id (reused ones too): the refit's is the next.
          signal?.throwIfAborted();
          await searchQueue.addBulk([
            child(config, job, { kind: 'refit', candidate: best.id, fold: null, child: n }),
          ]);
          await wait(job, token!, searchQueue, { step: 'done', chunks: n + 1 });
        }
        return done(ctx, job);
      },
      signal,
    );
  };
}

function child(
  config: TicketflowConfig,
  job: Job<StageJobData>,
  what: Pick<SearchJobData, 'kind' | 'candidate' | 'fold' | 'child'>,
) {
  const { runId, generation, tags, params, artifacts, datasetSha256, codeVersion } = job.data;
  const data: SearchJobData = {
    runId,
    generation,
    stage: 'training',
    ...what,
    tags,
    params,
    artifacts,
    datasetSha256,
    codeVersion,
  };
  const id = searchJobId(runId, what.child, generation);
  const parent = { id: job.id!, queue: job.queueQualifiedName };
  return { name: SEARCH_QUEUE, data, opts: { ...nodeOptions(config, id, true), parent } };
}

async function wait(
  job: Job<StageJobData>,
  token: string,
  searchQueue: Queue,
  next: Partial<StageJobData>,
): Promise<void> {
  await job.updateData({ ...job.data, ...next });
  await waitForChildren(job, token, searchQueue);
}

/**
 * The refit's result: its return value, among the children's (the CV jobs return fold results, which the
 * refit step read from storage).
 */
async function refitResult(job: Job<StageJobData>): Promise<TrainingResult | undefined> {
  const values = Object.values(await job.getChildrenValues<unknown>());
  return values.find((v): v is TrainingResult => typeof v === 'object' && v !== null && 'metrics' in v);
}

async function done(ctx: StageContext, job: Job<StageJobData>): Promise<TrainingJobResult> {
  const result = await refitResult(job);
  if (!result) throw new Error(`training job ${job.id} reached its last step without the refit's result`);
  await removeFoldFiles(ctx);
  ctx.log.info(`test accuracy ${result.metrics.test.accuracy.toFixed(4)}`);
  return result;
}
