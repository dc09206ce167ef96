import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Job, Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import { createConnection } from '../../shared/runtime/flow/connection';
import { childFinished, childFinishedPolled } from '../../workers/processors/child-finished';
import { cleanup, testConfig } from '../helpers/env';

/** Whether `p` settles within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = p.then(
    () => true,
    () => true,
  );
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** `p`, or a failure naming `what` when it has not settled within `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not settled in ${ms} ms`)), ms)),
  );
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe("a parent awaiting a child job whose completion event it never sees (a QueueEvents that starts reading from '$' too late)", () => {
  const config = testConfig();
  const connection = createConnection(config.redisUrl);
  const queue = new Queue('child-finished', { connection, prefix: config.queuePrefix });
  // Never reads its stream: every event of the queue is missed, as one is in the instant a QueueEvents
  // starts (or reads again after a timed-out read) from "$".
  const deafConnection = createConnection(config.redisUrl);
  const workerConnection = createConnection(config.redisUrl);
  const deaf = new QueueEvents('child-finished', {
    connection: deafConnection,
    prefix: config.queuePrefix,
    autorun: false,
  });
  let worker: Worker;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  before(() => {
    worker = new Worker(
      'child-finished',
      async (job: Job<{ fail: boolean }>) => {
        await gate;
        if (job.data.fail) throw new UnrecoverableError('record 7, field "x": is a number');
        return { rows: 42 };
      },
      { connection: workerConnection, prefix: config.queuePrefix, concurrency: 4 },
    );
  });
  after(async () => {
    await worker.close();
    await deaf.close();
    await queue.close();
    for (const c of [connection, deafConnection, workerConnection]) c.disconnect();
    await cleanup(config);
  });

  it('is still told of its completion and its failure, by polling its state', async () => {
    const ok = await queue.add('ok', { fail: false }, { attempts: 3 });
    const bad = await queue.add('bad', { fail: true }, { attempts: 3 });
    const plain = childFinished(ok, deaf, queue);
    const polledOk = childFinishedPolled<{ rows: number }>(ok, deaf, queue, 100);
    const polledBad = childFinishedPolled(bad, deaf, queue, 100);
    polledBad.catch(() => undefined);
    // Both still running when they are awaited: only a later event, or a poll, can tell.
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();
    assert.deepEqual(await within(polledOk, 5000, 'the completed child'), { rows: 42 });
    await assert.rejects(within(polledBad, 5000, 'the failed child'), (err: Error) => {
      assert.ok(
        err instanceof UnrecoverableError,
        'bad input on its first attempt fails the parent for good',
      );
      assert.match(err.message, /child-finished job \S+ \(bad\) failed: record 7, field "x": is a number/);
      return true;
    });
    // Without the poll the parent would wait for ever: the hole it fills.
    assert.equal(await settlesWithin(plain, 1500), false, 'the event alone never arrives');
  });
});
