import './die-with-worker';
import { runTraining } from '../../../shared/stages/training';
import { StageJobData } from '../../../shared/flow/job-types';
import { ProcessorJob, runLogged } from '../stage-context';
import { failOnceIfAsked } from '../fault-injection';

export default async function training(job: ProcessorJob<StageJobData>) {
  return runLogged(job, 'training', async (ctx) => {
    await failOnceIfAsked(ctx, 'training');
    return runTraining(ctx);
  });
}
