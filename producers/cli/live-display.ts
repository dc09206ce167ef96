import { childNoun } from '../../shared/pipeline/stages/definitions';
import { RunRecord, StageRecord } from '../../shared/runtime/runs/record';
import { progressLine } from './report';

/** Shows a followed run on stderr: redrawn in place on a terminal, one line per change otherwise. */
export interface LiveDisplay {
  update(record: RunRecord): void;
  /** Leave the last state on screen (a terminal) before other output follows. */
  end(): void;
}

const BAR = 24;

/** From the stage's start to its end (or now), as the record's `seconds`; training's refit apart. */
function elapsed(s: StageRecord, now: number): string {
  if (!s.startedAt) return '';
  const end = s.finishedAt ? Date.parse(s.finishedAt) : now;
  const refit = typeof s.refitSeconds === 'number' ? ` (refit ${s.refitSeconds.toFixed(1)} s)` : '';
  return `${((end - Date.parse(s.startedAt)) / 1000).toFixed(1)} s${refit}`;
}

function stageLine(s: StageRecord, now: number): string {
  const done = s.state === 'completed' || s.state === 'cached';
  const pct = done ? 100 : Math.max(0, Math.min(100, s.progress));
  const filled = Math.round((pct / 100) * BAR);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}]`;
  const chunks = s.chunks ? ` ${s.chunks.completed}/${s.chunks.total} ${childNoun(s.stage)}` : '';
  const attempt = s.attemptsStarted > 1 ? ` attempt ${s.attemptsStarted}` : '';
  const time = s.cached ? ` cached from ${s.cachedFrom}` : elapsed(s, now) ? ` ${elapsed(s, now)}` : '';
  return `${s.stage.padEnd(19)} ${bar} ${String(Math.round(pct)).padStart(3)}% ${s.state.padEnd(9)}${chunks}${attempt}${time}`;
}

/** The run's lines: a header with the time since enqueue, then one bar per stage. */
export function displayLines(record: RunRecord, enqueuedAt: number, now = Date.now()): string[] {
  const seconds = ((now - enqueuedAt) / 1000).toFixed(1);
  return [
    `run ${record.id} ${record.state}, ${seconds} s since enqueue`,
    ...record.stages.map((s) => stageLine(s, now)),
  ];
}

export function createLiveDisplay(stream: NodeJS.WriteStream, enqueuedAt: number): LiveDisplay {
  if (!stream.isTTY) {
    let last = '';
    return {
      update(record) {
        const line = progressLine(record);
        if (line !== last) stream.write(line + '\n');
        last = line;
      },
      end() {},
    };
  }
  let shown = 0;
  return {
    update(record) {
      const lines = displayLines(record, enqueuedAt);
      // Back to the first line drawn last time, then overwrite each line (clearing its rest).
      let out = shown > 0 ? `\x1b[${shown}A` : '';
      for (const line of lines) out += `\x1b[2K${line.slice(0, Math.max(20, (stream.columns ?? 120) - 1))}\n`;
      stream.write(out);
      shown = lines.length;
    },
    end() {
      shown = 0;
    },
  };
}
