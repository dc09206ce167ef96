import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AddressInfo } from 'node:net';
import { createApp } from '../../producers/api/app';
import { emitEvent, emitRunFinished, deliveryJobId } from '../../shared/runtime/events/webhook-events';
import { WebhookRegistry } from '../../shared/runtime/events/webhook-registry';
import { WEBHOOK_QUEUE } from '../../shared/runtime/flow/queue-names';
import { call, completedRun } from '../helpers/http';
import { quietLog } from '../helpers/env';
import { SampleStack, startSampleStack, startStack, Stack } from '../helpers/stack';
import { Receiver, startReceiver, until, verifySignature } from './receiver';

const SECRET = 'a-secret-of-32-characters-or-so!';
const ALL_EVENTS = ['run.completed', 'run.failed', 'model.promoted', 'classification.completed'];

describe('webhooks: registration, signed deliveries with retries, one delivery per event', () => {
  let receiver: Receiver;
  let stack: SampleStack;
  /** receives every event; answers 200 */
  let all: string;
  /** receives run.completed; answers 500 twice, then 200 */
  let flaky: string;
  let runId: string;

  before(async () => {
    receiver = await startReceiver();
    const env = {
      TICKETFLOW_WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${receiver.port}`,
      TICKETFLOW_WEBHOOK_BACKOFF_MS: '50',
    };
    stack = await startSampleStack('webhooks', { workers: 2, api: true, env, workerEnv: env });
  });
  after(async () => {
    await stack?.close();
    await receiver?.close();
  });

  it('refuses a URL outside the allow-list (400 naming the variable), and every URL when the list is empty', async () => {
    const body = (url: string) => ({ url, events: ['run.completed'], secret: SECRET });
    for (const url of [
      `http://127.0.0.1:${receiver.port + 1}/hook`,
      `http://localhost:${receiver.port}/hook`,
      'http://127.0.0.1/hook',
      'http://169.254.169.254/latest/meta-data',
    ]) {
      const res = await call(stack, 'POST', '/webhooks', body(url));
      assert.equal(res.status, 400, `${url}: ${JSON.stringify(res.json)}`);
      assert.match(res.json.error, /"url".*TICKETFLOW_WEBHOOK_ALLOWED_HOSTS/);
    }
    const bad: [unknown, RegExp][] = [
      [[], /JSON object/],
      [{ ...body(receiver.url('/x')), colour: 'blue' }, /unknown field\(s\) colour/],
      [body(`ftp://127.0.0.1:${receiver.port}/x`), /"url" must be http or https/],
      [body(`http://user:pw@127.0.0.1:${receiver.port}/x`), /"url" must not hold credentials/],
      [{ ...body(receiver.url('/x')), events: [] }, /"events"/],
      [{ ...body(receiver.url('/x')), events: ['run.started'] }, /"events" holds "run.started"/],
      [{ ...body(receiver.url('/x')), secret: 'short' }, /"secret"/],
    ];
    for (const [b, message] of bad) {
      const res = await call(stack, 'POST', '/webhooks', b);
      assert.equal(res.status, 400, `${JSON.stringify(b)}: ${JSON.stringify(res.json)}`);
      assert.match(res.json.error, message);
    }
    // The same deployment with TICKETFLOW_WEBHOOK_ALLOWED_HOSTS unset: even the receiver is refused.
    const closed = {
      ...stack.runs,
      config: { ...stack.config, webhooks: { ...stack.config.webhooks, allowedHosts: [] } },
    };
    const server = createApp(closed, quietLog).listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    try {
      const res = await call(
        { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
        'POST',
        '/webhooks',
        body(receiver.url('/hook')),
      );
      assert.equal(res.status, 400, JSON.stringify(res.json));
      assert.match(res.json.error, /TICKETFLOW_WEBHOOK_ALLOWED_HOSTS is empty/);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
    assert.deepEqual((await call(stack, 'GET', '/webhooks')).json, { webhooks: [] }, 'nothing registered');
  });

  it('registers webhooks without echoing their secrets', async () => {
    const a = await call(stack, 'POST', '/webhooks', {
      url: receiver.url('/all'),
      events: ALL_EVENTS,
      secret: SECRET,
    });
    assert.equal(a.status, 201, JSON.stringify(a.json));
    assert.deepEqual(Object.keys(a.json).sort(), ['createdAt', 'events', 'id', 'url']);
    assert.deepEqual(a.json.events, ALL_EVENTS);
    all = a.json.id;
    receiver.answer('/flaky', 500, 500);
    const f = await call(stack, 'POST', '/webhooks', {
      url: receiver.url('/flaky'),
      events: ['run.completed'],
      secret: SECRET,
    });
    assert.equal(f.status, 201, JSON.stringify(f.json));
    flaky = f.json.id;
    const list = await call(stack, 'GET', '/webhooks');
    assert.deepEqual(
      list.json.webhooks.map((w: Record<string, unknown>) => [w.id, w.url, 'secret' in w]),
      [
        [all, receiver.url('/all'), false],
        [flaky, receiver.url('/flaky'), false],
      ],
    );
  });

  it('delivers run.completed once, signed; a receiver that answers 500 twice gets it on attempt 3, once', async () => {
    runId = await completedRun(stack);
    await until(
      'run.completed at both receivers',
      () =>
        receiver.at('/all', 'run.completed').length >= 1 &&
        receiver.at('/flaky').some((r) => r.answered === 200),
    );
    // Another process that saw the run end emits the same event again: nothing more is delivered.
    await emitRunFinished(stack.runs, runId);
    const webhookJobs = async () =>
      stack.queues[WEBHOOK_QUEUE].getJobCounts('completed', 'failed', 'waiting', 'delayed', 'active');
    await until('no delivery job waiting', async () => {
      const c = await webhookJobs();
      return c.waiting === 0 && c.delayed === 0 && c.active === 0;
    });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(receiver.at('/all', 'run.completed').length, 1, 'exactly one run.completed at /all');
    const [got] = receiver.at('/all', 'run.completed');
    assert.equal(got!.headers['content-type'], 'application/json');
    assert.equal(got!.headers['x-ticketflow-event'], 'run.completed');
    assert.equal(got!.headers['x-ticketflow-delivery'], deliveryJobId(all, `run.completed:${runId}:1`));
    assert.equal(verifySignature(SECRET, got!.body, got!.headers['x-ticketflow-signature']), null);
    assert.match(
      verifySignature('another-secret-of-some-length', got!.body, got!.headers['x-ticketflow-signature']) ??
        '',
      /mismatch/,
    );
    assert.match(
      verifySignature(SECRET, got!.body.replace(runId, 'x'), got!.headers['x-ticketflow-signature']) ?? '',
      /mismatch/,
      'a changed body fails',
    );
    assert.match(
      verifySignature(
        SECRET,
        got!.body,
        got!.headers['x-ticketflow-signature'],
        Math.floor(Date.now() / 1000) + 600,
      ) ?? '',
      /stale/,
      'the same delivery replayed ten minutes later is refused',
    );
    const { occurredAt, testAccuracy, ...rest } = got!.json;
    assert.deepEqual(rest, {
      event: 'run.completed',
      id: `run.completed:${runId}:1`,
      runId,
      state: 'completed',
      generation: 1,
      dataset: 'sample.json',
    });
    assert.equal(typeof testAccuracy, 'number');
    assert.ok(!Number.isNaN(Date.parse(String(occurredAt))));

    const flakyGot = receiver.at('/flaky');
    assert.deepEqual(
      flakyGot.map((r) => r.answered),
      [500, 500, 200],
      'attempts 1 and 2 answered 500, attempt 3 was delivered; nothing after',
    );
    assert.equal(new Set(flakyGot.map((r) => r.body)).size, 1, 'the same body on every attempt');
    for (const r of flakyGot)
      assert.equal(verifySignature(SECRET, r.body, r.headers['x-ticketflow-signature']), null);

    const log = await call(stack, 'GET', `/webhooks/${flaky}/deliveries`);
    assert.equal(log.status, 200, JSON.stringify(log.json));
    assert.deepEqual(
      log.json.deliveries.map((d: Record<string, unknown>) => [d.event, d.eventId, d.attempt, d.status]),
      [
        ['run.completed', `run.completed:${runId}:1`, 3, 200],
        ['run.completed', `run.completed:${runId}:1`, 2, 500],
        ['run.completed', `run.completed:${runId}:1`, 1, 500],
      ],
      'newest first',
    );
    for (const d of log.json.deliveries) {
      assert.equal(typeof d.durationMs, 'number');
      assert.equal(d.error === null, d.status === 200, JSON.stringify(d));
    }
    const one = await call(stack, 'GET', `/webhooks/${flaky}/deliveries?limit=1`);
    assert.equal(one.json.deliveries.length, 1);
    assert.equal((await call(stack, 'GET', `/webhooks/${flaky}/deliveries?limit=0`)).status, 400);
    assert.equal((await call(stack, 'GET', '/webhooks/wh-0000000000000000/deliveries')).status, 404);
  });

  it('delivers model.promoted when PUT moves an alias (and nothing when it names the same run)', async () => {
    const put = await call(stack, 'PUT', '/models/aliases/production', { run: runId });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    await until('model.promoted', () => receiver.at('/all', 'model.promoted').length >= 1);
    const [got] = receiver.at('/all', 'model.promoted');
    assert.equal(verifySignature(SECRET, got!.body, got!.headers['x-ticketflow-signature']), null);
    assert.equal(got!.json.alias, 'production');
    assert.equal(got!.json.run, runId);
    assert.equal(got!.json.previous, null);
    assert.match(String(got!.json.id), new RegExp(`^model\\.promoted:production:${runId}:\\d+$`));
    assert.equal((await call(stack, 'PUT', '/models/aliases/production', { run: runId })).status, 200);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(receiver.at('/all', 'model.promoted').length, 1, 'the alias did not move');
    assert.equal(receiver.at('/flaky', 'model.promoted').length, 0, 'not subscribed');
  });

  it('delivers classification.completed after a batch classification', async () => {
    const res = await call(stack, 'POST', '/classifications', { dataset: 'sample.json' });
    assert.equal(res.status, 202, JSON.stringify(res.json));
    const id = res.json.id as string;
    await until(
      'classification.completed',
      () => receiver.at('/all', 'classification.completed').length >= 1,
      60_000,
    );
    const [got] = receiver.at('/all', 'classification.completed');
    assert.equal(verifySignature(SECRET, got!.body, got!.headers['x-ticketflow-signature']), null);
    assert.equal(got!.json.id, `classification.completed:${id}`);
    assert.equal(got!.json.classificationId, id);
    assert.equal(got!.json.model, runId);
    const counts = got!.json.counts as Record<string, number>;
    const tickets = got!.json.tickets as number;
    assert.ok(tickets > 0);
    assert.equal(
      Object.values(counts).reduce((a, b) => a + b, 0),
      tickets,
      'counts add up to the tickets',
    );
    const status = await call(stack, 'GET', `/classifications/${id}`);
    assert.equal(status.json.state, 'completed', 'the event follows the summary');
  });

  it('deletes a webhook with its log; its later events are not delivered', async () => {
    const del = await call(stack, 'DELETE', `/webhooks/${flaky}`);
    assert.deepEqual(del, { status: 200, json: { id: flaky, deleted: true } });
    assert.equal((await call(stack, 'DELETE', `/webhooks/${flaky}`)).status, 404);
    assert.equal((await call(stack, 'GET', `/webhooks/${flaky}/deliveries`)).status, 404);
    assert.deepEqual(
      (await call(stack, 'GET', '/webhooks')).json.webhooks.map((w: { id: string }) => w.id),
      [all],
    );
  });
});

describe('webhooks: the allow-list is checked again at delivery', () => {
  let receiver: Receiver;
  let stack: Stack;

  before(async () => {
    receiver = await startReceiver();
    // The worker's allow-list no longer holds the receiver registered earlier (the env changed).
    const env = {
      TICKETFLOW_WEBHOOK_ALLOWED_HOSTS: 'hooks.example.com',
      TICKETFLOW_WEBHOOK_BACKOFF_MS: '50',
    };
    stack = await startStack({ workers: 1, env, workerEnv: env });
  });
  after(async () => {
    await stack?.close();
    await receiver?.close();
  });

  it('fails a delivery to a host no longer allowed at once, logged, without sending it', async () => {
    const registry = new WebhookRegistry(stack.connection, stack.config.queuePrefix);
    const webhook = await registry.create({
      url: receiver.url('/old'),
      events: ['run.failed'],
      secret: SECRET,
    });
    const payload = { runId: 'r', state: 'failed' as const, generation: 1, dataset: 'x.json' };
    const [jobId] = await emitEvent(stack.runs, 'run.failed', 'run.failed:r:1', payload);
    const queue = stack.queues[WEBHOOK_QUEUE];
    await until('the delivery to fail', async () => (await queue.getJob(jobId!))?.finishedOn !== undefined);
    const job = (await queue.getJob(jobId!))!;
    assert.equal(await job.getState(), 'failed');
    assert.equal(job.attemptsMade, 1, 'no retries');
    assert.match(job.failedReason, /127\.0\.0\.1:\d+ is not in TICKETFLOW_WEBHOOK_ALLOWED_HOSTS/);
    const log = await registry.deliveries(webhook.id, 10);
    assert.equal(log.length, 1);
    assert.equal(log[0]!.status, null);
    assert.match(log[0]!.error ?? '', /TICKETFLOW_WEBHOOK_ALLOWED_HOSTS/);
    assert.equal(receiver.received.length, 0, 'nothing sent');
  });
});
