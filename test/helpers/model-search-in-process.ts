import { StageContext } from '../../shared/pipeline/stages/context';
import {
  FoldResult,
  removeFoldFiles,
  runCvFold,
  summarizeSearch,
  writeSearchFile,
} from '../../shared/pipeline/stages/training/model-search';
import { searchGrid } from '../../shared/pipeline/stages/training/search-grid';
import { runTraining, TrainingResult } from '../../shared/pipeline/stages/training/training';

/**
 * The whole search in this process, one fit after another, and the refit of the winner: what the
 * training job spreads over the workers as child jobs, for callers without a queue (tests, tools).
 */
export async function runModelSearchInProcess(ctx: StageContext): Promise<TrainingResult> {
  const results: FoldResult[] = [];
  for (const c of searchGrid(ctx.params))
    for (let fold = 0; fold < ctx.params.cvFolds; fold++) results.push(await runCvFold(ctx, c.id, fold));
  await writeSearchFile(ctx, summarizeSearch(ctx.params, results));
  const trained = await runTraining(ctx);
  await removeFoldFiles(ctx);
  return trained;
}
