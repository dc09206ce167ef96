import { processStore } from '../stage-context';

/**
 * Opens this child's artifact store when the child is forked, which the worker does for each queue before
 * any job arrives: on S3 that loads the AWS SDK (about 0.15 s) then, not inside a stage's first job.
 */
processStore();
