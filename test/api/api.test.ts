import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SampleStack, startSampleStack, waitForRun } from '../helpers/stack';
import { call } from '../helpers/http';

describe('HTTP API', () => {
  let stack: SampleStack;
  let dataDir: string;
  before(async () => {
    stack = await startSampleStack('data', { workers: 1, api: true });
    dataDir = stack.dataDir;
    fs.writeFileSync(
      path.join(dataDir, 'broken.json'),
      '[{"_source": {"complaint_what_happened": "My card was charged twice.", "product": "Credit card"}}, {"_source": 7}]',
    );
    fs.mkdirSync(path.join(dataDir, 'folder'));
    fs.symlinkSync('/etc/hostname', path.join(dataDir, 'escape.json'));
  });
  after(async () => {
    await stack.close();
  });

  it('rejects bad requests with 400 and a message that says what is wrong', async () => {
    const cases: [string, RegExp][] = [
      ['{"dataset": ', /not valid JSON/],
      ['[1, 2]', /must be a JSON object/],
      ['{}', /"dataset" must be a path/],
      ['{"dataset": "../etc/passwd"}', /outside the data root/],
      ['{"dataset": "/etc/passwd"}', /relative to the data root/],
      ['{"dataset": "escape.json"}', /outside the data root/],
      ['{"dataset": "missing.json"}', /does not exist/],
      ['{"dataset": "folder"}', /is not a file/],
      ['{"dataset": "sample.json", "params": {"topics": 1}}', /"topics" must be an integer from 2/],
      ['{"dataset": "sample.json", "params": {"bogus": true}}', /unknown parameter "bogus"/],
      ['{"dataset": "sample.json", "params": "x"}', /params must be a JSON object/],
      ['{"dataset": "sample.json", "extra": 1}', /unknown field\(s\) extra/],
    ];
    for (const [body, message] of cases) {
      const res = await call(stack, 'POST', '/runs', body);
      assert.equal(res.status, 400, body);
      assert.match(res.json.error, message, body);
    }
    assert.equal((await stack.queues.training.getJobCounts()).waiting ?? 0, 0, 'no run was enqueued');
  });

  it('answers 404 for unknown runs', async () => {
    const res = await call(stack, 'GET', '/runs/20990101-000000-abcdef');
    assert.equal(res.status, 404);
    assert.match(res.json.error, /no run with id/);
    assert.equal((await call(stack, 'GET', '/runs/..%2Fx')).status, 404);
    assert.equal((await call(stack, 'GET', '/nowhere')).status, 404);
  });

  it('fails a run on a malformed dataset after exactly one attempt, and shows why', async () => {
    const res = await call(stack, 'POST', '/runs', '{"dataset": "broken.json"}');
    assert.equal(res.status, 202);
    const id = res.json.id as string;
    const status = await waitForRun(stack.runs, id);
    assert.equal(status.state, 'failed');
    const text = status.stages.find((s) => s.stage === 'text-processing')!;
    assert.equal(text.attemptsMade, 1, 'bad input is not retried');
    const shown = await call(stack, 'GET', `/runs/${id}`);
    assert.equal(shown.status, 200);
    assert.equal(shown.json.state, 'failed');
    assert.equal(shown.json.error.stage, 'text-processing');
    assert.match(shown.json.error.message, /broken\.json/);
    assert.match(shown.json.error.message, /record 1/);
    assert.match(shown.json.error.message, /_source/);
  });

  it('runs a dataset from the data root to completion and lists it', async () => {
    const res = await call(
      stack,
      'POST',
      '/runs',
      '{"dataset": "sample.json", "params": {"topics": 3, "chunkSize": 500}}',
    );
    assert.equal(res.status, 202);
    const id = res.json.id as string;
    await waitForRun(stack.runs, id);
    const shown = await call(stack, 'GET', `/runs/${id}`);
    assert.equal(shown.json.state, 'completed');
    assert.equal(shown.json.stages.length, 4);
    for (const s of shown.json.stages) {
      assert.equal(s.state, 'completed');
      assert.ok(s.startedAt && s.finishedAt);
    }
    assert.ok(shown.json.metrics.test.accuracy > 0.8);
    const list = await call(stack, 'GET', '/runs');
    assert.equal(list.status, 200);
    assert.equal(list.json.runs[0].id, id, 'newest first');
    assert.ok(list.json.runs.length >= 2);
    const board = await fetch(`${stack.baseUrl}/board/api/queues`);
    assert.equal(board.status, 200);
    const names = ((await board.json()) as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
    assert.deepEqual(names, [
      'classification',
      'classification-chunks',
      'feature-blocks',
      'feature-extraction',
      'schedules',
      'text-chunks',
      'text-processing',
      'training',
      'training-search',
      'transform-blocks',
      'transform-split',
      'webhooks',
    ]);
  });
});
