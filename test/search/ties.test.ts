import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PIPELINE_PARAMS, PipelineParams } from '../../shared/core/config/pipeline-params';
import { FoldResult, summarizeSearch } from '../../shared/pipeline/stages/training/model-search';
import { searchGrid } from '../../shared/pipeline/stages/training/search-grid';

/** Three candidates (C = 1, 3, 10; ids 0, 1, 2) cross-validated on three folds. */
const params: PipelineParams = { ...DEFAULT_PIPELINE_PARAMS, searchC: [1, 3, 10], cvFolds: 3 };

/** Fold results giving each candidate the fold scores listed for it. */
function results(scores: number[][]): FoldResult[] {
  return scores.flatMap((folds, candidate) =>
    folds.map((score, fold) => ({
      candidate,
      fold,
      accuracy: score,
      macroF1: score,
      score,
      iterations: 10,
      seconds: 0.01,
    })),
  );
}

describe('model search: the winner of a tie', () => {
  it('the grid has the three candidates the cases below score', () => {
    assert.deepEqual(
      searchGrid(params).map((c) => [c.id, c.C]),
      [
        [0, 1],
        [1, 3],
        [2, 10],
      ],
    );
  });

  it('two candidates with the same best mean score: the lower id wins', () => {
    const tied = [0.9, 0.8, 0.7];
    const search = summarizeSearch(params, results([[0.5, 0.5, 0.5], tied, [...tied]]));
    assert.equal(search.candidates[1]!.meanScore, search.candidates[2]!.meanScore, 'a real tie');
    assert.equal(search.winner, 1);
    assert.deepEqual(
      search.candidates.map((c) => c.winner),
      [false, true, false],
    );
  });

  it('a tie between the first and the last candidate, with a worse one between: the first wins', () => {
    const search = summarizeSearch(
      params,
      results([
        [0.75, 0.75, 0.75],
        [0.6, 0.6, 0.6],
        [0.75, 0.75, 0.75],
      ]),
    );
    assert.equal(search.winner, 0);
    assert.deepEqual(
      search.candidates.map((c) => c.winner),
      [true, false, false],
    );
  });

  it('a better mean score wins whatever its id', () => {
    const search = summarizeSearch(
      params,
      results([
        [0.75, 0.75, 0.75],
        [0.6, 0.6, 0.6],
        [0.75, 0.75, 0.76],
      ]),
    );
    assert.equal(search.winner, 2);
  });
});
