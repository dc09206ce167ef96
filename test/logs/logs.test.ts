import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { resolveConfig } from '../../shared/core/config/config';
import { STAGES } from '../../shared/pipeline/stages/definitions';
import { CHUNK_QUEUE } from '../../shared/pipeline/stages/text-processing/definition';
import { SEARCH_QUEUE } from '../../shared/pipeline/stages/training/definition';
import { enqueueRun } from '../helpers/enqueue-run';
import { chunkJobId, searchJobId, stageJobId } from '../../shared/runtime/flow/job-types';
import { parseJobLogRows, RunLogLine, RunLogs, runLogFile } from '../../shared/runtime/runs/run-logs';
import { getRunLogs } from '../../producers/api/logs';
import { SAMPLE_DATASET } from '../helpers/env';
import { Stack, startStack, waitForRun } from '../helpers/stack';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('TICKETFLOW_LOG_FORMAT', () => {
  it('defaults to text, takes json, refuses anything else', () => {
    assert.equal(resolveConfig({}).logFormat, 'text');
    assert.equal(resolveConfig({ TICKETFLOW_LOG_FORMAT: 'json' }).logFormat, 'json');
    assert.equal(resolveConfig({ TICKETFLOW_LOG_FORMAT: ' JSON ' }).logFormat, 'json');
    assert.throws(
      () => resolveConfig({ TICKETFLOW_LOG_FORMAT: 'xml' }),
      /TICKETFLOW_LOG_FORMAT must be text or json, got "xml"/,
    );
  });

  it('job-log rows parse into time and line; rows without a time take their neighbour’s', () => {
    const lines = parseJobLogRows(
      ['no time yet', '2026-01-02T03:04:05.678Z info started', 'a continuation'],
      'j1',
      'training',
    );
    assert.deepEqual(
      lines.map((l) => [l.at, l.line]),
      [
        ['2026-01-02T03:04:05.678Z', 'no time yet'],
        ['2026-01-02T03:04:05.678Z', 'info started'],
        ['2026-01-02T03:04:05.678Z', 'a continuation'],
      ],
    );
  });
});

