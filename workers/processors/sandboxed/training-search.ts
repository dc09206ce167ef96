import './die-with-worker';
import './open-store-early';
import { runRefit, TrainingResult } from '../../../shared/pipeline/stages/training/training';
import { searchGrid } from '../../../shared/pipeline/stages/training/search-grid';
import { FoldResult, runCvFold } from '../../../shared/pipeline/stages/training/model-search';
import { RefitPartResult, runRefitPart } from '../../../shared/pipeline/stages/training/refit-parts';
import {
  RefitFitResult,
  runRefitFit,
  scoreStoredRefit,
} from '../../../shared/pipeline/stages/training/refit-fit';
import { SearchJobData } from '../../../shared/runtime/flow/job-types';
import { ProcessorJob, runLogged } from '../stage-context';
import { failOnceIfAsked } from '../fault-injection';
import { sameBuild } from '../same-build';
import { collectWhenIdle } from './collect-when-idle';

/**
 * Sandboxed: fitting a candidate on a fold, the winner on the training split (whole, or its fit and then
 * its scoring), or one problem (class) of a winner refitted in parts, is CPU-bound.
 */
async function trainingSearch(
  job: ProcessorJob<SearchJobData>,
): Promise<FoldResult | TrainingResult | RefitFitResult | RefitPartResult> {
  const { kind, candidate, fold, problem } = job.data;
  const name =
    kind === 'refit'
      ? 'training/refit'
      : kind === 'refit-fit'
        ? 'training/refit-fit'
        : kind === 'refit-part'
          ? `training/refit-part-${problem}`
          : `training/search-${candidate}-fold-${fold}`;
  return runLogged(job, name, async (stageCtx) => {
    const ctx = { ...stageCtx, code: sameBuild('training', job.data.code, name) };
    await failOnceIfAsked(ctx, 'training-search');
    if (kind === 'refit' || kind === 'refit-fit' || kind === 'refit-part') {
      // The parent names the winner: metrics.json, with the search's summary, is the parent's to write.
      const winner = searchGrid(ctx.params)[candidate];
      if (!winner)
        throw new Error(`search job ${job.id} refits candidate ${candidate}, not in this run's grid`);
      if (kind === 'refit') {
        await failOnceIfAsked(ctx, 'training-refit');
        if (job.data.fitted) return scoreStoredRefit(ctx, winner);
        return runRefit(ctx, winner, job.data.parts ?? null);
      }
      if (kind === 'refit-fit') return runRefitFit(ctx, winner);
      if (problem === undefined) throw new Error(`search job ${job.id} of kind "refit-part" has no problem`);
      return runRefitPart(ctx, winner, problem);
    }
    if (fold === null) throw new Error(`search job ${job.id} of kind "cv" has no fold`);
    return runCvFold(ctx, candidate, fold);
  });
}

export default collectWhenIdle(trainingSearch);
