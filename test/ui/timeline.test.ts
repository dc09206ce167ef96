import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { attemptsFromLogs, TimelineEntry } from '../../shared/runtime/runs/timeline';
import { timelineSvg } from '../../shared/runtime/report/run-report';

describe('run timeline', () => {
  it('reads each attempt from a job log: retries and the split/merge restart of text processing', () => {
    const a = attemptsFromLogs([
      '2026-01-01T00:00:00.000Z training attempt 1 of 4 started',
      '2026-01-01T00:00:01.000Z training failed: injected transient failure',
      '2026-01-01T00:00:03.000Z training attempt 2 of 4 started',
      '2026-01-01T00:00:04.500Z training completed in 1.500 s',
    ]);
    assert.deepEqual(
      a.map((x) => [x.attempt, x.end, x.finishedAt! - x.startedAt]),
      [
        [1, 'failed', 1000],
        [2, 'completed', 1500],
      ],
    );
    assert.equal(a[0]!.message, 'injected transient failure');
    const tp = attemptsFromLogs([
      '2026-01-01T00:00:00.000Z text-processing attempt 1 of 4 started',
      '2026-01-01T00:00:01.000Z text-processing attempt 1 of 4 started',
      '2026-01-01T00:00:02.000Z text-processing completed in 2 s',
    ]);
    assert.equal(tp.length, 1, 'split and merge are one attempt');
  });

  it('draws retried and failed attempts as distinct bars', () => {
    const bar = (attempt: number, outcome: TimelineEntry['outcome'], s: number): TimelineEntry => ({
      queue: 'training',
      stage: 'training',
      jobId: 'r-training',
      generation: 1,
      worker: attempt === 2 ? 'w@h:1' : null,
      attempt,
      startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString(),
      finishedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, s + 1)).toISOString(),
      outcome,
    });
    const svg = timelineSvg([bar(1, 'retried', 0), bar(2, 'failed', 3)], new Date());
    assert.match(svg, /class="timeline-bar outcome-retried"[^>]*data-stage="training"/);
    assert.match(svg, /class="timeline-bar outcome-failed"/);
    assert.match(svg, /fill="url\(#hatch-training\)"/);
    assert.match(svg, /href="\/board\/queue\/training\/r-training"/);
  });
});
