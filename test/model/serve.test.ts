import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readCsvFile } from '../helpers/read-csv-file';
import { runDir } from '../../shared/core/storage';
import { call, completedRun } from '../helpers/http';
import { Stack, startSampleStack, waitForRun } from '../helpers/stack';

interface Prediction {
  id?: string | number;
  label: string;
  confidence: number;
  probabilities: Record<string, number>;
  abstained: boolean;
}

describe('models: versions, aliases, online classification', () => {
  let stack: Stack;
  let first: string;
  before(async () => {
    stack = await startSampleStack('serve-data', { workers: 1, api: true });
    first = await completedRun(stack);
  });
  after(async () => {
    await stack.close();
  });

  it('says how to set the production alias before one exists, and checks alias requests', async () => {
    const none = await call(stack, 'POST', '/classify', {
      tickets: [{ text: 'My card was charged twice.' }],
    });
    assert.equal(none.status, 409);
    assert.match(none.json.error, /PUT \/models\/aliases\/production/);
    const models = await call(stack, 'GET', '/models');
    assert.equal(models.status, 200);
    assert.deepEqual(
      models.json.models.map((m: { run: string; aliases: string[] }) => [m.run, m.aliases]),
      [[first, []]],
    );
    assert.equal((await call(stack, 'PUT', '/models/aliases/production', { run: 'nope-1' })).status, 404);
    assert.equal((await call(stack, 'PUT', '/models/aliases/9bad', { run: first })).status, 400);
    assert.equal((await call(stack, 'PUT', '/models/aliases/production', { runs: first })).status, 400);
    const set = await call(stack, 'PUT', '/models/aliases/production', { run: first });
    assert.equal(set.status, 200);
    assert.deepEqual(set.json, { alias: 'production', run: first });
    const listed = await call(stack, 'GET', '/models');
    assert.deepEqual(listed.json.models[0].aliases, ['production']);
  });

  it('classifies the test tickets exactly as training did (labels, and probabilities to 1e-12)', async () => {
    await call(stack, 'PUT', '/models/aliases/production', { run: first });
    const dir = runDir(stack.config.storageDir, first);
    const narratives: string[] = [];
    await readCsvFile(path.join(dir, 'tickets.csv'), ['complaint_what_happened'], (row) =>
      narratives.push(row.complaint_what_happened!),
    );
    const expected = JSON.parse(fs.readFileSync(path.join(dir, 'test_predictions.json'), 'utf8')) as {
      rows: number[];
      probabilities: number[][];
    };
    const model = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as { classes: string[] };
    const tickets = expected.rows.map((r) => ({ id: r, text: narratives[r]! }));
    const res = await call(stack, 'POST', '/classify', { tickets, threshold: 0 });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual(res.json.model, { run: first, alias: 'production' });
    const predictions = res.json.predictions as Prediction[];
    assert.equal(predictions.length, tickets.length);
    let worst = 0;
    predictions.forEach((p, i) => {
      assert.equal(p.id, expected.rows[i]);
      const probs = expected.probabilities[i]!;
      const best = probs.indexOf(Math.max(...probs));
      assert.equal(p.label, model.classes[best], `ticket ${expected.rows[i]}`);
      model.classes.forEach((c, k) => (worst = Math.max(worst, Math.abs(p.probabilities[c]! - probs[k]!))));
      assert.equal(p.confidence, Math.max(...probs));
      assert.equal(p.abstained, false);
    });
    assert.ok(worst <= 1e-12, `largest probability difference ${worst}`);
  });

  it('abstains below the threshold: the model default, or the request own', async () => {
    const ticket = {
      tickets: [{ id: 'a', text: 'The bank charged an overdraft fee on my checking account.' }],
    };
    const byDefault = await call(stack, 'POST', '/classify', ticket);
    assert.equal(byDefault.status, 200);
    const threshold = byDefault.json.threshold as number;
    assert.ok(threshold > 0 && threshold < 1, `calibrated default threshold ${threshold}`);
    const strict = await call(stack, 'POST', '/classify', { ...ticket, threshold: 1 });
    const p = strict.json.predictions[0] as Prediction;
    assert.equal(p.abstained, true);
    assert.equal(p.label, 'needs_review');
    assert.equal(p.id, 'a');
    const lax = await call(stack, 'POST', '/classify', { ...ticket, threshold: 0 });
    assert.equal(lax.json.predictions[0].abstained, false);
    assert.notEqual(lax.json.predictions[0].label, 'needs_review');
  });

  it('refuses bad requests: 413 for too many tickets or bytes, 400 naming the ticket, 404 for an unknown model', async () => {
    const many = { tickets: Array.from({ length: 1001 }, (_, i) => ({ text: `ticket ${i}` })) };
    assert.equal((await call(stack, 'POST', '/classify', many)).status, 413);
    const huge = JSON.stringify({ tickets: [{ text: 'x'.repeat(1_100_000) }] });
    assert.equal((await call(stack, 'POST', '/classify', huge)).status, 413);
    const cases: [unknown, number, RegExp][] = [
      [{ tickets: [{ text: 'fine' }, { id: 2 }] }, 400, /tickets\[1\] has no "text"/],
      [{ tickets: [{ text: 5 }] }, 400, /tickets\[0\]\.text must be a string/],
      [{ tickets: [] }, 400, /non-empty array/],
      [{ tickets: [{ text: 'x' }], threshold: 2 }, 400, /threshold/],
      [{ tickets: [{ text: 'x' }], model: 'staging' }, 404, /no model or alias "staging"/],
      [{ tickets: [{ text: 'x' }], colour: 'red' }, 400, /unknown field/],
    ];
    for (const [body, status, message] of cases) {
      const res = await call(stack, 'POST', '/classify', body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.match(res.json.error, message);
    }
  });

  it('moving an alias takes effect on the next request', async () => {
    const second = (await call(stack, 'POST', '/runs', { dataset: 'sample.json', params: { C: 0.3 } })).json
      .id;
    assert.equal((await waitForRun(stack.runs, second)).state, 'completed');
    const ticket = { tickets: [{ text: 'I was charged a late fee on my credit card.' }] };
    await call(stack, 'PUT', '/models/aliases/production', { run: first });
    assert.equal((await call(stack, 'POST', '/classify', ticket)).json.model.run, first);
    await call(stack, 'PUT', '/models/aliases/production', { run: second });
    const moved = await call(stack, 'POST', '/classify', ticket);
    assert.equal(moved.json.model.run, second);
    const byRun = await call(stack, 'POST', '/classify', { ...ticket, model: first });
    assert.deepEqual(byRun.json.model, { run: first, alias: null });
  });
});
