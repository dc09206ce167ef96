import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLiveDisplay, displayLines } from '../../producers/cli/live-display';
import { formatReport } from '../../producers/cli/report';
import { DEFAULT_PIPELINE_PARAMS } from '../../shared/core/config/pipeline-params';
import { RunRecord } from '../../shared/runtime/runs/record';
import { makeRecord } from '../helpers/records';

function record(): RunRecord {
  const at = '2026-11-29T00:00:00.000Z';
  return makeRecord(
    'r1',
    at,
    (s, i) =>
      i === 0
        ? {
            ...s,
            state: 'completed' as const,
            progress: 100,
            attemptsMade: 1,
            attemptsStarted: 1,
            startedAt: at,
            finishedAt: '2026-11-29T00:00:01.500Z',
            result: {
              stats: { file: 'x', format: 'json', read: 10, kept: 8, dropped: { 'empty narrative': 2 } },
            },
          }
        : i === 1
          ? {
              ...s,
              state: 'active' as const,
              progress: 40,
              attemptsStarted: 2,
              attemptsMade: 1,
              startedAt: '2026-11-29T00:00:01.600Z',
            }
          : s,
    { state: 'active', startedAt: at, params: { ...DEFAULT_PIPELINE_PARAMS, topics: 5, C: 0.5 } },
  );
}

describe('the CLI live display and report', () => {
  it('draws one bar per stage with progress, attempt and elapsed time', () => {
    const lines = displayLines(
      record(),
      Date.parse('2026-11-29T00:00:00.000Z'),
      Date.parse('2026-11-29T00:00:03.000Z'),
    );
    assert.equal(lines.length, 5);
    assert.match(lines[0]!, /run r1 active, 3\.0 s since enqueue/);
    assert.match(lines[1]!, /^text-processing +\[#{24}\] 100% completed +1\.5 s$/);
    assert.match(lines[2]!, /^feature-extraction +\[#{10}\.{14}\] {2}40% active +attempt 2 1\.4 s$/);
    assert.match(lines[3]!, /^transform-split +\[\.{24}\] {3}0% pending/);
  });

  it('redraws in place on a terminal, and prints a line per change otherwise', () => {
    const tty = Object.assign(new PassThrough(), {
      isTTY: true,
      columns: 200,
    }) as unknown as NodeJS.WriteStream;
    let out = '';
    (tty as unknown as PassThrough).on('data', (d: Buffer) => (out += d.toString()));
    const display = createLiveDisplay(tty, Date.now());
    display.update(record());
    display.update(record());
    assert.equal(
      out.split('\x1b[5A').length,
      2,
      'the second frame moves back up over the five lines of the first',
    );
    assert.equal(out.split('\x1b[2K').length - 1, 10);

    const pipe = new PassThrough() as unknown as NodeJS.WriteStream;
    let plain = '';
    (pipe as unknown as PassThrough).on('data', (d: Buffer) => (plain += d.toString()));
    const lines = createLiveDisplay(pipe, Date.now());
    lines.update(record());
    lines.update(record());
    assert.equal(plain.trim().split('\n').length, 1, 'unchanged state: no new line');
    assert.ok(!plain.includes('\x1b'), 'no escape codes when stderr is not a terminal');
  });

  it('the report counts records, names the parameters off their defaults and times from enqueue', () => {
    const text = formatReport(record(), '/tmp/x', { seconds: 2.5, startupSeconds: 0.75 });
    assert.match(text, /in 2\.50 s from enqueue \(start-up of Redis and workers before it: 0\.75 s\)/);
    assert.match(text, /Parameters not at their defaults: topics=5, C=0\.5/);
    assert.match(text, /Records: 10 read, 8 kept, 2 dropped \(2 empty narrative\)/);
  });
});
