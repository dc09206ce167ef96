import { FlowJob, FlowProducer, Job, Queue } from 'bullmq';
import { TicketflowConfig } from '../../shared/core/config/config';
import { SEARCH_QUEUE } from '../../shared/pipeline/stages/training/definition';
import { nodeOptions } from '../../shared/runtime/flow/build-flow';
import { SearchJobData, StageJobData, searchJobId } from '../../shared/runtime/flow/job-types';
import {
  foldKey,
  readFoldResults,
  removeFoldFiles,
  summarizeSearch,
  writeSearchFile,
} from '../../shared/pipeline/stages/training/model-search';
import { Candidate, describeCandidate, searchGrid } from '../../shared/pipeline/stages/training/search-grid';
import { fitsInParts, refitProblems } from '../../shared/pipeline/stages/training/training-data';
import { storedRefitParts } from '../../shared/pipeline/stages/training/refit-parts';
import { storedRefitFit } from '../../shared/pipeline/stages/training/refit-fit';
import { LabelsFile } from '../../shared/pipeline/stages/transform-split/transform-split';
import { TrainingResult, writeTrainingMetrics } from '../../shared/pipeline/stages/training/training';
import { SearchFile } from '../../shared/pipeline/stages/training/search-file';
import { readArtifactJson } from '../../shared/pipeline/stages/read-artifact';
import { ARTIFACTS, StageContext } from '../../shared/pipeline/stages/context';
import { runLogged } from './stage-context';
import { failOnceIfAsked } from './fault-injection';
import { waitForChildren } from './fan-out';
import { stageCodeIdentity } from '../../shared/runtime/runs/code-identity';

/** Training's result, with the search's candidates and the winner (as in `search.json`). */
export type TrainingJobResult = TrainingResult;

/**
 * Stage 4 as a parent job in steps, each ending by waiting for its child jobs on the search queue (any
 * worker may take them; the fitting runs in their sandboxes, so this job only plans and waits):
 * "search" adds one job per grid candidate and cross-validation fold; "refit" gathers their scores,
 * writes `search.json` with the winner and adds one job refitting it on the whole training split (it
 * writes model.json and test_predictions.json); "done" writes metrics.json (the refit's metrics and the
 * search's summary) and returns the refit's result with it. A grid of one candidate has its winner
 * before any score: "search" adds its refit with the CV jobs, so it runs alongside them, and "refit"
 * goes on to "done" without a second wait. A one-vs-rest winner over `partedRefitTickets` tickets or
 * more is refitted in parts (refit-parts.ts): one job per class where the refit job would be, then step
 * "join" adds the refit job, which joins their rows instead of fitting. A refit of one job alongside the
 * search runs in two halves (refit-fit.ts): a fit job, child of the refit job, which scores its stored
 * model as soon as it completes, on whichever worker is free. Job ids are deterministic, so a repeated
 * step adds nothing twice.
 */