describe('run logs: JSON process log, job logs, GET /runs/:id/logs', () => {
  let stack: Stack;
  let runId: string;
  before(async () => {
    stack = await startStack({
      workers: 1,
      workerEnv: { TICKETFLOW_LOG_FORMAT: 'json', TICKETFLOW_LOG_LEVEL: 'info' },
    });
    runId = await enqueueRun(stack.runs, { dataset: SAMPLE_DATASET, params: { chunkSize: 300 } });
    const record = await waitForRun(stack.runs, runId);
    assert.equal(record.state, 'completed', JSON.stringify(record.error));
  });
  after(async () => stack.close());

  /** The run's logs.jsonl once the training job's last line is in it (appending trails the run a little). */
  async function fileLines(): Promise<Record<string, unknown>[]> {
    const file = runLogFile(stack.config.storageDir, runId);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const lines = fs.existsSync(file)
        ? fs
            .readFileSync(file, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as Record<string, unknown>)
        : [];
      if (lines.some((l) => l.stage === 'training' && /^completed in/.test(String(l.message)))) return lines;
      if (Date.now() > deadline) throw new Error(`${file}: no training completion line in ${lines.length}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it("workers' JSON lines carry timestamp, level, message and the job's five fields", async () => {
    const lines = await fileLines();
    const pid = stack.workers!.pids[0]!;
    for (const l of lines) {
      assert.match(String(l.timestamp), ISO);
      assert.ok(['error', 'warn', 'info', 'debug'].includes(String(l.level)), JSON.stringify(l));
      assert.equal(typeof l.message, 'string');
      assert.equal(l.runId, runId);
      assert.match(
        String(l.stage),
        /^(text-processing(\/chunk-\d+)?|feature-extraction|transform-split|training(\/(search-\d+-fold-\d+|refit|refit-fit))?)$/,
      );
      assert.match(String(l.jobId), new RegExp(`^${runId}-`));
      assert.match(String(l.attempt), /^1\/4$/);
      // sandboxed children name their parent, the worker process
      assert.equal(l.worker, `ticketflow-worker@${os.hostname()}:${pid}`, JSON.stringify(l));
    }
    const stages = new Set(lines.map((l) => String(l.stage).split('/')[0]));
    assert.deepEqual([...stages].sort(), [...STAGES].sort());
    assert.ok(lines.filter((l) => String(l.stage).includes('/chunk-')).length >= 4 * 3, 'chunk lines');
  });

  it("every job's own log tells its story (what Bull Board's Logs tab shows)", async () => {
    const rows = async (queue: keyof Stack['queues'], id: string) => {
      const { logs } = await stack.queues[queue].getJobLogs(id);
      for (const r of logs) assert.match(r, /^\d{4}-\d\d-\d\dT\S+Z (info|warn|error) /, r);
      return logs.join('\n');
    };
    const text = await rows('text-processing', stageJobId(runId, 'text-processing'));
    assert.match(text, /attempt 1 of 4 started/);
    assert.match(text, /1200 records in .*4 chunk\(s\) of 300 records or 1\/256 of the file/);
    assert.match(text, /read 1200 records .*kept \d+, dropped \d+ \(emptyNarrative \d+\)/);
    assert.match(text, /completed in [\d.]+ s/);
    for (let c = 0; c < 4; c++) {
      const chunk = await rows(CHUNK_QUEUE, chunkJobId(runId, c));
      assert.match(chunk, new RegExp(`chunk ${c}: read \\d+ records, kept \\d+, dropped .* in [\\d.]+ s`));
    }
    const fe = await rows('feature-extraction', stageJobId(runId, 'feature-extraction'));
    assert.match(fe, /TF-IDF: vocabulary \d+ terms/);
    assert.match(
      fe,
      /NMF k=3: \d+ iterations \((converged|reached).*reconstruction error [\d.]+, (?:.*, )?in [\d.]+ s/,
    );
    const ts = await rows('transform-split', stageJobId(runId, 'transform-split'));
    assert.match(ts, /vocabulary \d+ terms/);
    assert.match(ts, /split \d+ train \/ \d+ test tickets/);
    const parent = await rows('training', stageJobId(runId, 'training'));
    assert.match(parent, /model search: 1 candidate\(s\) × 3 folds = 3 jobs/);
    assert.match(
      parent,
      /search winner: candidate 0 C=1 unweighted words \(lbfgs\), CV accuracy [\d.]+ ± [\d.]+/,
    );
    const fold = await rows(SEARCH_QUEUE, searchJobId(runId, 1));
    assert.match(fold, /candidate 0 .* fold 2\/3: \d+ fit \/ \d+ held-out tickets/);
    assert.match(
      parent,
      /and the refit of its one candidate alongside, in two jobs: its fit, then its scoring/,
    );
    // The refit's fit job, the training job's last child, fits the winner; the refit job scores it.
    const fit = await rows(SEARCH_QUEUE, searchJobId(runId, 4));
    assert.match(fit, /L-BFGS: \d+ iterations \((converged|reached).* in [\d.]+ s/);
    assert.match(fit, /fitted and stored for its scoring/);
    const tr = await rows(SEARCH_QUEUE, searchJobId(runId, 3));
    assert.match(tr, /accuracy: train [\d.]+, test [\d.]+/);
    assert.match(tr, /threshold [\d.]+ for target precision/);
    assert.doesNotMatch(tr + fe + ts + text, / debug /, 'debug lines stay out of job logs');
  });

  it('GET /runs/:id/logs merges the lines of every job in time order', async () => {
    await fileLines();
    const res = await getRunLogs(stack.runs, runId);
    assert.equal(res.status, 200);
    const body = res.body as RunLogs;
    const lines = body.lines;
    assert.equal(body.total, lines.length);
    const times = lines.map((l) => l.at!);
    assert.ok(times.every((t) => ISO.test(t)));
    assert.deepEqual(times, [...times].sort(), 'in time order');
    const jobs = new Set(lines.map((l) => l.jobId));
    for (const s of STAGES) assert.ok(jobs.has(stageJobId(runId, s)), s);
    for (let c = 0; c < 4; c++) assert.ok(jobs.has(chunkJobId(runId, c)), `chunk ${c}`);
    assert.ok(lines.some((l) => l.queue === CHUNK_QUEUE && /kept \d+/.test(l.line)));
    const key = (l: RunLogLine) => `${l.jobId} ${l.at} ${l.line}`;
    assert.equal(
      new Set(lines.map(key)).size,
      lines.length,
      'a line in both a job log and logs.jsonl shows once',
    );
    // the first line is the split's start, the last the training's completion
    assert.match(lines[0]!.line, /attempt 1 of 4 started/);
    assert.equal(lines[0]!.jobId, stageJobId(runId, 'text-processing'));
    assert.match(lines.at(-1)!.line, /completed in/);
    assert.equal(lines.at(-1)!.jobId, stageJobId(runId, 'training'));

    const tail = (await getRunLogs(stack.runs, runId, { limit: '3' })).body as RunLogs;
    assert.deepEqual(tail.lines, lines.slice(-3));
    assert.equal(tail.total, lines.length);
    assert.equal((await getRunLogs(stack.runs, runId, { limit: '0' })).status, 400);
    assert.equal((await getRunLogs(stack.runs, runId, { limit: 'x' })).status, 400);
    assert.equal((await getRunLogs(stack.runs, runId, { since: '1' })).status, 400);
    assert.equal((await getRunLogs(stack.runs, 'no-such-run')).status, 404);
    assert.equal((await getRunLogs(stack.runs, '../etc')).status, 404);
  });

  it('after a job log is gone, its lines still come from logs.jsonl', async () => {
    const id = stageJobId(runId, 'feature-extraction');
    await stack.connection.del(`${stack.config.queuePrefix}:feature-extraction:${id}:logs`);
    const lines = ((await getRunLogs(stack.runs, runId)).body as RunLogs).lines.filter((l) => l.jobId === id);
    assert.ok(lines.length >= 4);
    assert.ok(lines.every((l) => l.source === 'file' && l.queue === 'feature-extraction'));
    assert.ok(lines.some((l) => /NMF k=3: \d+ iterations/.test(l.line)));
  });
});
