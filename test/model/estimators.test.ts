import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fitTfidfVectorizer } from '../../shared/core/numeric/vectorizer';
import { Hyperparameters } from '../../shared/pipeline/model/estimator';
import { ESTIMATORS, ESTIMATOR_KINDS, FittedModel } from '../../shared/pipeline/model/estimator-table';
import {
  CATEGORY_VECTORIZER,
  ModelFile,
  countVectorizerOptions,
  tfidfOptions,
} from '../../shared/pipeline/model/model-file';
import { InvalidModelError, readModel } from '../../shared/pipeline/model/load-model';
import { loadModelOffThread } from '../../shared/pipeline/model/load-off-thread';
import { probabilitiesOf } from '../../shared/pipeline/stages/training/training-data';
import { tempDir } from '../helpers/env';
import { syntheticModel } from './synthetic-model';

/** Tickets of three departments, a few words each, already processed (lower case, as a model reads). */
const DOCS = [
  [
    'mortgage payment escrow late',
    'escrow mortgage servicer',
    'late mortgage payment fee',
    'servicer escrow',
  ],
  ['card charged fee twice', 'credit card fee dispute', 'charged card interest', 'card dispute refund'],
  ['report error bureau', 'credit report wrong address', 'bureau dispute report', 'report identity error'],
];

function dataset(classes: number) {
  const docs = DOCS.slice(0, classes).flat();
  const y = Int32Array.from(DOCS.slice(0, classes).flatMap((d, c) => d.map(() => c)));
  const fitted = fitTfidfVectorizer(docs, {
    ...countVectorizerOptions(CATEGORY_VECTORIZER),
    ...tfidfOptions(CATEGORY_VECTORIZER),
  });
  // Uneven weights, one of them 0: a row an estimator must leave out of the fit.
  const sampleWeight = Float64Array.from(y, (_, i) => [1, 2.5, 0.5, 0][i % 4]!);
  return { docs, y, sampleWeight, ...fitted };
}

const HYPER: Hyperparameters = {
  C: 3,
  classWeight: 'balanced',
  maxIter: 100,
  penalty: 'l2',
  seed: 42,
  purpose: 'refit',
};

/** The tiny dataset's model file: its vocabulary and idf, and the section `model` writes. */
function modelFile(data: ReturnType<typeof dataset>, model: FittedModel): ModelFile {
  const base = syntheticModel({ terms: 10, classes: ['mortgage', 'card', 'report'] });
  return {
    ...base,
    vectorizer: { ...CATEGORY_VECTORIZER, vocabulary: data.vocabulary, idf: Array.from(data.idf) },
    ...model.write(),
    lineage: base.lineage,
    threshold: base.threshold,
    trainingLabelMix: base.trainingLabelMix,
  };
}

