/**
 * A state looks the same wherever it is shown: the `/ui` page's badges and chart, its script, and the run
 * report all take their colours from the one table.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UI_HTML } from '../../producers/api/ui/page';
import { renderRunReportFragment } from '../../shared/runtime/report/run-report';
import { STATE_COLOURS, ShownState } from '../../shared/runtime/report/state-colours';
import { STAGES } from '../../shared/pipeline/stages/definitions';
import { RunRecord, StageRecord, RUN_STATES } from '../../shared/runtime/runs/record';

const badgeColours = (html: string) =>
  [...html.matchAll(/class="badge state-([a-z]+)" style="background:(#[0-9a-f]{6})"/g)].map((m) => [
    m[1],
    m[2],
  ]);

describe('state colours', () => {
  it('the page CSS, the page script and the run report agree for every state', () => {
    for (const [state, colour] of Object.entries(STATE_COLOURS)) {
      assert.ok(UI_HTML.includes(`.state-${state}{background:${colour}}`), `page CSS for ${state}`);
    }
    const chart = /data-state-colours="([^"]*)"/.exec(UI_HTML);
    assert.ok(chart, 'the page hands its script the colours as data-state-colours');
    assert.deepEqual(JSON.parse((chart[1] ?? '').replace(/&quot;/g, '"')), STATE_COLOURS);
    const stageStates: ShownState[] = ['pending', 'waiting', 'active', 'retrying'];
    for (const state of RUN_STATES) {
      const record = {
        id: 'r1',
        state,
        dataset: 'd.json',
        datasetBytes: 2,
        datasetSha256: 'ab'.repeat(32),
        cache: true,
        codeVersion: 'v',
        params: {},
        createdAt: '2026-01-01T00:00:00.000Z',
        startedAt: null,
        finishedAt: null,
        durationSeconds: null,
        progress: 0,
        generation: 1,
        stages: STAGES.map(
          (stage, i) => ({ stage, state: stageStates[i], tags: [], seconds: null }) as unknown as StageRecord,
        ),
        error: null,
        metrics: null,
        warnings: [],
        events: [],
      } as unknown as RunRecord;
      const html = renderRunReportFragment(record, { timeline: [] });
      const seen = badgeColours(html);
      assert.ok(seen.length >= 1 + STAGES.length, `badges in the report of a ${state} run`);
      for (const [s, colour] of seen)
        assert.equal(colour, STATE_COLOURS[s as ShownState], `report badge ${s}`);
    }
  });
});
