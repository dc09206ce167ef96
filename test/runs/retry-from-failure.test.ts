import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STAGES, stageDefinition } from '../../shared/pipeline/stages/definitions';
import { enqueueRun } from '../helpers/enqueue-run';
import { chunkJobId, stageJobId } from '../../shared/runtime/flow/job-types';
import { retryRun } from '../../shared/runtime/runs/control';
import { readRunLogs } from '../../shared/runtime/runs/run-logs';
import { SAMPLE_DATASET } from '../helpers/env';
import { Stack, startStack, waitForRun } from '../helpers/stack';
import { artifactHashes, fileIdentities } from './artifacts';

// Every stage (and one chunk, one block job of stage 2, and one search job) fails for good on its first
// attempt in the run, once: the run fails seven times, in flow order, and each retry must go on from
// exactly the stage that failed.
const DRILL = [
  'text-processing',
  'text-chunks',
  'feature-extraction',
  'feature-blocks',
  'transform-split',
  'training',
  'training-search',
]
  .map((s) => `${s}:permanent`)
  .join(',');

describe('retry from the failed stage', () => {
  let faulty: Stack;
  let clean: Stack;
  before(async () => {
    [faulty, clean] = await Promise.all([
      startStack({ workers: 2, workerEnv: { TICKETFLOW_FAIL_ONCE: DRILL } }),
      startStack({ workers: 1 }),
    ]);
  });
  after(async () => Promise.all([faulty.close(), clean.close()]));

  it('goes on with the same run id, reruns nothing that completed, and ends byte-identical to a run that never failed', async () => {
    // Four blocks a stage-2 round, so a block job that fails has siblings.
    const params = { chunkSize: 150, blockSize: 300, cache: false };
    const cleanId = await enqueueRun(clean.runs, { dataset: SAMPLE_DATASET, params });
    const runId = await enqueueRun(faulty.runs, { dataset: SAMPLE_DATASET, params });
    const failedAt: string[] = [];
    let record = await waitForRun(faulty.runs, runId);
    for (let round = 0; record.state === 'failed' && round < 8; round++) {
      const failing = record.stages.find((s) => s.state === 'failed')!;
      failedAt.push(failing.stage);
      assert.equal(failing.attemptsMade, 1, `${failing.stage} failed for good on its first attempt`);
      assert.match(failing.failedReason ?? '', /injected permanent failure/);
      const index = STAGES.indexOf(failing.stage);
      for (const later of record.stages.slice(index + 1))
        assert.equal(later.state, 'skipped', `${later.stage} never ran`);
      const done = record.stages.slice(0, index);
      for (const s of done) assert.equal(s.state, 'completed');
      // A failed chunk fails its stage at once, while its siblings go on: let them finish, so the retry
      // finds their outputs (chunks that completed are not run again — the assertion below).
      // The same for a failed search job and its sibling folds.
      for (let i = 0; i < 200; i++) {
        const pending = (
          await Promise.all(
            (['text-chunks', 'feature-blocks', 'training-search'] as const).map((q) =>
              faulty.queues[q].getJobs(['active', 'waiting', 'delayed']),
            ),
          )
        )
          .flat()
          .filter((j) => j?.data.runId === runId);
        if (pending.length === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const before = {
        files: fileIdentities(faulty.config.storageDir, runId),
        attempts: done.map((s) => [s.stage, s.attemptsMade, s.jobId]),
      };

      const retried = await retryRun(faulty.runs, runId, SAMPLE_DATASET);
      assert.equal(retried.id, runId);
      assert.equal(retried.generation, round + 2);
      record = await waitForRun(faulty.runs, runId);

      // Stages that had completed were not run again: same jobs, attempts and files.
      assert.deepEqual(
        record.stages.slice(0, index).map((s) => [s.stage, s.attemptsMade, s.jobId]),
        before.attempts,
      );
      const after = fileIdentities(faulty.config.storageDir, runId);
      for (const s of done) {
        for (const f of stageDefinition(s.stage).artifacts)
          assert.equal(after[f], before.files[f], `${f} untouched by the retry`);
      }
      if (failing.stage === 'text-processing' && round > 0) {
        // The chunk failed: chunks that completed in the failed generation are reused, not run again.
        const text = record.stages[0]!;
        const chunks = text.chunks!;
        assert.ok(chunks.reused >= 1, `reused ${chunks.reused} of ${chunks.total} chunks`);
        const rerun = await Promise.all(
          Array.from({ length: chunks.total }, (_, c) =>
            faulty.queues['text-chunks'].getJob(chunkJobId(runId, c, record.generation)),
          ),
        );
        assert.equal(rerun.filter(Boolean).length, chunks.total - chunks.reused);
      }
      if (
        failing.stage === 'feature-extraction' &&
        failedAt.filter((s) => s === 'feature-extraction').length === 2
      ) {
        // A block job failed: the blocks its siblings completed are reused (their files copied), not run.
        const fe = record.stages.find((s) => s.stage === 'feature-extraction')!;
        assert.ok((fe.chunks?.reused ?? 0) >= 1, `reused ${fe.chunks?.reused} of stage 2's tasks`);
        const logs = await readRunLogs(faulty.runs, runId);
        assert.ok(
          logs!.lines.some((l) => /fe\.df: \d+ of 4 task\(s\) reused from an earlier try/.test(l.line)),
          "the stage's log says which tasks it reused",
        );
      }
      if (failing.stage === 'training' && failedAt.filter((s) => s === 'training').length === 2) {
        // A search job failed: the fold results that completed are reused, not computed again (and the
        // refit's fit, when its job had completed: then it counts as reused too).
        const training = record.stages.find((s) => s.stage === 'training')!;
        const job = await faulty.queues.training.getJob(stageJobId(runId, 'training', record.generation));
        const ran = (await faulty.queues['training-search'].getJobs(['completed'])).filter(
          (j) => j?.data.runId === runId && j.data.generation === record.generation,
        );
        const fitReused = ran.some((j) => j.data.kind === 'refit-fit') ? 0 : 1;
        const reused = (job!.data.reusedChunks ?? 0) - fitReused;
        assert.ok(reused >= 1, `reused ${reused} fold result(s)`);
        const cvJobs = ran.filter((j) => j.data.kind === 'cv');
        assert.equal(cvJobs.length, 3 - reused, 'only the missing folds ran');
        assert.equal(training.chunks?.completed, training.chunks?.total);
      }
    }
    assert.deepEqual(failedAt, [
      'text-processing',
      'text-processing',
      'feature-extraction',
      'feature-extraction',
      'transform-split',
      'training',
      'training',
    ]);
    assert.equal(record.state, 'completed', JSON.stringify(record.error));
    assert.equal(record.generation, 8);
    assert.deepEqual(
      record.events.map((e) => e.event),
      ['created', ...Array.from({ length: 7 }, () => ['failed', 'retried']).flat(), 'completed'],
    );
    // The run's log holds every generation's jobs, the failed attempts and the one that completed.
    const logs = await readRunLogs(faulty.runs, runId);
    const jobIds = new Set(logs!.lines.map((l) => l.jobId));
    assert.ok(jobIds.has(stageJobId(runId, 'text-processing', 1)), 'generation 1 in the logs');
    for (const g of [2, 3, 4, 5, 6, 7, 8]) {
      assert.ok(
        [...jobIds].some((j) => j?.endsWith(`-g${g}`)),
        `generation ${g} in the logs`,
      );
    }
    assert.ok(logs!.lines.some((l) => /injected permanent failure of training/.test(l.line)));
    const times = logs!.lines.map((l) => l.at).filter((t): t is string => t !== null);
    assert.deepEqual(times, [...times].sort(), 'in time order');
    const cleanRecord = await waitForRun(clean.runs, cleanId);
    assert.equal(cleanRecord.state, 'completed');
    assert.deepEqual(
      artifactHashes(faulty.config.storageDir, runId),
      artifactHashes(clean.config.storageDir, cleanId),
    );
  });

  it('answers a conflict for a run that is not failed or cancelled', async () => {
    const runId = await enqueueRun(clean.runs, { dataset: SAMPLE_DATASET });
    await waitForRun(clean.runs, runId);
    await assert.rejects(
      retryRun(clean.runs, runId, SAMPLE_DATASET),
      /is completed: only a failed or cancelled run/,
    );
  });
});
