/**
 * Sandbox warm-up (TICKETFLOW_WARM_UP, shared/pipeline/warm-up.ts): the stage code runs once on sample
 * tickets in a temporary folder, in-process and in a real worker's sandboxes before it reports ready.
 * The test runner turns warm-up off for every other test; these turn it on.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QUEUE_SETTINGS, QUEUES } from '../../shared/runtime/flow/queue-names';
import { WARM_UP_SAMPLE, WARM_UP_TICKETS, warmUp } from '../../shared/pipeline/warm-up';
import {
  Deployment,
  http,
  newDeployment,
  processesWhere,
  redisCommand,
  SAMPLE_NAME,
  startApi,
  startWorker,
  stopAll,
  teardownDeployment,
  waitFor,
} from '../helpers/processes';

/** The pids whose parent is `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  return processesWhere((_, read) => {
    const stat = read('stat');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
  });
}

const warmUpDirs = () =>
  new Set(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('ticketflow-warm-up-')));

describe('sandbox warm-up', () => {
  const deployments: Deployment[] = [];
  after(async () => {
    await stopAll();
    for (const d of deployments) await teardownDeployment(d);
  });

  it('runs each kind on the sample in a folder of its own and leaves nothing; no sample, no warm-up', async () => {
    const before = warmUpDirs();
    const narratives = (
      JSON.parse(fs.readFileSync(WARM_UP_SAMPLE, 'utf8')) as {
        _source: { complaint_what_happened: string };
      }[]
    ).filter((r) => r._source.complaint_what_happened.trim() !== '').length;
    // The lemmatizer's runs on every sample narrative (its caches are filled too), the others on a few.
    assert.deepEqual(await warmUp('lemmas'), { tickets: narratives });
    for (const kind of ['blocks', 'training'] as const)
      assert.deepEqual(await warmUp(kind), { tickets: WARM_UP_TICKETS }, kind);
    const left = [...warmUpDirs()].filter((n) => !before.has(n));
    assert.deepEqual(left, [], `left in ${os.tmpdir()}: ${left.join(', ')}`);
    const missing = path.join(os.tmpdir(), 'no-such-sample.json');
    assert.deepEqual(await warmUp('blocks', missing), { tickets: 0 });
  });

  it('a worker warms every sandbox before it is ready, then serves a run', async () => {
    const d = await newDeployment('warm-up');
    deployments.push(d);
    const started = await redisCommand(d, 'start');
    assert.equal(started.code, 0, `ticketflow redis start: ${started.stderr}`);
    d.env.TICKETFLOW_WARM_UP = '1';
    const worker = await startWorker(d);
    // Ready means warmed: the line of every queue whose sandbox has a warm-up is there by the time
    // startWorker returns, and no other's.
    const warmed = QUEUES.filter((q) => {
      const spec = QUEUE_SETTINGS[q].processor;
      return 'sandbox' in spec && spec.warmUp !== undefined;
    });
    assert.deepEqual(warmed, ['text-chunks', 'feature-blocks', 'transform-blocks', 'training-search']);
    const lines = worker.stderr().match(/sandbox for \S+ warmed up on [1-9]\d* sample ticket\(s\)/g) ?? [];
    assert.deepEqual(lines.map((l) => l.split(' ')[2]).sort(), [...warmed].sort(), worker.stderr());
    assert.doesNotMatch(worker.stderr(), /could not warm up|did not warm up/);
    // Every sandbox can start a garbage collection (collectGarbage): the TF-IDF block cache gives its
    // memory back to the system when it empties after the stage.
    const sandboxes = childrenOf(worker.child.pid!)
      .map((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'))
      .filter((argv) => argv.some((a) => a.endsWith('classes/main.js')));
    assert.ok(
      sandboxes.length >= warmed.length,
      `${sandboxes.length} sandbox(es) for ${warmed.length} queues`,
    );
    for (const argv of sandboxes) assert.ok(argv.includes('--expose-gc'), argv.join(' '));

    const api = await startApi(d);
    const res = await http(d.baseUrl, 'POST', '/runs', { dataset: SAMPLE_NAME, params: { chunkSize: 600 } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = (res.body as { id: string }).id;
    const state = await waitFor(
      `run ${id} finished`,
      async () => {
        const r = await http(d.baseUrl, 'GET', `/runs/${id}`);
        const s = (r.body as { state: string }).state;
        return ['completed', 'failed', 'cancelled'].includes(s) ? s : undefined;
      },
      60_000,
    );
    assert.equal(state, 'completed', `${worker.stderr()}\n${api.stderr()}`);
  });
});
