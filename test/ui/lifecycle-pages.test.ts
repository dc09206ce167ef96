import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { BrowserContext, Page } from 'playwright-core';
import { chromiumSkip, launchChromium } from '../helpers/browser';
import { tempDir } from '../helpers/env';
import { call } from '../helpers/http';
import { SampleStack, startSampleStack, waitForRun } from '../helpers/stack';

const skip = chromiumSkip;
if (skip) process.stdout.write(`# lifecycle pages test skipped: ${skip}\n`);

/** A one-candidate search: the grid is not what these tests are about. */
const PARAMS = { searchC: [1], searchClassWeight: ['none'] };

/** As the page shows a share. */
const pct = (x: number) => (x * 100).toFixed(1) + ' %';

describe('the model lifecycle pages in a real headless Chromium', { skip, timeout: 150_000 }, () => {
  let stack: SampleStack;
  let profile: string;
  let browser: BrowserContext;
  let page: Page;
  let first: string;
  let scheduled: string;
  let classification: string;

  before(async () => {
    profile = tempDir('ui-lifecycle-chromium');
    [stack, browser] = await Promise.all([
      startSampleStack('ui-lifecycle', { workers: 2, api: true }),
      launchChromium(profile),
    ]);
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('dialog', (d) => void d.accept());

    // A completed run named by an alias, a classification with it, and a schedule whose first run the
    // promotion gate holds back (no model gains half the accuracy).
    const run = await call(stack, 'POST', '/runs', { dataset: 'sample.json', params: PARAMS });
    assert.equal(run.status, 202, JSON.stringify(run.json));
    first = run.json.id;
    assert.equal((await waitForRun(stack.runs, first, 60_000)).state, 'completed');
    assert.equal((await call(stack, 'PUT', '/models/aliases/production', { run: first })).status, 200);
    const submitted = await call(stack, 'POST', '/classifications', { dataset: 'sample.json' });
    assert.equal(submitted.status, 202, JSON.stringify(submitted.json));
    classification = submitted.json.id;
    const schedule = await call(stack, 'POST', '/schedules', {
      id: 'nightly',
      everySeconds: 3600,
      dataset: 'sample.json',
      params: PARAMS,
      promote: { alias: 'production', metric: 'accuracy', minDelta: 0.5 },
    });
    assert.equal(schedule.status, 201, JSON.stringify(schedule.json));
    // An `every` scheduler's first tick is due at once; its run's gate decision ends the setup.
    for (const deadline = Date.now() + 60_000; ;) {
      const [models, cls] = await Promise.all([
        call(stack, 'GET', '/models'),
        call(stack, 'GET', `/classifications/${classification}`),
      ]);
      const gated = models.json.models.find((m: { gate: unknown }) => m.gate !== null);
      assert.notEqual(cls.json.state, 'failed', JSON.stringify(cls.json));
      if (gated && cls.json.state === 'completed') {
        scheduled = gated.run;
        break;
      }
      assert.ok(Date.now() < deadline, 'the scheduled run is gated and the classification completes');
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  const shot = async (t: { diagnostic(m: string): void }, name: string) => {
    const file = `/tmp/ticketflow-ui-${name}.png`;
    await page.screenshot({ path: file, fullPage: true });
    t.diagnostic(`screenshot ${file}`);
  };

  it('shows versions with metrics, aliases and gate decisions; promotes and rolls back', async (t) => {
    const models = (await call(stack, 'GET', '/models')).json;
    await page.goto(`${stack.baseUrl}/ui#/models`);
    const firstRow = page.locator(`table[data-testid="versions"] tr[data-run-id="${first}"]`);
    await firstRow.waitFor();
    const firstModel = models.models.find((m: { run: string }) => m.run === first);
    assert.equal(
      await firstRow.locator('[data-testid="accuracy"]').textContent(),
      pct(firstModel.testAccuracy),
    );
    assert.equal(await firstRow.locator('[data-testid="f1"]').textContent(), pct(firstModel.testF1));
    assert.equal(await firstRow.locator('[data-testid="aliases"]').textContent(), 'production');
    const gate = page.locator(`tr[data-run-id="${scheduled}"] [data-testid="gate"]`);
    assert.equal(await gate.getAttribute('data-promoted'), 'false');
    const decision = models.models.find((m: { run: string }) => m.run === scheduled).gate;
    assert.equal(await gate.locator('[data-testid="verdict"]').textContent(), 'not promoted to production');
    assert.equal(await gate.locator('[data-testid="reason"]').textContent(), decision.reason);
    const alias = page.locator('div.alias[data-alias="production"]');
    assert.equal(await alias.getAttribute('data-run-id'), first);
    assert.equal(await alias.locator('tr[data-how="manual"]').count(), 1);
    await shot(t, 'models');

    // Promote the held-back version by hand, then roll the alias back to the first.
    await page.locator(`tr[data-run-id="${scheduled}"] [data-testid="promote"]`).click();
    await page.waitForSelector(`div.alias[data-alias="production"][data-run-id="${scheduled}"]`);
    assert.equal((await call(stack, 'GET', '/models')).json.aliases.production.run, scheduled);
    await alias.locator('[data-testid="rollback"]').click();
    await page.waitForSelector(`div.alias[data-alias="production"][data-run-id="${first}"]`);
    const after = (await call(stack, 'GET', '/models')).json;
    assert.equal(after.aliases.production.run, first);
    assert.deepEqual(
      after.aliasHistory.production.map((m: { how: string }) => m.how),
      ['rollback', 'manual', 'manual'],
    );
    assert.equal(await alias.locator('tr[data-how="rollback"]').count(), 1);
    await shot(t, 'models-rolled-back');
  });

  it('lists the classification and opens its counts, abstention, drift, review queue and predictions', async (t) => {
    const status = (await call(stack, 'GET', `/classifications/${classification}`)).json;
    const summary = status.summary;
    await page.goto(`${stack.baseUrl}/ui#/classifications`);
    const row = page.locator(`tr[data-classification-id="${classification}"][data-state="completed"]`);
    await row.waitFor();
    assert.equal(await row.locator('[data-testid="abstention"]').textContent(), pct(summary.abstentionRate));
    await shot(t, 'classifications');

    await row.locator('a', { hasText: classification }).click();
    await page.waitForSelector('table[data-testid="review"]');
    const counts = await page.$$eval('table[data-testid="counts"] tr[data-label]', (trs) =>
      trs.map((tr) => [tr.getAttribute('data-label'), Number(tr.children[1]!.textContent)]),
    );
    assert.deepEqual(Object.fromEntries(counts), summary.counts);
    assert.match(
      (await page.locator('[data-testid="abstention-rate"]').textContent()) ?? '',
      new RegExp(
        `^Abstention rate ${pct(summary.abstentionRate)} \\(${summary.abstained} of ${summary.tickets} `,
      ),
    );
    assert.equal(
      await page.locator('table[data-testid="drift"] tr[data-label]').count(),
      Object.keys(summary.drift.trainingMix).length,
    );
    assert.equal(
      await page.locator('table[data-testid="review"] tr[data-ticket-id]').count(),
      Math.min(20, summary.abstained),
    );
    const [saved] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('[data-testid="download-predictions"]').click(),
    ]);
    assert.equal(saved.suggestedFilename(), 'predictions.csv');
    const stored = await stack.runs.artifacts.get(`classifications/${classification}/predictions.csv`);
    assert.ok(
      fs.readFileSync((await saved.path())!).equals(stored),
      'the download is the stored predictions.csv',
    );
    await shot(t, 'classification');
  });

  it('shows the schedule with its next tick and run, and disables it', async (t) => {
    await page.goto(`${stack.baseUrl}/ui#/schedules`);
    const row = page.locator('tr[data-schedule-id="nightly"][data-enabled="true"]');
    await row.waitFor();
    assert.equal(await row.locator('[data-testid="enabled"]').textContent(), 'yes');
    assert.notEqual(await row.locator('[data-testid="next-tick"]').textContent(), '–');
    await row.locator(`[data-testid="schedule-runs"] [data-run-id="${scheduled}"]`).waitFor();
    await shot(t, 'schedules');
    await row.locator('[data-testid="toggle"]').click();
    await page.waitForSelector('tr[data-schedule-id="nightly"][data-enabled="false"]');
    const listed = (await call(stack, 'GET', '/schedules')).json.schedules;
    assert.equal(listed[0].enabled, false);
    assert.equal(listed[0].nextTick, null);
    await shot(t, 'schedules-disabled');
  });
});
