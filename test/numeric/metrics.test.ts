import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  accuracy,
  averagedScores,
  binaryRocAuc,
  classificationReport,
  confusionMatrix,
  formatFixed,
  precisionRecallF1Support,
  rocAucOvr,
} from '../../shared/core/numeric/metrics';
import { assertClose, assertCloseNumber, loadFixture } from './fixtures';

interface Prf {
  precision: number;
  recall: number;
  f1: number;
}

interface MetricsCase {
  name: string;
  classes: number;
  yTrue: number[];
  yPred: number[];
  targetNames: string[];
  accuracy: number;
  precision: number[];
  recall: number[];
  f1: number[];
  support: number[];
  confusion: number[][];
  reports: Record<string, string>;
  macro: Prf;
  weighted: Prf;
  micro: Prf;
  proba?: number[];
  aucMacro?: number;
  aucWeighted?: number;
}

const fx = loadFixture<{ cases: MetricsCase[] }>('metrics');

describe('metrics vs sklearn', () => {
  for (const c of fx.cases) {
    const yTrue = Int32Array.from(c.yTrue);
    const yPred = Int32Array.from(c.yPred);
    it(`${c.name}: accuracy, per-class scores, confusion matrix`, () => {
      assertCloseNumber(accuracy(yTrue, yPred), c.accuracy, 1e-12, 'accuracy');
      const s = precisionRecallF1Support(yTrue, yPred, c.classes);
      assertClose(s.precision, c.precision, 1e-12, 'precision');
      assertClose(s.recall, c.recall, 1e-12, 'recall');
      assertClose(s.f1, c.f1, 1e-12, 'f1');
      assert.deepEqual(Array.from(s.support), c.support);
      assert.deepEqual(confusionMatrix(yTrue, yPred, c.classes), c.confusion);
    });
    it(`${c.name}: macro / weighted / micro averages`, () => {
      const a = averagedScores(yTrue, yPred, c.classes);
      for (const k of ['macro', 'weighted', 'micro'] as const) {
        assertClose([a[k].precision, a[k].recall, a[k].f1], [c[k].precision, c[k].recall, c[k].f1], 1e-12, k);
      }
    });
    it(`${c.name}: classification_report text is byte-identical`, () => {
      for (const [digits, text] of Object.entries(c.reports)) {
        assert.equal(
          classificationReport(yTrue, yPred, c.targetNames, Number(digits)),
          text,
          `digits=${digits}`,
        );
      }
    });
    if (c.proba && c.aucMacro !== undefined && c.aucWeighted !== undefined) {
      it(`${c.name}: ROC AUC (ovr, ties in scores)`, () => {
        const P = Float64Array.from(c.proba!);
        assertCloseNumber(rocAucOvr(yTrue, P, c.classes, 'macro'), c.aucMacro!, 1e-12, 'macro AUC');
        assertCloseNumber(rocAucOvr(yTrue, P, c.classes, 'weighted'), c.aucWeighted!, 1e-12, 'weighted AUC');
      });
    }
  }
});

describe('metric edge cases', () => {
  it('formats like Python: round-half-even on exact binary ties only', () => {
    assert.equal(formatFixed(0.125, 2), '0.12');
    assert.equal(formatFixed(0.375, 2), '0.38');
    assert.equal(formatFixed(0.5, 0), '0');
    assert.equal(formatFixed(2.5, 0), '2');
    assert.equal(formatFixed(0.3125, 3), '0.312');
    assert.equal(formatFixed(0.615, 2), '0.61'); // 0.615 is below the tie in binary
    assert.equal(formatFixed(1, 2), '1.00');
  });
  it('AUC: all scores tied gives 0.5; perfect ranking gives 1', () => {
    assert.equal(binaryRocAuc(Uint8Array.from([0, 1, 0, 1]), Float64Array.from([0.3, 0.3, 0.3, 0.3])), 0.5);
    assert.equal(binaryRocAuc(Uint8Array.from([0, 0, 1, 1]), Float64Array.from([0.1, 0.2, 0.8, 0.9])), 1);
    assert.throws(
      () => binaryRocAuc(Uint8Array.from([1, 1]), Float64Array.from([0.1, 0.2])),
      /Only one class/,
    );
  });
  it('AUC with ties between classes, -0 and 0 among them, is the Mann–Whitney count', () => {
    // Ties count a half: the area under the ROC curve's straight segment across a tie.
    assert.equal(binaryRocAuc(Uint8Array.from([1, 0, 1, 0]), Float64Array.from([0.5, 0.5, -0, 0])), 0.5);
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let trial = 0; trial < 50; trial++) {
      const n = 2 + Math.floor(next() * 200);
      const positive = new Uint8Array(n);
      const score = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        positive[i] = i === 0 ? 1 : i === 1 ? 0 : next() < 0.4 ? 1 : 0;
        // Few distinct scores, so most of them are tied, some of them across classes; ±0 among them.
        const level = Math.floor(next() * 6);
        score[i] = level === 0 ? -0 : level === 1 ? 0 : level / 6 - 0.5;
      }
      let wins = 0;
      let pairs = 0;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++)
          if (positive[i] && !positive[j]) {
            pairs++;
            wins += score[i]! > score[j]! ? 1 : score[i] === score[j] ? 0.5 : 0;
          }
      assertCloseNumber(binaryRocAuc(positive, score), wins / pairs, 1e-12, `trial ${trial}`);
    }
  });

  it('AUC validates its inputs like sklearn', () => {
    const y = Int32Array.from([0, 1, 2, 0]);
    assert.throws(() => rocAucOvr(y, new Float64Array(12).fill(0.5), 3, 'macro'), /sum up to 1/);
    assert.throws(
      () => rocAucOvr(Int32Array.from([0, 1, 1, 0]), new Float64Array(12).fill(1 / 3), 3, 'macro'),
      /Number of classes/,
    );
    assert.throws(() => rocAucOvr(y, new Float64Array(5), 3, 'macro'), RangeError);
  });
  it('rejects labels out of range and length mismatches', () => {
    assert.throws(
      () => precisionRecallF1Support(Int32Array.from([0, 3]), Int32Array.from([0, 1]), 3),
      RangeError,
    );
    assert.throws(() => accuracy(Int32Array.from([0]), Int32Array.from([0, 1])), RangeError);
  });
});
