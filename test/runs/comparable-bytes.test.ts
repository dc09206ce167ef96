/**
 * comparableBytes (test/runs/artifacts.ts), by which the determinism tests and the bench compare runs:
 * two models that differ only in the run and the build that trained them compare equal, and any other
 * difference in model.json, however small, still shows.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { comparableBytes } from './artifacts';

const model = (lineage: Record<string, unknown>, coef = [0.25, -1.5]) =>
  Buffer.from(
    JSON.stringify(
      { format: 'ticketflow-model', version: 2, classes: ['a', 'b'], coef: [coef], lineage },
      null,
      2,
    ) + '\n',
  );

describe('comparableBytes', () => {
  const lineage = { runId: 'r1', datasetSha256: 'ab', codeVersion: '1.0.0+0123456789ab', params: { C: 1 } };

  it('leaves out model.json’s run id and code version, and nothing else', () => {
    const same = comparableBytes(
      'model.json',
      model({ ...lineage, runId: 'r2', codeVersion: '1.0.0+ba9876543210' }),
    );
    assert.ok(comparableBytes('model.json', model(lineage)).equals(same));
    for (const other of [
      model({ ...lineage, datasetSha256: 'ac' }),
      model({ ...lineage, params: { C: 10 } }),
      model(lineage, [0.25, -1.5000000000000002]),
    ])
      assert.ok(!comparableBytes('model.json', model(lineage)).equals(comparableBytes('model.json', other)));
    // Other artifacts compare as they are.
    const bytes = model(lineage);
    assert.ok(comparableBytes('topics.json', bytes).equals(bytes));
  });
});
