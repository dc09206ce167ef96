/**
 * ByteBoundedCache (shared/core/io/byte-bounded-cache.ts): least recently used out over the byte bound,
 * a stale tag is a miss, and the whole cache empties once it goes unused for its idle time, without
 * keeping the process alive.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ByteBoundedCache } from '../../shared/core/io/byte-bounded-cache';

describe('ByteBoundedCache', () => {
  it('drops the least recently used entries over the bound and keeps none larger than it', () => {
    const c = new ByteBoundedCache<string>({ maxBytes: 100, idleMs: 0 });
    c.set('a', 't', 'A', 40);
    c.set('b', 't', 'B', 40);
    assert.equal(c.get('a', 't'), 'A'); // a is now the most recent
    c.set('c', 't', 'C', 40); // 120 bytes: b goes
    assert.deepEqual(c.held(), { entries: 2, bytes: 80 });
    assert.equal(c.get('b', 't'), undefined);
    assert.equal(c.get('a', 't'), 'A');
    assert.equal(c.get('c', 't'), 'C');
    c.set('a', 't', 'too big', 101); // replaces a's entry: the old value is stale, the new one not kept
    assert.equal(c.get('a', 't'), undefined);
    assert.deepEqual(c.held(), { entries: 1, bytes: 40 });
  });

  it('a different tag, or none, is a miss and drops the entry', () => {
    const c = new ByteBoundedCache<string>({ maxBytes: 100, idleMs: 0 });
    c.set('a', 'v1', 'A', 10);
    assert.equal(c.get('a', 'v2'), undefined);
    assert.deepEqual(c.held(), { entries: 0, bytes: 0 });
    c.set('a', 'v1', 'A', 10);
    assert.equal(c.get('a', undefined), undefined);
    assert.deepEqual(c.held(), { entries: 0, bytes: 0 });
  });

  it('empties after its idle time without a get or set, and not while it is used', async () => {
    let released = 0;
    const c = new ByteBoundedCache<string>({ maxBytes: 100, idleMs: 150, onIdleRelease: () => released++ });
    c.set('a', 't', 'A', 10);
    // Used every 50 ms for 400 ms: never idle for 150 ms, so it keeps its entry.
    for (let i = 0; i < 8; i++) {
      await sleep(50);
      assert.equal(c.get('a', 't'), 'A', `use ${i}`);
    }
    assert.equal(released, 0);
    await sleep(400);
    assert.deepEqual(c.held(), { entries: 0, bytes: 0 });
    assert.equal(released, 1);
    // Filled again, it empties again; an empty cache has nothing to release.
    c.set('b', 't', 'B', 10);
    await sleep(400);
    assert.deepEqual(c.held(), { entries: 0, bytes: 0 });
    assert.equal(released, 2);
  });

  it('its idle timer does not keep a process alive', () => {
    const module = path.join(__dirname, '../../shared/core/io/byte-bounded-cache.js');
    const script = `const { ByteBoundedCache } = require(${JSON.stringify(module)});
      const c = new ByteBoundedCache({ maxBytes: 10, idleMs: 60000 });
      c.set('a', 't', 1, 1);
      console.log(c.held().entries);`;
    // A timer that held the process would keep it for 60 s: spawnSync kills it at 20 s (status null).
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, `status ${r.status}, signal ${r.signal}: ${r.stderr}`);
    assert.equal(r.stdout.trim(), '1');
  });
});
