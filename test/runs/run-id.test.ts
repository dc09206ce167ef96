/** A run id is checked by one pattern wherever it arrives: as a folder name, in an API path, in a cursor. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newRunId } from '../../shared/runtime/flow/run-id';
import { decodeCursor } from '../../shared/runtime/runs/run-store';
import { RUN_ID_PATTERN, runDir } from '../../shared/core/storage';

describe('run id pattern', () => {
  it('runDir and cursors accept what the pattern accepts and refuse the rest, length included', () => {
    const cursor = (id: string) => Buffer.from(`202601010000000|${id}`, 'utf8').toString('base64url');
    for (const id of [newRunId(), 'a', 'x'.repeat(80)]) {
      assert.ok(RUN_ID_PATTERN.test(id), id);
      assert.match(runDir('/s', id), /\/s\/runs\//);
      assert.equal(decodeCursor(cursor(id)), `202601010000000|${id}`);
    }
    for (const id of ['', 'x'.repeat(81), '../x', 'a.b', 'a b']) {
      assert.ok(!RUN_ID_PATTERN.test(id), id);
      assert.throws(() => runDir('/s', id), RangeError, id);
      assert.throws(() => decodeCursor(cursor(id)), RangeError, id);
    }
  });
});