const asRecord = (section: object): Record<string, unknown> => ({ ...section });
const bytesOf = (a: Float64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('every registered estimator keeps the Estimator contract', () => {
  for (const [kind, estimator] of Object.entries(ESTIMATORS)) {
    for (const classes of [3, 2]) {
      it(`${kind}, ${classes} classes: fit with sample weights, probabilities, write, read back the same`, () => {
        const { matrix: X, y, sampleWeight } = dataset(classes);
        const model = estimator.fit({ X, y, classes, sampleWeight }, HYPER);
        assert.equal(model.classes, classes);
        assert.equal(model.features, X.cols);
        const P = model.probabilities(X);
        assert.equal(P.length, X.rows * classes);
        for (let i = 0; i < X.rows; i++) {
          const row = P.subarray(i * classes, (i + 1) * classes);
          assert.ok(
            row.every((p) => p >= 0 && p <= 1),
            `row ${i}: ${row.join(', ')}`,
          );
          assert.ok(Math.abs(row.reduce((s, p) => s + p, 0) - 1) < 1e-12, `row ${i} sums to 1`);
        }
        const labels = model.predict(X);
        assert.ok(labels.every((c) => c >= 0 && c < classes));
        assert.ok(
          labels.filter((c, i) => c === y[i]).length >= X.rows - 2,
          'the model learns the easy tickets',
        );

        // The weights reach the fit: unweighted, the same data gives another model.
        const unweighted = estimator.fit({ X, y, classes, sampleWeight: null }, HYPER).probabilities(X);
        assert.ok(!bytesOf(unweighted).equals(bytesOf(P)), 'sample weights change the model');

        // Written as JSON, read back through the packed form a worker thread hands over.
        const section = JSON.parse(JSON.stringify(model.write())) as ReturnType<typeof model.write>;
        assert.equal(section.params.solver, kind, 'the section names its estimator by its table key');
        assert.equal(section.params.C, HYPER.C);
        assert.equal(section.params.classWeight, HYPER.classWeight);
        assert.equal(section.iterations, model.iterations);
        assert.equal(estimator.sectionProblem(asRecord(section), classes, X.cols), null);
        const packed = estimator.pack(section);
        const read = estimator.read(section, packed, classes);
        assert.ok(bytesOf(read.probabilities(X)).equals(bytesOf(P)), 'read back: the same probabilities');
        assert.deepEqual(read.predict(X), labels);
        assert.match(
          estimator.sectionProblem(asRecord({ ...section, intercept: [0] }), classes, X.cols) ?? '',
          /"intercept" must hold/,
        );
      });
    }

    it(`${kind}: ${estimator.parts ? 'its problems fitted apart join into the same model' : 'fits as a whole (no parts)'}`, () => {
      const { parts } = estimator;
      // Today's multinomial L-BFGS couples its classes: it has no parts to fit apart.
      if (!parts) {
        assert.equal(kind, 'lbfgs');
        return;
      }
      for (const classes of [3, 2]) {
        const { matrix: X, y, sampleWeight } = dataset(classes);
        const data = { X, y, classes, sampleWeight };
        const whole = estimator.fit(data, HYPER);
        const solved = [...parts.problems(classes)].reverse().map((p) => parts.fitPart(data, HYPER, p));
        const joined = parts.combine(solved, classes, X.cols, HYPER);
        assert.deepEqual(joined.write(), whole.write(), `${classes} classes: the same section`);
        assert.ok(bytesOf(joined.probabilities(X)).equals(bytesOf(whole.probabilities(X))));
      }
    });

    it(`${kind}: fits single- and double-precision rows of the same values alike (it reads ${estimator.fitValues})`, () => {
      const { matrix, y, sampleWeight } = dataset(3);
      const single = { ...matrix, data: Float32Array.from(matrix.data) };
      const double = { ...matrix, data: Float64Array.from(single.data) };
      const a = estimator.fit({ X: single, y, classes: 3, sampleWeight }, HYPER).probabilities(matrix);
      const b = estimator.fit({ X: double, y, classes: 3, sampleWeight }, HYPER).probabilities(matrix);
      assert.ok(bytesOf(a).equals(bytesOf(b)), 'the same model from either precision');
    });

    it(`${kind}: a model file with its section loads in a worker thread and answers as the fit did`, async () => {
      const data = dataset(3);
      const { docs, y, sampleWeight, matrix: X } = data;
      const model = estimator.fit({ X, y, classes: 3, sampleWeight }, HYPER);
      const file = modelFile(data, model);
      const dir = tempDir('estimator');
      try {
        const at = path.join(dir, 'model.json');
        fs.writeFileSync(at, JSON.stringify(file));
        for (const loaded of [await readModel(at), await loadModelOffThread(at)]) {
          assert.ok(bytesOf(loaded.probabilities(docs)).equals(bytesOf(model.probabilities(X))));
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('scoring single-precision rows (probabilitiesOf)', () => {
  it('gives what scoring the same values in double gives, over many blocks of rows', () => {
    const data = dataset(3);
    const model = ESTIMATORS['dual-cd'].fit(
      { X: data.matrix, y: data.y, classes: 3, sampleWeight: null },
      HYPER,
    );
    // 12 rows repeated past two of probabilitiesOf's blocks (65,536 rows each).
    const copies = 12_000;
    const m = data.matrix;
    const nnz = m.indptr[m.rows]!;
    const indptr = new Int32Array(m.rows * copies + 1);
    const indices = new Int32Array(nnz * copies);
    const values = new Float32Array(nnz * copies);
    for (let c = 0; c < copies; c++) {
      for (let i = 0; i < m.rows; i++) indptr[c * m.rows + i + 1] = c * nnz + m.indptr[i + 1]!;
      indices.set(m.indices.subarray(0, nnz), c * nnz);
      values.set(m.data.subarray(0, nnz), c * nnz);
    }
    const X = { rows: m.rows * copies, cols: m.cols, indptr, indices, data: values };
    const got = probabilitiesOf(model, X);
    const want = model.probabilities({ ...X, data: Float64Array.from(values) });
    assert.ok(bytesOf(got).equals(bytesOf(want)));
    assert.ok(
      bytesOf(probabilitiesOf(model, m)).equals(bytesOf(model.probabilities(m))),
      'double rows as they are',
    );
  });
});

describe('the estimator a model file names', () => {
  const data = dataset(3);
  const { docs, y, sampleWeight, matrix: X } = data;
  const model = ESTIMATORS.lbfgs.fit({ X, y, classes: 3, sampleWeight }, HYPER);
  const file = modelFile(data, model);

  it('an unknown estimator fails to load, naming the file, the estimator and the known ones', async () => {
    const dir = tempDir('estimator-unknown');
    try {
      const at = path.join(dir, 'boosted.json');
      fs.writeFileSync(
        at,
        JSON.stringify({ ...file, params: { ...file.params, solver: 'gradient-boosting' } }),
      );
      const expected = (err: unknown): boolean => {
        assert.ok(err instanceof InvalidModelError, String(err));
        assert.ok(err.message.includes(at), err.message);
        assert.match(
          err.message,
          /estimator "gradient-boosting" \(params\.solver\) is not one this code knows/,
        );
        for (const known of ESTIMATOR_KINDS) assert.ok(err.message.includes(`"${known}"`), err.message);
        return true;
      };
      await assert.rejects(readModel(at), expected);
      await assert.rejects(loadModelOffThread(at), expected);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file from before the estimator was recorded (no params.solver) loads as L-BFGS', async () => {
    const dir = tempDir('estimator-old');
    try {
      const at = path.join(dir, 'model.json');
      const { solver: _, classWeight: __, ...older } = file.params;
      fs.writeFileSync(at, JSON.stringify({ ...file, params: older }));
      const loaded = await readModel(at);
      assert.ok(bytesOf(loaded.probabilities(docs)).equals(bytesOf(model.probabilities(X))));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
