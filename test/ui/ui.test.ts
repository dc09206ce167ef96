import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { chromiumSkip, launchChromium } from '../helpers/browser';
import { runDir } from '../../shared/core/storage';
import { TopicsFile } from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { MetricsFile } from '../../shared/pipeline/stages/training/training';
import { STAGES } from '../../shared/pipeline/stages/definitions';
import { STATE_COLOURS } from '../../shared/runtime/report/state-colours';
import { SAMPLE_DATASET, tempDir } from '../helpers/env';
import { Stack, startStack, waitForRun } from '../helpers/stack';
import { call } from '../helpers/http';
import { scaleDataset } from '../../tools/bench/scale-dataset';

const skip = chromiumSkip;
if (skip) process.stdout.write(`# ui test skipped: ${skip}\n`);

describe('the run pages in a real headless Chromium', { skip, timeout: 120_000 }, () => {
  let stack: Stack;
  let dataDir: string;
  let shots: string;
  let profile: string;
  let browser: BrowserContext;
  let page: Page;
  before(async () => {
    dataDir = tempDir('ui-data');
    shots = fs.mkdtempSync(path.join(os.tmpdir(), 'ticketflow-ui-shots-'));
    profile = tempDir('ui-chromium');
    fs.copyFileSync(SAMPLE_DATASET, path.join(dataDir, 'sample.json'));
    await scaleDataset(SAMPLE_DATASET, 10, path.join(dataDir, 'sample-x10.jsonl'));
    [stack, browser] = await Promise.all([
      startStack({ workers: 2, api: true, env: { TICKETFLOW_DATA_DIR: dataDir } }),
      launchChromium(profile),
    ]);
    page = browser.pages()[0] ?? (await browser.newPage());
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
    for (const d of [dataDir, profile]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  const shot = async (t: { diagnostic(m: string): void }, name: string) => {
    const file = path.join(shots, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    t.diagnostic(`screenshot ${file}`);
  };
  const shotOf = async (t: { diagnostic(m: string): void }, name: string, selector: string) => {
    const file = path.join(shots, `${name}.png`);
    // A live page re-renders its parts as the run goes on: an element replaced while it was being shot
    // is shot again, as the page now shows it.
    for (let tries = 1; ; tries++) {
      try {
        await page.locator(selector).first().screenshot({ path: file });
        break;
      } catch (err) {
        if (tries >= 3 || !/not attached to the DOM/.test((err as Error).message)) throw err;
      }
    }
    t.diagnostic(`screenshot ${file}`);
  };

  it(
    'lists a finished run, opens it and shows its timeline, confusion matrix and topics',
    { timeout: 60_000 },
    async (t) => {
      const submitted = await call(stack, 'POST', '/runs', { dataset: 'sample.json' });
      assert.equal(submitted.status, 202, JSON.stringify(submitted.json));
      const id: string = submitted.json.id;
      const record = await waitForRun(stack.runs, id, 60_000);
      assert.equal(record.state, 'completed');

      await page.goto(`${stack.baseUrl}/ui`);
      await page.waitForSelector(`tr.run-row[data-run-id="${id}"][data-state="completed"]`);
      await page.waitForSelector(`#chart .dot[data-run-id="${id}"]`);
      // The script colours its chart from the table the page hands it as data.
      const dotFill = await page.getAttribute(`#chart .dot[data-run-id="${id}"] circle`, 'fill');
      assert.equal(dotFill, STATE_COLOURS.completed);
      await shot(t, '1-list');

      await page.click(`tr.run-row[data-run-id="${id}"]`);
      await page.waitForSelector(`.run-report[data-run-id="${id}"][data-state="completed"]`);
      for (const stage of STAGES) {
        const bars = await page.locator(`.timeline-bar[data-stage="${stage}"]`).count();
        assert.ok(bars >= 1, `a timeline bar for ${stage}`);
      }
      const dir = runDir(stack.config.storageDir, id);
      const metrics = JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8')) as MetricsFile;
      const topics = JSON.parse(fs.readFileSync(path.join(dir, 'topics.json'), 'utf8')) as TopicsFile;
      const cells = await page.$$eval('.confusion td[data-row][data-col]', (tds) =>
        tds.map((td) => [
          Number(td.getAttribute('data-row')),
          Number(td.getAttribute('data-col')),
          Number(td.textContent),
        ]),
      );
      const matrix = metrics.test.confusionMatrix!;
      assert.equal(cells.length, matrix.length * matrix.length);
      for (const [r, c, n] of cells) assert.equal(n, matrix[r!]![c!], `confusion cell ${r},${c}`);
      const candidates = await page.$$eval('table[data-testid="search"] tr[data-candidate]', (trs) =>
        trs.map((tr) => [
          Number(tr.getAttribute('data-candidate')),
          tr.getAttribute('data-winner') === 'true',
        ]),
      );
      assert.deepEqual(
        candidates,
        metrics.search!.candidates.map((c) => [c.id, c.winner]),
        'the search table lists every candidate and marks the winner',
      );
      const names = await page.$$eval('.topic-name', (els) => els.map((e) => e.textContent));
      assert.deepEqual(
        names,
        topics.topics.map((x) => x.name),
      );
      // A stage's seconds span its child jobs; training's refit is shown apart.
      const training = record.stages.find((s) => s.stage === 'training')!;
      const trainingRow = page.locator('.run-report tr.stage-row[data-stage="training"]');
      assert.equal(
        await trainingRow.locator('[data-testid="refit-seconds"]').textContent(),
        training.refitSeconds!.toFixed(2),
      );
      assert.match(
        (await trainingRow.locator('[data-testid="stage-seconds"]').textContent()) ?? '',
        new RegExp(`^${training.seconds!.toFixed(2)}refit`),
      );
      assert.equal(await page.locator('#btn-delete').isEnabled(), true);
      assert.equal(await page.locator('#btn-cancel').isEnabled(), false);
      // The run's artifacts, each a download of exactly its stored bytes.
      const metricsLink = page.locator('#artifacts-body a[data-artifact="metrics.json"]');
      await metricsLink.waitFor();
      assert.equal(
        await page.locator('#artifacts-body tr[data-artifact="model.json"] td').nth(1).textContent(),
        'training',
      );
      const [saved] = await Promise.all([page.waitForEvent('download'), metricsLink.click()]);
      assert.equal(saved.suggestedFilename(), 'metrics.json');
      assert.ok(
        fs.readFileSync((await saved.path())!).equals(fs.readFileSync(path.join(dir, 'metrics.json'))),
        'the downloaded artifact is the stored file',
      );
      await shot(t, '2-run');
      await shotOf(t, '2-run-timeline', '.run-report #timeline');
      await shotOf(t, '2-run-model', '.run-report #metrics');

      // The stored report: self-contained (no script, no external URL); rendered on demand for a final run.
      const res = await fetch(`${stack.baseUrl}/runs/${id}/report`);
      assert.equal(res.status, 200);
      const html = await res.text();
      assert.doesNotMatch(html, /<script|https?:\/\//);
      assert.ok(fs.existsSync(path.join(dir, 'report.html')));
      await page.goto(`${stack.baseUrl}/runs/${id}/report`);
      assert.ok((await page.locator('.timeline-bar').count()) >= 4);
      await shot(t, '3-report');
      assert.equal((await call(stack, 'GET', '/runs/no-such-run/report')).status, 404);
    },
  );

  it('follows a bigger run live until it completes', { timeout: 70_000 }, async (t) => {
    const submitted = await call(stack, 'POST', '/runs', {
      dataset: 'sample-x10.jsonl',
      params: { chunkSize: 500 },
    });
    assert.equal(submitted.status, 202, JSON.stringify(submitted.json));
    const id: string = submitted.json.id;
    await page.goto(`${stack.baseUrl}/ui#/runs/${id}`);
    await page.waitForSelector(`.run-report[data-run-id="${id}"]`);
    const seen = new Set<string>();
    const deadline = Date.now() + 60_000;
    let shotLive = false;
    for (;;) {
      const state = await page.getAttribute('#run-state', 'data-state');
      if (state) seen.add(state);
      if (!shotLive && (await page.locator('.timeline-bar[data-queue="text-chunks"]').count()) > 0) {
        shotLive = true;
        await shot(t, '4-live');
        await shotOf(t, '4-live-timeline', '.run-report #timeline');
      }
      if (state === 'completed') break;
      assert.ok(Date.now() < deadline, `the page still shows ${state}`);
      await page.waitForTimeout(250);
    }
    await page.waitForSelector(`.run-report[data-run-id="${id}"][data-state="completed"]`);
    assert.ok(seen.has('active') || seen.has('waiting'), `followed it live: ${[...seen].join(', ')}`);
    assert.ok((await page.locator('.timeline-bar[data-queue="text-chunks"]').count()) > 1, 'chunk bars');
    assert.equal(await page.locator('#live').textContent(), '');
    await shot(t, '5-big-run');
    await shotOf(t, '5-big-run-timeline', '.run-report #timeline');
    await shotOf(t, '5-big-run-top', '#run-view');
  });
});
