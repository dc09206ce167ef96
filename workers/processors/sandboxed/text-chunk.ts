import './die-with-worker';
import './open-store-early';
import {
  processChunk,
  warmUpNounExtractor,
} from '../../../shared/pipeline/stages/text-processing/process-chunk';
import { ChunkJobData, ChunkJobResult } from '../../../shared/runtime/flow/job-types';
import { ProcessorJob, processConfig, runLogged } from '../stage-context';
import { openJobDataset } from '../dataset-path';
import { failOnceIfAsked } from '../fault-injection';
import { sameBuild } from '../same-build';
import { checkChunkDataset, checkUnchanged } from '../../../shared/core/dataset/verify-dataset';
import { collectWhenIdle } from './collect-when-idle';

warmUpNounExtractor();

/** Sandboxed: tokenising and tagging is the CPU-heavy part of stage 1. */
async function textChunk(job: ProcessorJob<ChunkJobData>): Promise<ChunkJobResult> {
  return runLogged(job, `text-processing/chunk-${job.data.chunk}`, async (stageCtx) => {
    const { chunk, dataset, format, range, datasetCheck } = job.data;
    const ctx = { ...stageCtx, code: sameBuild('text-processing', job.data.code, `chunk ${chunk}`) };
    await failOnceIfAsked(ctx, 'text-chunks');
    const file = await openJobDataset(processConfig(), dataset);
    try {
      // The file must still hold the bytes stage 1 verified, before and after this range is read.
      const identity = await checkChunkDataset(file, datasetCheck);
      const afterRead = () => checkUnchanged(file, datasetCheck, identity);
      return await processChunk(ctx, { chunk, file, format, range, afterRead });
    } finally {
      await file.close();
    }
  });
}

export default collectWhenIdle(textChunk);
