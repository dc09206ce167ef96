import './die-with-worker';
import './open-store-early';
import { runFeatureExtraction } from '../../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { StageJobData } from '../../../shared/runtime/flow/job-types';
import { ProcessorJob, runLogged } from '../stage-context';
import { failOnceIfAsked } from '../fault-injection';

export default async function featureExtraction(job: ProcessorJob<StageJobData>) {
  return runLogged(job, 'feature-extraction', async (ctx) => {
    await failOnceIfAsked(ctx, 'feature-extraction');
    return runFeatureExtraction(ctx);
  });
}
