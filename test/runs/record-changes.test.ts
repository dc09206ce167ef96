/**
 * A follower of a run (the CLI's live display, the bench) is woken by the writes of its record: RunStore
 * publishes the run's id with each write. Real Redis.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RecordChanges } from '../../shared/runtime/runs/record-changes';
import { makeRecord } from '../helpers/records';
import { Stack, startStack } from '../helpers/stack';

describe('record changes', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.close();
  });

  const at = new Date().toISOString();

  it("wakes on a write of the followed run's record, not of another run's, and at the latest after the wait", async () => {
    const { runs } = stack;
    const followed = makeRecord('20261207-000000-aaaaaaaaaaaa', at);
    const other = makeRecord('20261207-000000-bbbbbbbbbbbb', at);
    const changes = await RecordChanges.open(runs.redis, runs.keys, followed.id);
    try {
      // Another run's write: the wait runs to its end.
      let started = Date.now();
      const waited = changes.next(400);
      await runs.store.write(other);
      assert.equal(await waited, false);
      assert.ok(Date.now() - started >= 350);

      // The followed run's write ends the wait long before its limit.
      started = Date.now();
      const woken = changes.next(5_000);
      await runs.store.write(followed);
      assert.equal(await woken, true);
      assert.ok(Date.now() - started < 2_000, `woken after ${Date.now() - started} ms`);

      // A write while nobody waits is kept for the next wait, which returns at once; only once.
      await runs.store.write({ ...followed, progress: 50 });
      await new Promise((r) => setTimeout(r, 200));
      started = Date.now();
      assert.equal(await changes.next(5_000), true);
      assert.ok(Date.now() - started < 100);
      assert.equal(await changes.next(150), false);

      // One wait at a time.
      const first = changes.next(100);
      assert.throws(() => void changes.next(100), /already waiting/);
      await first;
    } finally {
      changes.close();
    }
  });
});
