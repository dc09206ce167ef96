import { RunsContext } from '../../shared/runtime/runs/context';
import { RunRecord, isFinal } from '../../shared/runtime/runs/record';
import { readRun } from '../../shared/runtime/runs/sync';
import { RecordChanges } from '../../shared/runtime/runs/record-changes';
import { progressLine } from '../../producers/cli/report';

/** How often a reader's sync (readRun) runs while waiting, for a record no worker will make final. */
const SYNC_EVERY_MS = 1000;
/** How often a long wait says where the run is (a 100× run with the default grid takes over an hour). */
const REPORT_EVERY_MS = 60_000;

/**
 * Waits for a run to end: reads its record as stored (a file read and one Redis call) each time the
 * workers write it (on every stage event, the final one included: RecordChanges), and at least every
 * `pollMs`; once a second it brings the record up to date as a reader would (readRun), so a record its
 * workers left behind still ends. Woken by the writes rather than polling many times a second: each
 * read is the bench's CPU and Redis's work, on the cores the workers are measured on (at a read every
 * 10 ms, ~0.15 CPU s of a 4 s dev-data run).
 */
export async function waitForFinal(
  runs: RunsContext,
  runId: string,
  timeoutMs: number,
  pollMs: number,
  /** called every REPORT_EVERY_MS with where the run is (the CLI's progress line) */
  report: (line: string) => void = () => {},
): Promise<RunRecord> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let synced = started;
  let reported = started;
  const changes = await RecordChanges.open(runs.redis, runs.keys, runId);
  try {
    for (;;) {
      const stored = await runs.store.read(runId);
      if (stored && isFinal(stored.state)) return stored;
      if (stored && Date.now() - reported >= REPORT_EVERY_MS) {
        reported = Date.now();
        report(`run ${runId} after ${Math.round((reported - started) / 1000)} s: ${progressLine(stored)}`);
      }
      if (Date.now() - synced >= SYNC_EVERY_MS) {
        synced = Date.now();
        const record = await readRun(runs, runId);
        if (record && isFinal(record.state)) return record;
      }
      if (Date.now() > deadline)
        throw new Error(`run ${runId} still ${stored?.state ?? 'missing'} after ${timeoutMs} ms`);
      await changes.next(Math.min(pollMs, SYNC_EVERY_MS));
    }
  } finally {
    changes.close();
  }
}
