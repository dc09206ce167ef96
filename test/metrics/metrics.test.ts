import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'bullmq';
import { STAGES } from '../../shared/pipeline/stages/definitions';
import { CHUNK_QUEUE } from '../../shared/pipeline/stages/text-processing/definition';
import { QUEUES } from '../../shared/runtime/flow/queue-names';
import { createConnection } from '../../shared/runtime/flow/connection';
import { enqueueRun } from '../helpers/enqueue-run';
import { JOB_STATES } from '../../shared/runtime/metrics/api-metrics';
import { WorkerMetrics } from '../../shared/runtime/metrics/worker-metrics';
import { ModelRegistry } from '../../shared/runtime/runs/model-registry';
import { freePort } from '../../shared/runtime/redis/local-redis';
import { RUN_STATES } from '../../shared/runtime/runs/record';
import { SAMPLE_DATASET } from '../helpers/env';
import { call, completedRun } from '../helpers/http';
import { Deployment, Proc, startWorker } from '../helpers/processes';
import { Stack, startSampleStack, startStack, waitForRun } from '../helpers/stack';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample `name` whose labels include `labels`; undefined when there is none. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Sample[]> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

describe('API GET /metrics', () => {
  let stack: Stack;
  let runId: string;
  before(async () => {
    stack = await startSampleStack('metrics-data', { workers: 1, api: true });
    runId = await completedRun(stack);
  });
  after(async () => {
    await stack.close();
  });

  it('has the job counts of every queue by state, the runs by state and process metrics', async () => {
    const record = await waitForRun(stack.runs, runId);
    const chunks = record.stages.find((s) => s.stage === 'text-processing')!.chunks!.total;
    assert.ok(chunks >= 1);
    const samples = await scrape(`${stack.baseUrl}/metrics`);
    for (const queue of QUEUES) {
      const counts = await stack.queues[queue].getJobCounts(...JOB_STATES);
      for (const state of JOB_STATES) {
        const v = value(samples, 'bullmq_job_count', { queue, state });
        assert.equal(v, counts[state] ?? 0, `bullmq_job_count{queue="${queue}",state="${state}"}`);
      }
    }
    // What one completed run on the sample leaves: one completed job per stage, one per chunk.
    for (const stage of STAGES)
      assert.equal(value(samples, 'bullmq_job_count', { queue: stage, state: 'completed' }), 1);
    assert.equal(value(samples, 'bullmq_job_count', { queue: CHUNK_QUEUE, state: 'completed' }), chunks);
    for (const queue of QUEUES)
      for (const state of ['active', 'waiting', 'delayed', 'failed', 'waiting-children'])
        assert.equal(value(samples, 'bullmq_job_count', { queue, state }), 0, `${queue} ${state}`);
    for (const queue of ['classification', 'classification-chunks'])
      assert.equal(value(samples, 'bullmq_job_count', { queue, state: 'completed' }), 0);
    for (const state of RUN_STATES)
      assert.equal(value(samples, 'ticketflow_runs', { state }), state === 'completed' ? 1 : 0, state);
    assert.equal(value(samples, 'ticketflow_redis_up'), 1);
    assert.ok(value(samples, 'process_cpu_user_seconds_total')! > 0);
    assert.ok(value(samples, 'nodejs_heap_size_used_bytes')! > 0);
  });

  it('times POST /classify: ticketflow_classify_seconds counts every call, by status', async () => {
    await new ModelRegistry(stack.runs).setAlias('production', runId);
    const before = await scrape(`${stack.baseUrl}/metrics`);
    const count = (s: Sample[], status: string) =>
      value(s, 'ticketflow_classify_seconds_count', { status }) ?? 0;
    const ticket = { tickets: [{ id: 1, text: 'My credit card was charged twice for the same purchase.' }] };
    for (let i = 0; i < 3; i++) assert.equal((await call(stack, 'POST', '/classify', ticket)).status, 200);
    assert.equal((await call(stack, 'POST', '/classify', { tickets: [] })).status, 400);
    const later = await scrape(`${stack.baseUrl}/metrics`);
    assert.equal(count(later, '200') - count(before, '200'), 3);
    assert.equal(count(later, '400') - count(before, '400'), 1);
    assert.equal(
      value(later, 'ticketflow_classify_seconds_bucket', { status: '200', le: '+Inf' }),
      count(later, '200'),
    );
    assert.ok(value(later, 'ticketflow_classify_seconds_sum', { status: '200' })! > 0);
    // Other routes are not timed.
    await call(stack, 'GET', '/models');
    assert.equal(count(await scrape(`${stack.baseUrl}/metrics`), '200'), count(later, '200'));
  });
});

