import './die-with-worker';
import { processChunk, warmUpNounExtractor } from '../../../shared/stages/text-processing/process-chunk';
import { ChunkJobData, ChunkJobResult } from '../../../shared/flow/job-types';
import { ProcessorJob, processConfig, runLogged } from '../stage-context';
import { openJobDataset } from '../dataset-path';
import { failOnceIfAsked } from '../fault-injection';

warmUpNounExtractor();

/** Sandboxed: tokenising and tagging is the CPU-heavy part of stage 1. */
export default async function textChunk(job: ProcessorJob<ChunkJobData>): Promise<ChunkJobResult> {
  return runLogged(job, `text-processing/chunk-${job.data.chunk}`, async (ctx) => {
    await failOnceIfAsked(ctx, 'text-chunks');
    const { chunk, dataset, format, range } = job.data;
    const file = await openJobDataset(processConfig(), dataset);
    try {
      return await processChunk(ctx, { chunk, file, format, range });
    } finally {
      await file.close();
    }
  });
}
