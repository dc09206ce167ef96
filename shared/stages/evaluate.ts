import {
  accuracy,
  averagedScores,
  classificationReport,
  confusionMatrix,
  rocAucOvr,
} from '../numeric/metrics';

export interface SplitMetrics {
  rows: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  rocAuc: number | null;
  /** test only: per-class report and confusion matrix */
  report?: string;
  confusionMatrix?: number[][];
}

function argmaxRows(proba: Float64Array, classes: number): Int32Array {
  const n = proba.length / classes;
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (proba[r * classes + c]! > proba[r * classes + best]!) best = c;
    out[r] = best;
  }
  return out;
}

/** The seed's metrics: accuracy, weighted precision/recall/F1, weighted one-vs-rest ROC-AUC. */
export function evaluate(yTrue: Int32Array, proba: Float64Array, names: string[], detailed: boolean): SplitMetrics {
  const k = names.length;
  const yPred = argmaxRows(proba, k);
  const present = new Set(yTrue).size;
  const avg = averagedScores(yTrue, yPred, k);
  const metrics: SplitMetrics = {
    rows: yTrue.length,
    accuracy: accuracy(yTrue, yPred),
    precision: avg.weighted.precision,
    recall: avg.weighted.recall,
    f1: avg.weighted.f1,
    // ROC-AUC is undefined when a split holds a single class (sklearn raises); report null then.
    rocAuc: present === k ? rocAucOvr(yTrue, proba, k, 'weighted') : null,
  };
  if (detailed) {
    metrics.report = classificationReport(yTrue, yPred, names);
    metrics.confusionMatrix = confusionMatrix(yTrue, yPred, k);
  }
  return metrics;
}
