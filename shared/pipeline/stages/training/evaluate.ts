import {
  accuracy,
  averagedScores,
  classificationReport,
  confusionMatrix,
  rocAucOvr,
} from '../../../core/numeric/metrics';
import { argmaxRows } from '../../../core/numeric/nmf';

export interface SplitMetrics {
  rows: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  /** unweighted mean of the classes' F1 (the search's default score for category labels) */
  macroF1: number;
  rocAuc: number | null;
  /** test only: per-class report and confusion matrix */
  report?: string;
  confusionMatrix?: number[][];
}

/** The seed's metrics: accuracy, weighted precision/recall/F1, weighted one-vs-rest ROC-AUC. */
export function evaluate(
  yTrue: Int32Array,
  proba: Float64Array,
  names: string[],
  detailed: boolean,
): SplitMetrics {
  const k = names.length;
  const yPred = argmaxRows(proba, yTrue.length, k);
  const present = new Set(yTrue).size;
  const avg = averagedScores(yTrue, yPred, k);
  const metrics: SplitMetrics = {
    rows: yTrue.length,
    accuracy: accuracy(yTrue, yPred),
    precision: avg.weighted.precision,
    recall: avg.weighted.recall,
    f1: avg.weighted.f1,
    macroF1: avg.macro.f1,
    // ROC-AUC is undefined when a split holds a single class (sklearn raises); report null then.
    rocAuc: present === k ? rocAucOvr(yTrue, proba, k, 'weighted') : null,
  };
  if (detailed) {
    metrics.report = classificationReport(yTrue, yPred, names);
    metrics.confusionMatrix = confusionMatrix(yTrue, yPred, k);
  }
  return metrics;
}

/**
 * The most frequent label of `y` and its share: the accuracy of always answering that label, the least a
 * useful classifier must beat. Ties go to the lowest label; an empty `y` gives rate 0.
 */
export function majorityClass(y: Int32Array, k: number): { label: number; rate: number } {
  const counts = new Array<number>(k).fill(0);
  for (const label of y) counts[label] = (counts[label] ?? 0) + 1;
  let label = 0;
  counts.forEach((c, l) => {
    if (c > counts[label]!) label = l;
  });
  return { label, rate: y.length === 0 ? 0 : counts[label]! / y.length };
}