export function trainingProcessor(config: TicketflowConfig, searchQueue: Queue, flows: FlowProducer) {
  return async (job: Job<StageJobData>, token?: string, signal?: AbortSignal): Promise<TrainingJobResult> => {
    return runLogged(
      job,
      'training',
      async (stageCtx) => {
        // The code this process runs: its search jobs refuse another build's worker, and it reuses (and
        // joins) only fold scores and class rows of this code.
        const ctx = { ...stageCtx, code: stageCodeIdentity('training') };
        const step = job.data.step ?? 'search';
        const grid = searchGrid(ctx.params);
        const folds = ctx.params.cvFolds;
        // `chunks` counts every CV job id (reused ones too): the refit's is the next, then its parts'.
        const n = grid.length * folds;
        const early = grid.length === 1;
        const refit = (candidate: number, parts: number[] | null) =>
          child(config, ctx, job, {
            kind: 'refit',
            candidate,
            fold: null,
            child: n,
            ...(parts ? { parts } : {}),
          });
        // The refit's problems when it runs in parts (null: one job), and the jobs of those not stored.
        const partsOf = (candidate: Candidate) => refitParts(ctx, config, candidate);
        const partJobs = async (candidate: Candidate, parts: number[]) => {
          const stored = await storedRefitParts(ctx, candidate, parts);
          const jobs = parts.flatMap((problem, i) =>
            stored.has(problem)
              ? []
              : [
                  child(config, ctx, job, {
                    kind: 'refit-part',
                    candidate: candidate.id,
                    fold: null,
                    problem,
                    child: n + 1 + i,
                  }),
                ],
          );
          return { jobs, reused: stored.size };
        };
        // A refit alongside the search, not in parts: the refit job scores what its fit job, its child in
        // the flow, stored (nothing to fit when an earlier generation stored it).
        const halves = async (candidate: Candidate) => {
          const stored = await storedRefitFit(ctx, candidate);
          const scoring = refit(candidate.id, null);
          // Behind the jobs already queued (BullMQ takes prioritized jobs after waiting ones): a parent
          // whose children completed would otherwise go first, and the short scoring end the stage
          // after a fold that a free worker could have begun.
          const scoreJob = {
            ...scoring,
            data: { ...scoring.data, fitted: true as const },
            opts: { ...scoring.opts, priority: 1 },
          };
          if (stored) return { jobs: [scoreJob], flow: null, reused: 1 };
          const fit = child(config, ctx, job, {
            kind: 'refit-fit',
            candidate: candidate.id,
            fold: null,
            child: n + 1,
          });
          const { parent: _parent, ...fitOpts } = fit.opts;
          const flow: FlowJob = {
            name: scoreJob.name,
            queueName: SEARCH_QUEUE,
            data: scoreJob.data,
            opts: scoreJob.opts,
            children: [{ name: fit.name, queueName: SEARCH_QUEUE, data: fit.data, opts: fitOpts }],
          };
          return { jobs: [], flow, reused: 0 };
        };
        if (step === 'search') {
          // The stage's span begins here (its seconds cover the search and the refit), at the first attempt.
          const startedAt = job.data.startedAt ?? Date.now();
          await failOnceIfAsked(ctx, 'training');
          // Fold results an earlier generation of the run left in storage are not computed again.
          const done = await readFoldResults(ctx);
          const children = grid.flatMap((c) =>
            Array.from({ length: folds }, (_, fold) =>
              done.has(foldKey(c.id, fold))
                ? []
                : [
                    child(config, ctx, job, {
                      kind: 'cv',
                      candidate: c.id,
                      fold,
                      child: c.id * folds + fold,
                    }),
                  ],
            ).flat(),
          );
          const parts = early ? await partsOf(grid[0]!) : null;
          const first = parts
            ? { ...(await partJobs(grid[0]!, parts)), flow: null }
            : early
              ? await halves(grid[0]!)
              : { jobs: [], flow: null, reused: 0 };
          ctx.log.info(
            `model search: ${grid.length} candidate(s) × ${folds} folds = ${n} jobs${done.size > 0 ? ` (${done.size} done by an earlier attempt)` : ''}${early ? `, and the refit of its one candidate alongside${parts ? ` in ${parts.length} jobs, one per class` : first.reused > 0 ? ', its scoring only (an earlier try stored its fit)' : ', in two jobs: its fit, then its scoring'}` : ''}: ${grid.map((c) => `${c.id}: ${describeCandidate(c)}`).join('; ')}`,
          );
          signal?.throwIfAborted();
          // Longest first (the grid lists longer n-grams and larger C later, and they take longest; the
          // refit fits the most rows), so the last jobs to finish are short ones and no worker idles long
          // at the end of the search.
          const jobs = [...first.jobs, ...[...children].reverse()];
          // After the refit's job, its fit's (one) or its parts' (one a class), counted whether added or not.
          const chunks = n + (early ? 1 + (parts?.length ?? 1) : 0);
          // The count before the jobs: a cancel finds the children by it, so none may exist uncounted.
          await job.updateData({ ...job.data, chunks });
          // The fit first in the queue: it is the longest.
          if (first.flow) await flows.add(first.flow);
          if (jobs.length > 0) await searchQueue.addBulk(jobs);
          await wait(job, token!, searchQueue, {
            step: 'refit',
            chunks,
            reusedChunks: done.size + first.reused,
            startedAt,
            ...(parts ? { refitStartedAt: startedAt, refitParts: parts } : {}),
          });
        }
        if (job.data.step === 'refit') {
          const search = summarizeSearch(ctx.params, [...(await readFoldResults(ctx)).values()]);
          await writeSearchFile(ctx, search);
          const best = search.candidates.find((c) => c.winner)!;
          ctx.log.info(
            `search winner: candidate ${best.id} ${describeCandidate(best)}, CV ${search.score} ${best.meanScore.toFixed(4)} ± ${best.stdScore.toFixed(4)}`,
          );
          if (!early) {
            // The grid's candidate itself (the summary carries its scores too).
            const winner = grid[best.id]!;
            const parts = await partsOf(winner);
            signal?.throwIfAborted();
            if (parts) {
              const { jobs, reused } = await partJobs(winner, parts);
              const chunks = n + 1 + parts.length;
              ctx.log.info(
                `refit of the winner in ${parts.length} jobs, one per class${reused > 0 ? ` (${reused} done by an earlier attempt)` : ''}`,
              );
              await job.updateData({ ...job.data, chunks });
              if (jobs.length > 0) await searchQueue.addBulk(jobs);
              await wait(job, token!, searchQueue, {
                step: 'join',
                chunks,
                reusedChunks: (job.data.reusedChunks ?? 0) + reused,
                refitStartedAt: Date.now(),
                refitParts: parts,
              });
            } else {
              await job.updateData({ ...job.data, chunks: n + 1 });
              await searchQueue.addBulk([refit(best.id, null)]);
              await wait(job, token!, searchQueue, { step: 'done', chunks: n + 1 });
            }
          } else if (job.data.refitParts) {
            await job.updateData({ ...job.data, step: 'join' });
          }
        }
        if (job.data.step === 'join') {
          // Every problem's row is stored: the refit job joins them, scores the model and writes it.
          const search = await readArtifactJson<SearchFile>(ctx, ARTIFACTS.search);
          const parts = job.data.refitParts;
          if (!parts)
            throw new Error(`training job ${job.id} reached "join" for a refit that is not in parts`);
          signal?.throwIfAborted();
          await searchQueue.addBulk([refit(search.winner, parts)]);
          await wait(job, token!, searchQueue, { step: 'done' });
        }
        return done(ctx, job);
      },
      signal,
    );
  };
}

