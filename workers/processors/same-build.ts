import { StageName } from '../../shared/pipeline/stages/definitions';
import { classificationCodeIdentity, stageCodeIdentity } from '../../shared/runtime/runs/code-identity';

/**
 * The code identity of `stage` this process runs, once it has checked that a child job (`what`) was
 * added for that code: its parent's process recorded its own in the job (`expected`). A child of another
 * build fails, retryably (a worker of the parent's build may take it), so that what one try of a stage
 * joins (chunk rows, block files, fold scores, a model's class rows) comes from one build on one runtime.
 */
export function sameBuild(stage: StageName, expected: string | undefined, what: string): string {
  return checkCode(stage, stageCodeIdentity(stage), expected, what);
}

/** sameBuild for a batch classification's chunk: one classification's parts come from one build. */
export function sameClassificationBuild(expected: string | undefined, what: string): string {
  return checkCode('classification', classificationCodeIdentity(), expected, what);
}

function checkCode(name: string, code: string, expected: string | undefined, what: string): string {
  if (expected !== undefined && expected !== code)
    throw new Error(
      `${what} belongs to a try of ${name} code ${expected.slice(0, 12)}, this worker runs ${code.slice(0, 12)}: workers of two builds (or two runtimes) serve the run, and one try's files must come from one build`,
    );
  return code;
}
