import { readCsv } from '../../core/io/read-csv';
import { accuracy, averagedScores } from '../../core/numeric/metrics';
import { runKey } from '../../core/storage';
import { ArtifactStore } from '../../core/store/artifact-store';
import { LoadedModel } from '../../pipeline/model/load-model';
import { ARTIFACTS } from '../../pipeline/stages/context';
import { readTrainingData } from '../../pipeline/stages/training/training-data';
import { GateMetric } from '../runs/record';

/** A run's test tickets: their raw text (tickets.csv) and true class, in split.json's test order. */
export interface TestTickets {
  texts: string[];
  truth: string[];
  /** the classes the run's labels define */
  classes: string[];
}

/** Texts classified at once: bounds the probabilities held in memory. */
const BATCH = 2000;

/** The test split of run `runId` as raw text with its labels, read from the run's artifacts. */
export async function readTestTickets(store: ArtifactStore, runId: string): Promise<TestTickets> {
  const data = await readTrainingData({ store, runId });
  const test = Array.from(data.test).filter((row) => (data.labels[row] ?? -1) >= 0);
  const at = new Map<number, number>(test.map((row, i) => [row, i]));
  const texts = new Array<string>(test.length).fill('');
  const key = runKey(runId, ARTIFACTS.tickets);
  await readCsv(await store.openRead(key), store.locate(key), ['complaint_what_happened'], (row, index) => {
    const i = at.get(index);
    if (i !== undefined) texts[i] = row.complaint_what_happened!;
  });
  return {
    texts,
    truth: test.map((row) => data.classes[data.labels[row]!]!),
    classes: data.classes,
  };
}

/**
 * The model's answer (its most probable class: no abstention) for each text, through its own text
 * processing and vocabulary.
 */
export function predictLabels(model: LoadedModel, texts: readonly string[]): string[] {
  const labels: string[] = [];
  for (let i = 0; i < texts.length; i += BATCH)
    for (const p of model.classify(texts.slice(i, i + BATCH), 0)) labels.push(p.label);
  return labels;
}

/**
 * `metric` of `predicted` against the tickets' truth. Classes are the evaluation data's plus any other
 * the model answers (sklearn's labels for y_true ∪ y_pred), so a model with classes the data lacks is
 * scored on the same tickets, its foreign answers counted wrong.
 */
export function gateScore(tickets: TestTickets, predicted: readonly string[], metric: GateMetric): number {
  const index = new Map<string, number>(tickets.classes.map((c, i) => [c, i]));
  const id = (name: string): number => {
    let i = index.get(name);
    if (i === undefined) index.set(name, (i = index.size));
    return i;
  };
  const yTrue = Int32Array.from(tickets.truth, id);
  const yPred = Int32Array.from(predicted, id);
  if (metric === 'accuracy') return accuracy(yTrue, yPred);
  return averagedScores(yTrue, yPred, index.size).macro.f1;
}
