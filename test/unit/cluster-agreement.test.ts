import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nmi, purity } from '../../tools/bench/cluster-agreement';

// Reference: test/fixtures/sklearn/cluster_agreement.py (scikit-learn 1.2.1 normalized_mutual_info_score).
const clusters = ['a', 'a', 'a', 'b', 'b', 'c', 'c', 'c', 'c', 'a', 'b', 'c'];
const classes = ['x', 'x', 'y', 'y', 'y', 'z', 'z', 'x', 'z', 'x', 'z', 'z'];

describe('topic vs product-group agreement', () => {
  it('matches scikit-learn', () => {
    assert.ok(Math.abs(nmi(clusters, classes) - 0.48487648752570484) < 1e-12);
    assert.equal(purity(clusters, classes), 0.75);
  });

  it('is 1 for identical partitions under renaming and symmetric in its arguments', () => {
    const renamed = classes.map((c) => ({ x: 'p', y: 'q', z: 'r' })[c]!);
    assert.ok(Math.abs(nmi(renamed, classes) - 1) < 1e-12);
    assert.ok(Math.abs(nmi(clusters, classes) - nmi(classes, clusters)) < 1e-12);
  });
});