/**
 * The problems of `candidate`'s refit when it runs in parts: an estimator made of independent problems
 * (one-vs-rest), two or more of them, over `partedRefitTickets` labelled tickets or more. Null: one job.
 */
async function refitParts(
  ctx: StageContext,
  config: TicketflowConfig,
  candidate: Candidate,
): Promise<number[] | null> {
  // A topic run's multinomial fit has no parts: nothing to read.
  if (!fitsInParts(candidate)) return null;
  const labels = await readArtifactJson<LabelsFile>(ctx, ARTIFACTS.labels);
  const problems = refitProblems(candidate, labels.classes.length);
  const tickets = labels.counts.reduce((a, b) => a + b, 0);
  return problems !== null && problems.length >= 2 && tickets >= config.partedRefitTickets ? problems : null;
}

function child(
  config: TicketflowConfig,
  ctx: StageContext,
  job: Job<StageJobData>,
  what: Pick<SearchJobData, 'kind' | 'candidate' | 'fold' | 'child' | 'problem' | 'parts'>,
) {
  const { runId, generation, tags, params, artifacts, datasetSha256, codeVersion } = job.data;
  const data: SearchJobData = {
    runId,
    generation,
    stage: 'training',
    ...what,
    ...(ctx.code !== undefined ? { code: ctx.code } : {}),
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
  const joined = await refitResult(job);
  if (!joined) throw new Error(`training job ${job.id} reached its last step without the refit's result`);
  // A refit in parts took from its parts' start to the join's end.
  const { refitStartedAt } = job.data;
  const refit =
    refitStartedAt === undefined ? joined : { ...joined, seconds: (Date.now() - refitStartedAt) / 1000 };
  const search = await readArtifactJson<SearchFile>(ctx, ARTIFACTS.search);
  const result = await writeTrainingMetrics(ctx, refit, search);
  // Last: a retry of this step (or of "refit", for a grid of one) reads the fold results again.
  await removeFoldFiles(ctx);
  ctx.log.info(`test accuracy ${result.metrics.test.accuracy.toFixed(4)}`);
  return result;
}
