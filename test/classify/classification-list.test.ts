import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLASSIFICATION_FILES,
  ClassificationRecord,
  ClassificationSummary,
  classificationKey,
} from '../../shared/runtime/classify/batch';
import { call } from '../helpers/http';
import { Stack, startStack } from '../helpers/stack';

/** A completed classification written as submission and merge write it: its record, summary and index entry. */
async function written(stack: Stack, id: string, createdAt: Date, tickets: number): Promise<void> {
  const record: ClassificationRecord = {
    id,
    dataset: 'sample.json',
    model: 'run-x',
    alias: null,
    threshold: 0.5,
    chunkSize: 100,
    createdAt: createdAt.toISOString(),
  };
  const summary: ClassificationSummary = {
    id,
    dataset: 'sample.json',
    model: 'run-x',
    threshold: 0.5,
    tickets,
    counts: { a: tickets - 1, needs_review: 1 },
    abstained: 1,
    abstentionRate: 1 / tickets,
    drift: { outOfVocabularyShare: 0, predictedMix: { a: 1 }, trainingMix: { a: 1 } },
    seconds: 1,
  };
  const store = stack.runs.artifacts;
  await store.putJson(classificationKey(id, CLASSIFICATION_FILES.record), record);
  await store.putJson(classificationKey(id, CLASSIFICATION_FILES.summary), summary);
  const member = `${String(createdAt.getTime()).padStart(15, '0')}|${id}`;
  await stack.connection.zadd(stack.runs.keys.classifications, 0, member);
}

describe('GET /classifications', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ api: true });
  });
  after(async () => {
    await stack?.close();
  });

  it('lists classifications newest first, up to limit, leaving out those whose files are gone', async () => {
    const t0 = Date.parse('2026-12-01T10:00:00Z');
    // Written out of order: the list's order is the creation time's, not the insertion's.
    await written(stack, 'cls-b', new Date(t0 + 2000), 20);
    await written(stack, 'cls-a', new Date(t0 + 1000), 10);
    await written(stack, 'cls-c', new Date(t0 + 3000), 30);
    await stack.connection.zadd(
      stack.runs.keys.classifications,
      0,
      `${String(t0 + 4000).padStart(15, '0')}|cls-gone`,
    );

    const all = await call(stack, 'GET', '/classifications');
    assert.equal(all.status, 200, JSON.stringify(all.json));
    assert.deepEqual(
      all.json.classifications.map((c: { id: string }) => c.id),
      ['cls-c', 'cls-b', 'cls-a'],
    );
    assert.deepEqual(all.json.classifications[0], {
      id: 'cls-c',
      model: 'run-x',
      dataset: 'sample.json',
      state: 'completed',
      progress: 100,
      createdAt: new Date(t0 + 3000).toISOString(),
      tickets: 30,
      abstentionRate: 1 / 30,
    });
    const two = await call(stack, 'GET', '/classifications?limit=3');
    assert.deepEqual(
      two.json.classifications.map((c: { id: string }) => c.id),
      ['cls-c', 'cls-b'],
      'the newest 3 index entries, one of them gone',
    );
  });

  it('answers 400 naming the parameter for a bad limit or an unknown parameter', async () => {
    for (const q of ['limit=0', 'limit=201', 'limit=abc', 'limit=1.5', 'limit=1&limit=2']) {
      const res = await call(stack, 'GET', `/classifications?${q}`);
      assert.equal(res.status, 400, q);
      assert.match(res.json.error, /"limit"/, q);
    }
    const res = await call(stack, 'GET', '/classifications?state=completed');
    assert.equal(res.status, 400);
    assert.match(res.json.error, /state/);
  });
});
