/**
 * collectWhenIdle (workers/processors/sandboxed/collect-when-idle.ts): a sandbox's processor collects
 * garbage once no job has run for its idle time, never while one runs, and a job started within the idle
 * time puts the collection off.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectWhenIdle } from '../../workers/processors/sandboxed/collect-when-idle';

describe('collectWhenIdle', () => {
  it('collects once after the last job, not while jobs run, and later jobs put it off', async () => {
    let collected = 0;
    const job = collectWhenIdle(
      async (ms: number, value: string) => {
        await sleep(ms);
        return value;
      },
      { idleMs: 150, collect: () => collected++ },
    );

    // Two jobs overlapping for 300 ms: nothing collected while either runs.
    const a = job(300, 'a');
    await sleep(100);
    const b = job(100, 'b');
    assert.equal(await b, 'b');
    await sleep(150); // b ended 150+ ms ago, but a still runs
    assert.equal(collected, 0);
    assert.equal(await a, 'a');
    // Another job within the idle time puts the collection off to after its own end.
    await sleep(50);
    await job(10, 'c');
    await sleep(110); // 170 ms after a, 110 after c
    assert.equal(collected, 0);
    await sleep(200);
    assert.equal(collected, 1);
    await sleep(300);
    assert.equal(collected, 1, 'one collection per idle spell');
  });

  it('a failed job counts as ended, and its error reaches the caller', async () => {
    let collected = 0;
    const job = collectWhenIdle(
      async () => {
        throw new Error('bad block');
      },
      { idleMs: 50, collect: () => collected++ },
    );
    await assert.rejects(job(), /bad block/);
    await sleep(200);
    assert.equal(collected, 1);
  });
});
