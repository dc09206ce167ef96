import { childNoun } from '../../shared/pipeline/stages/definitions';
import { DEFAULT_PIPELINE_PARAMS } from '../../shared/core/config/pipeline-params';
import { describeLabelMap } from '../../shared/core/config/label-map';
import { ReadStats } from '../../shared/core/dataset/read-tickets';
import { RunRecord } from '../../shared/runtime/runs/record';
import { SplitMetrics } from '../../shared/pipeline/stages/training/evaluate';
import {
  FeatureExtractionResult,
  TopicsFile,
} from '../../shared/pipeline/stages/feature-extraction/feature-extraction';
import { SearchFile } from '../../shared/pipeline/stages/training/search-file';

/** What the report says about time: from enqueue to the end, and the self-contained start-up apart. */
export interface ReportTiming {
  /** seconds from enqueue to the run's end */
  seconds: number;
  /** seconds the self-contained mode spent starting Redis and workers before enqueueing (0 when none) */
  startupSeconds: number;
}

const f4 = (v: number | null) => (v === null ? '   n/a' : v.toFixed(4));

/**
 * The end-of-run report, like the seed's: stage times, topics, test classification report, metrics,
 * warnings. `labelMapFile`: the name of the file the run's labelMap came from, when the caller read it.
 */
export function formatReport(
  run: RunRecord,
  artifactsDir: string,
  timing: ReportTiming,
  topicsFile?: TopicsFile | null,
  labelMapFile?: string,
): string {
  const lines: string[] = [];
  const startup =
    timing.startupSeconds > 0
      ? ` (start-up of Redis and workers before it: ${timing.startupSeconds.toFixed(2)} s)`
      : '';
  lines.push(`Run ${run.id} ${run.state} in ${timing.seconds.toFixed(2)} s from enqueue${startup}`);
  lines.push(`Artifacts: ${artifactsDir}`);
  // A label map may hold thousands of entries: summarised on a line of its own.
  const changed = Object.entries(run.params ?? {}).filter(
    ([k, v]) =>
      k !== 'labelMap' &&
      JSON.stringify(v) !== JSON.stringify((DEFAULT_PIPELINE_PARAMS as Record<string, unknown>)[k]),
  );
  lines.push(
    `Parameters not at their defaults: ${changed.length === 0 ? 'none' : changed.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`,
  );
  if (run.params?.labelMap)
    lines.push(`labelMap: ${describeLabelMap(run.params.labelMap, run.params.labelField, labelMapFile)}`);
  const stats = (run.stages[0]?.result as { stats?: ReadStats } | null)?.stats;
  if (stats) {
    const dropped = Object.entries(stats.dropped)
      .filter(([, n]) => n > 0)
      .map(([why, n]) => `${n} ${why}`)
      .join(', ');
    lines.push(
      `Records: ${stats.read} read, ${stats.kept} kept, ${stats.read - stats.kept} dropped${dropped ? ` (${dropped})` : ''}`,
    );
  }
  lines.push('');
  // A stage's seconds span its child jobs too; training's refit (a part of them) is shown apart.
  lines.push('stage                 state      seconds  attempts');
  for (const s of run.stages) {
    const from = s.cachedFrom ? `  (from run ${s.cachedFrom})` : '';
    const refit = typeof s.refitSeconds === 'number' ? `  (refit ${s.refitSeconds.toFixed(2)} s of it)` : '';
    lines.push(
      `${s.stage.padEnd(20)}  ${s.state.padEnd(9)} ${(s.seconds ?? 0).toFixed(2).padStart(8)}  ${String(s.attemptsMade).padStart(8)}${from}${refit}`,
    );
  }
  const fe = run.stages.find((s) => s.stage === 'feature-extraction')?.result as
    FeatureExtractionResult | undefined;
  if (fe) {
    lines.push('', `Topics (TF-IDF vocabulary ${fe.vocabularySize}):`);
    fe.topics.forEach((t, i) => {
      lines.push(`  ${i}  ${t.name.padEnd(32)} ${String(t.size).padStart(7)} tickets`);
      const words = topicsFile?.topics[i]?.topWords;
      if (words) lines.push(`     ${words.join(' ')}`);
    });
  }
  const m = run.metrics;
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
    lines.push(row('f1 (macro)', (x) => x.macroF1 ?? null));
    if (m.search) lines.push('', ...searchTable(m.search));
    if (m.threshold && m.thresholds) {
      const t = m.threshold;
      const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
      lines.push(
        '',
        `Abstention (test split): below confidence ${t.value.toFixed(4)} the model answers "needs_review";`,
        `chosen for precision ≥ ${t.targetPrecision}: answers ${pct(t.coverage)} of tickets at precision ${t.precision.toFixed(4)}`,
        `${'threshold'.padStart(11)} ${'coverage'.padStart(9)} ${'accuracy'.padStart(9)}`,
      );
      for (const r of m.thresholds) {
        const mark = r.threshold === t.value ? '  ← chosen' : '';
        lines.push(
          `${r.threshold.toFixed(4).padStart(11)} ${pct(r.coverage).padStart(9)} ${f4(r.accuracy).padStart(9)}${mark}`,
        );
      }
    }
  }
  if (run.warnings.length > 0) {
    lines.push('', 'Warnings:');
    for (const w of run.warnings) lines.push(`  - ${w}`);
  }
  return lines.join('\n') + '\n';
}

/** The model search: every candidate with its CV mean ± std and time, the winner marked. */
export function searchTable(search: SearchFile): string[] {
  const lines = [
    `Model search: ${search.candidates.length} candidate(s), stratified ${search.folds}-fold CV on the training split, by ${search.score === 'macroF1' ? 'macro-F1' : 'accuracy'}:`,
    `  ${'id'.padStart(3)}  ${'features'.padEnd(12)} ${'weights'.padEnd(9)} ${'C'.padStart(7)}  ${`CV ${search.score}`.padStart(17)}  ${'seconds'.padStart(8)}`,
  ];
  for (const c of search.candidates) {
    lines.push(
      `  ${String(c.id).padStart(3)}  ${(c.ngrams === 1 ? 'words' : `1–${c.ngrams}-grams`).padEnd(12)} ${c.classWeight.padEnd(9)} ${String(c.C).padStart(7)}  ${`${c.meanScore.toFixed(4)} ± ${c.stdScore.toFixed(4)}`.padStart(17)}  ${c.seconds.toFixed(2).padStart(8)}${c.winner ? '  ← chosen' : ''}`,
    );
  }
  return lines;
}

/** One line of live progress per change, e.g. "text-processing active 3/8 chunks". */
export function progressLine(run: RunRecord): string {
  return run.stages
    .map((s) => {
      const chunks =
        s.chunks && s.state === 'active'
          ? ` ${s.chunks.completed}/${s.chunks.total} ${childNoun(s.stage)}`
          : '';
      const attempt =
        s.attemptsMade > 1 || s.state === 'retrying'
          ? ` (attempt ${s.attemptsMade + (s.state === 'retrying' ? 1 : 0)})`
          : '';
      return `${s.stage}: ${s.state}${chunks}${attempt}`;
    })
    .join(' | ');
}