describe('API GET /metrics with TICKETFLOW_API_TOKEN', () => {
  const token = 'metrics-test-token-0123456789abcdef';
  let stack: Stack;
  before(async () => {
    stack = await startStack({ api: true, env: { TICKETFLOW_API_TOKEN: token } });
  });
  after(async () => stack.close());

  it('is behind the same Bearer guard as the other routes', async () => {
    const anonymous = await fetch(`${stack.baseUrl}/metrics`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer/);
    const wrong = await fetch(`${stack.baseUrl}/metrics`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    const samples = await scrape(`${stack.baseUrl}/metrics`, { authorization: `Bearer ${token}` });
    assert.equal(value(samples, 'bullmq_job_count', { queue: 'training', state: 'completed' }), 0);
    assert.equal(value(samples, 'ticketflow_runs', { state: 'completed' }), 0);
  });
});

describe('worker --metrics-port', () => {
  const stacks: Stack[] = [];
  const workers: Proc[] = [];
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(stacks.map((s) => s.close()));
  });

  /** A stack without workers and one real worker process serving its metrics on a free port. */
  async function deploy(opts: {
    args?: (port: number) => string[];
    env?: (port: number) => Record<string, string>;
  }) {
    const stack = await startStack();
    stacks.push(stack);
    const port = await freePort();
    const env = {
      REDIS_URL: stack.config.redisUrl,
      TICKETFLOW_QUEUE_PREFIX: stack.config.queuePrefix,
      TICKETFLOW_STORAGE_DIR: stack.config.storageDir,
      TICKETFLOW_DATA_DIR: stack.config.dataDir,
      TICKETFLOW_LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      ...opts.env?.(port),
    };
    // startWorker only reads the deployment's environment.
    const worker = await startWorker(
      { env } as unknown as Deployment,
      opts.args?.(port) ?? [],
      'metrics-worker',
    );
    workers.push(worker);
    return { stack, url: `http://127.0.0.1:${port}/metrics` };
  }

  it('serves job durations for every stage queue and its chunks, with no retries, after a run', async () => {
    const { stack, url } = await deploy({ args: (port) => ['--metrics-port', String(port)] });
    const idle = await scrape(url);
    for (const queue of QUEUES) {
      assert.equal(value(idle, 'ticketflow_job_retries_total', { queue }), 0, queue);
      assert.equal(value(idle, 'ticketflow_job_stalls_total', { queue }), 0, queue);
      assert.equal(value(idle, 'ticketflow_jobs_active', { queue }), 0, queue);
    }
    const runId = await enqueueRun(stack.runs, { dataset: SAMPLE_DATASET });
    const record = await waitForRun(stack.runs, runId);
    assert.equal(record.state, 'completed');
    const chunks = record.stages.find((s) => s.stage === 'text-processing')!.chunks!.total;
    const samples = await scrape(url);
    for (const stage of STAGES) {
      const labels = { queue: stage, outcome: 'completed' };
      assert.equal(value(samples, 'ticketflow_job_seconds_count', labels), 1, stage);
      assert.ok(value(samples, 'ticketflow_job_seconds_sum', labels)! > 0, stage);
      assert.equal(value(samples, 'ticketflow_job_seconds_bucket', { ...labels, le: '+Inf' }), 1, stage);
    }
    assert.equal(
      value(samples, 'ticketflow_job_seconds_count', { queue: CHUNK_QUEUE, outcome: 'completed' }),
      chunks,
    );
    assert.equal(
      samples.filter((s) => s.name === 'ticketflow_job_seconds_count' && s.labels.outcome !== 'completed')
        .length,
      0,
    );
    for (const queue of QUEUES) {
      assert.equal(value(samples, 'ticketflow_job_retries_total', { queue }), 0, queue);
      assert.equal(value(samples, 'ticketflow_jobs_active', { queue }), 0, queue);
    }
    assert.ok(value(samples, 'process_resident_memory_bytes')! > 0);
    const other = await fetch(url.replace('/metrics', '/'));
    assert.equal(other.status, 404);
  });

  it('counts a retried attempt (TICKETFLOW_FAIL_ONCE=feature-extraction; port from TICKETFLOW_METRICS_PORT)', async () => {
    const { stack, url } = await deploy({
      env: (port) => ({ TICKETFLOW_FAIL_ONCE: 'feature-extraction', TICKETFLOW_METRICS_PORT: String(port) }),
    });
    const runId = await enqueueRun(stack.runs, { dataset: SAMPLE_DATASET });
    const record = await waitForRun(stack.runs, runId);
    assert.equal(record.state, 'completed');
    assert.equal(record.stages.find((s) => s.stage === 'feature-extraction')!.attemptsMade, 2);
    const samples = await scrape(url);
    for (const queue of QUEUES)
      assert.equal(
        value(samples, 'ticketflow_job_retries_total', { queue }),
        queue === 'feature-extraction' ? 1 : 0,
        queue,
      );
    const fe = (outcome: string) =>
      value(samples, 'ticketflow_job_seconds_count', { queue: 'feature-extraction', outcome });
    assert.equal(fe('retried'), 1);
    assert.equal(fe('completed'), 1);
    assert.equal(fe('failed'), undefined);
  });
});

describe('WorkerMetrics', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => stack.close());

  it('counts the jobs running in the process (ticketflow_jobs_active)', async () => {
    const metrics = new WorkerMetrics();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const connection = createConnection(stack.config.redisUrl);
    const worker = new Worker(
      'training',
      async () => {
        started();
        await held;
      },
      { connection, prefix: stack.config.queuePrefix },
    );
    metrics.track('training', worker);
    try {
      await stack.queues.training.add('held', { runId: 'x' });
      await running;
      const during = parse(await metrics.registry.metrics());
      assert.equal(value(during, 'ticketflow_jobs_active', { queue: 'training' }), 1);
      const done = new Promise<void>((r) => worker.once('completed', () => r()));
      release();
      await done;
      const afterwards = parse(await metrics.registry.metrics());
      assert.equal(value(afterwards, 'ticketflow_jobs_active', { queue: 'training' }), 0);
    } finally {
      await worker.close();
      connection.disconnect();
    }
  });
});
