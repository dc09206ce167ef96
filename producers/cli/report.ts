import { STAGES } from '../../shared/config/stages';
import { RunStatus } from '../../shared/flow/run-status';
import { SplitMetrics } from '../../shared/stages/evaluate';
import { FeatureExtractionResult } from '../../shared/stages/feature-extraction';

const f4 = (v: number | null) => (v === null ? '   n/a' : v.toFixed(4));

/** The end-of-run report, like the seed's: stage times, topics, test classification report, metrics. */
export function formatReport(status: RunStatus, artifactsDir: string, wallSeconds: number): string {
  const lines: string[] = [];
  lines.push(`Run ${status.id} ${status.state} in ${wallSeconds.toFixed(2)} s`);
  lines.push(`Artifacts: ${artifactsDir}`, '');
  lines.push('stage                 seconds  attempts');
  for (const s of status.stages) {
    lines.push(
      `${s.stage.padEnd(20)} ${(s.seconds ?? 0).toFixed(2).padStart(8)}  ${String(s.attemptsMade).padStart(8)}`,
    );
  }
  const fe = status.stages.find((s) => s.stage === 'feature-extraction')?.result as
    FeatureExtractionResult | undefined;
  if (fe) {
    lines.push('', `Topics (TF-IDF vocabulary ${fe.vocabularySize}):`);
    fe.topics.forEach((t, i) =>
      lines.push(`  ${i}  ${t.name.padEnd(32)} ${String(t.size).padStart(7)} tickets`),
    );
  }
  const m = status.metrics;
  if (m) {
    lines.push('', 'Test classification report:', m.test.report ?? '');
    const row = (name: string, pick: (x: SplitMetrics) => number | null) =>
      `${name.padEnd(20)} ${f4(pick(m.train)).padStart(8)} ${f4(pick(m.test)).padStart(8)}`;
    lines.push(`${''.padEnd(20)} ${'train'.padStart(8)} ${'test'.padStart(8)}`);
    lines.push(row('accuracy', (x) => x.accuracy));
    lines.push(row('precision (weighted)', (x) => x.precision));
    lines.push(row('recall (weighted)', (x) => x.recall));
    lines.push(row('f1 (weighted)', (x) => x.f1));
    lines.push(row('roc_auc (ovr, wtd)', (x) => x.rocAuc));
  }
  return lines.join('\n') + '\n';
}

/** One line of live progress per change, e.g. "text-processing active 3/8 chunks". */
export function progressLine(status: RunStatus): string {
  return STAGES.map((stage) => {
    const s = status.stages.find((x) => x.stage === stage)!;
    const chunks =
      s.chunks && s.state !== 'completed' ? ` ${s.chunks.completed}/${s.chunks.total} chunks` : '';
    const retry =
      s.attemptsMade > 1 || (s.state === 'delayed' && s.attemptsMade > 0)
        ? ` (attempt ${s.attemptsMade + (s.state === 'completed' ? 0 : 1)})`
        : '';
    return `${stage}: ${shortState(s.state)}${chunks}${retry}`;
  }).join(' | ');
}

function shortState(state: string): string {
  return state === 'waiting-children' ? 'waiting' : state;
}
