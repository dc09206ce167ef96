import './die-with-worker';
import './open-store-early';
import { runTransformSplit } from '../../../shared/pipeline/stages/transform-split/transform-split';
import { StageJobData } from '../../../shared/runtime/flow/job-types';
import { ProcessorJob, runLogged } from '../stage-context';
import { failOnceIfAsked } from '../fault-injection';

export default async function transformSplit(job: ProcessorJob<StageJobData>) {
  return runLogged(job, 'transform-split', async (ctx) => {
    await failOnceIfAsked(ctx, 'transform-split');
    return runTransformSplit(ctx);
  });
}
