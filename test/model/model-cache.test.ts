import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { LoadedModel, loadModel, readModel } from '../../shared/pipeline/model/load-model';
import { loadModelOffThread } from '../../shared/pipeline/model/load-off-thread';
import { ModelCache } from '../../shared/pipeline/model/model-cache';
import { PackedVocabulary, packModel } from '../../shared/pipeline/model/packed-model';
import { ModelRegistry } from '../../shared/runtime/runs/model-registry';
import { ARTIFACTS } from '../../shared/pipeline/stages/context';
import { runDir } from '../../shared/core/storage';
import { tempDir } from '../helpers/env';
import { call } from '../helpers/http';
import { Stack, startStack } from '../helpers/stack';
import { syntheticModel, writeModelRun } from './synthetic-model';

const TEXTS = [
  'My bank charged a fee twice on my checking account.',
  'The mortgage payment was misapplied and my credit report shows a late payment.',
  'A debt collector keeps calling about a loan I never took.',
  '',
];

describe('packed models', () => {
  it('the packed vocabulary finds every term at its column and nothing else', () => {
    const file = syntheticModel({ terms: 5000, seed: 7 });
    const packed = packModel(file);
    const index = new PackedVocabulary(packed.terms, packed.termEnds, packed.termTable);
    assert.equal(index.size, 5000);
    file.vectorizer.vocabulary.forEach((t, j) => assert.equal(index.get(t), j, t));
    for (const unknown of ['', 'bankx', 'ban', 'zzzzzzzzzzzzzz', 'bank card extra'])
      assert.equal(index.get(unknown), undefined, unknown);
    assert.deepEqual([...index.keys()], file.vectorizer.vocabulary);
  });

  it('a model loaded in a worker thread answers bit for bit as one loaded in process', async () => {
    const dir = tempDir('packed');
    try {
      const file = path.join(dir, 'model.json');
      fs.writeFileSync(file, JSON.stringify(syntheticModel({ terms: 20_000, seed: 3 })));
      const inProcess = await readModel(file);
      const offThread = await loadModelOffThread(file);
      assert.deepEqual(offThread.file, inProcess.file);
      assert.equal(offThread.bytes, inProcess.bytes);
      const a = inProcess.classifyWithStats(TEXTS);
      const b = offThread.classifyWithStats(TEXTS);
      assert.deepEqual(b, a);
      const words = TEXTS.map((t) => t.toLowerCase());
      assert.deepEqual(
        Buffer.from(offThread.probabilities(words).buffer),
        Buffer.from(inProcess.probabilities(words).buffer),
      );
      // A bad file fails the same way in the thread, naming the file.
      fs.writeFileSync(path.join(dir, 'broken.json'), '{"format": ');
      await assert.rejects(loadModelOffThread(path.join(dir, 'broken.json')), /broken\.json is not JSON/);
      await assert.rejects(loadModelOffThread(path.join(dir, 'missing.json')), /missing\.json: ENOENT/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('estimates a loaded model’s bytes from its arrays and terms', () => {
    const small = loadModel(syntheticModel({ terms: 1000 }));
    const large = loadModel(syntheticModel({ terms: 50_000 }));
    // 7 classes × 8 bytes of coefficients, 8 of idf, 4 of term end, 8 of table and the term itself.
    assert.ok(large.bytes > 50_000 * (7 * 8 + 8 + 4), `${large.bytes}`);
    assert.ok(large.bytes < 50_000 * (7 * 8 + 8 + 4 + 16 + 40), `${large.bytes}`);
    assert.ok(small.bytes < large.bytes / 20);
  });
});

describe('the model cache', () => {
  const fake = (bytes: number): LoadedModel => ({ bytes }) as LoadedModel;

  it('loads a model once for concurrent requests, and a failed load once, then again on the next request', async () => {
    let loads = 0;
    let fail = true;
    const gates: (() => void)[] = [];
    const cache = new ModelCache({
      maxBytes: 100,
      load: async (key) => {
        loads++;
        await new Promise<void>((r) => gates.push(r));
        if (key === 'bad' && fail) throw new Error(`cannot read ${key}`);
        return fake(10);
      },
    });
    // Six models at once (more than a count-bounded cache of four would hold), each asked for twice.
    const keys = ['a', 'b', 'c', 'd', 'e', 'bad'];
    const first = keys.map((k) => cache.get(k).catch((e: Error) => e));
    const second = keys.map((k) => cache.get(k).catch((e: Error) => e));
    await new Promise((r) => setImmediate(r));
    assert.equal(loads, keys.length, 'one load per model');
    assert.equal(cache.stats().loading, keys.length);
    gates.splice(0).forEach((open) => open());
    const [one, two] = [await Promise.all(first), await Promise.all(second)];
    keys.forEach((k, i) => assert.equal(one[i], two[i], `${k}: both requests got the same answer`));
    assert.match(String(one[5]), /cannot read bad/);
    assert.equal(loads, keys.length);
    assert.deepEqual(cache.keys(), ['a', 'b', 'c', 'd', 'e'], 'a failed load is not cached');
    // The next request for the failed model loads it again (and succeeds now).
    fail = false;
    const again = cache.get('bad');
    await new Promise((r) => setImmediate(r));
    gates.splice(0).forEach((open) => open());
    assert.equal((await again).bytes, 10);
    assert.equal(loads, keys.length + 1);
    // Hits load nothing.
    await Promise.all(keys.map((k) => cache.get(k)));
    assert.equal(loads, keys.length + 1);
    assert.equal(cache.stats().loads, loads);
  });

  it('evicts the least recently used models by bytes, keeping the newest even when it alone is over', async () => {
    const sizes: Record<string, number> = { s1: 10, s2: 10, big1: 60, big2: 60, huge: 500 };
    const cache = new ModelCache({ maxBytes: 100, load: async (k) => fake(sizes[k]!) });
    for (const k of ['s1', 's2', 'big1']) await cache.get(k);
    await cache.get('s1'); // s1 is now the most recently used
    await cache.get('big2'); // 140 bytes: s2 then big1 (least recently used first) go
    assert.deepEqual(cache.keys(), ['s1', 'big2']);
    assert.equal(cache.stats().bytes, 70);
    await cache.get('huge');
    assert.deepEqual(cache.keys(), ['huge']);
    assert.equal(cache.stats().bytes, 500);
    assert.equal(cache.stats().loads, 5);
    await cache.get('big1');
    assert.equal(cache.stats().loads, 6, 'an evicted model is loaded again');
    assert.ok(cache.delete('big1'));
    assert.deepEqual(cache.keys(), []);
    assert.equal(cache.stats().bytes, 0);
  });
});

describe('the API’s model cache with real model files', () => {
  let stack: Stack;
  const runs = {
    small: '20260101-000000-aaaaaa',
    mid1: '20260101-000001-bbbbbb',
    mid2: '20260101-000002-cccccc',
    big: '20260101-000003-dddddd',
  };
  let midBytes: number;
  before(async () => {
    stack = await startStack({ api: true, env: { TICKETFLOW_MODEL_CACHE_MB: '8' } });
    const dir = stack.config.storageDir;
    await writeModelRun(stack.runs.store, dir, runs.small, syntheticModel({ terms: 2000, seed: 1 }));
    // About 5 MiB each loaded: two do not fit in 8 MiB.
    for (const [i, run] of [runs.mid1, runs.mid2].entries())
      await writeModelRun(stack.runs.store, dir, run, syntheticModel({ terms: 60_000, seed: 10 + i }));
    midBytes = loadModel(syntheticModel({ terms: 60_000, seed: 10 })).bytes;
    // A FIFO: its load waits until the test writes the model into it.
    await writeModelRun(stack.runs.store, dir, runs.big, (file) => execFileSync('mkfifo', [file]));
  });
  after(async () => {
    await stack?.close();
  });

  it('loads a version once for concurrent requests, and holds no more bytes than TICKETFLOW_MODEL_CACHE_MB', async () => {
    assert.equal(stack.config.modelCacheMb, 8);
    assert.ok(midBytes > 4 * 2 ** 20 && midBytes < 8 * 2 ** 20, `a mid model holds ${midBytes} bytes`);
    const registry = new ModelRegistry(stack.runs);
    const models = await Promise.all(Array.from({ length: 10 }, () => registry.model(runs.mid1)));
    assert.ok(models.every((m) => m === models[0]));
    assert.equal(registry.loaded.stats().loads, 1);
    await registry.model(runs.small);
    await registry.model(runs.mid2);
    assert.deepEqual(registry.loaded.keys(), [runs.small, runs.mid2], 'mid1 (least recently used) evicted');
    assert.ok(registry.loaded.stats().bytes <= 8 * 2 ** 20);
    await registry.model(runs.mid1);
    assert.deepEqual(registry.loaded.keys(), [runs.mid1]);
    assert.equal(registry.loaded.stats().loads, 4);
  });

  it('answers a request for a cached model while another model’s load is under way', async () => {
    const ticket = { tickets: [{ text: 'My bank charged a fee twice on my checking account.' }] };
    assert.equal((await call(stack, 'PUT', '/models/aliases/production', { run: runs.small })).status, 200);
    assert.equal((await call(stack, 'POST', '/classify', ticket)).status, 200, 'production is cached');

    const order: string[] = [];
    const finished = (): string[] => [...order];
    const big = call(stack, 'POST', '/classify', { ...ticket, model: runs.big }).then((r) => {
      order.push('big');
      return r;
    });
    // The big model's load has opened the FIFO once a writer can open it without waiting.
    const fifo = path.join(runDir(stack.config.storageDir, runs.big), ARTIFACTS.model);
    const writer = await fsp.open(fifo, 'w');
    const hitWhileOpen = await call(stack, 'POST', '/classify', ticket);
    assert.equal(hitWhileOpen.status, 200);
    assert.deepEqual(finished(), [], 'the big model is still loading');
    // All of the big model's bytes, then a hit: parsing them must not hold the hit up.
    await writer.writeFile(JSON.stringify(syntheticModel({ terms: 50_000, seed: 99 })));
    await writer.close();
    const hit = call(stack, 'POST', '/classify', ticket).then((r) => {
      order.push('hit');
      return r;
    });
    const [bigRes, hitRes] = await Promise.all([big, hit]);
    assert.equal(hitRes.status, 200, JSON.stringify(hitRes.json));
    assert.equal(bigRes.status, 200, JSON.stringify(bigRes.json));
    assert.deepEqual(bigRes.json.model, { run: runs.big, alias: null });
    assert.deepEqual(order, ['hit', 'big'], 'the cached model answered before the big load finished');
  });
});
