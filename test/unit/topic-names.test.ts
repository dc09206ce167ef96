import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nameTopics } from '../../shared/pipeline/stages/feature-extraction/topic-names';

const dict = {
  'Bank Account Services': ['account', 'bank', 'deposit'],
  'Credit Report or Prepaid Card': ['credit', 'report', 'card'],
  'Mortgage/Loan': ['loan', 'mortgage', 'payment'],
};

describe('nameTopics', () => {
  it('gives each topic the name whose keywords weigh most in its top words', () => {
    const names = nameTopics(
      [
        { words: ['loan', 'payment', 'account'], weights: [3, 2, 1] },
        { words: ['credit', 'report', 'account'], weights: [5, 4, 1] },
        { words: ['account', 'bank', 'fee'], weights: [4, 3, 1] },
      ],
      dict,
    );
    assert.deepEqual(names, ['Mortgage/Loan', 'Credit Report or Prepaid Card', 'Bank Account Services']);
  });

  it('uses each name once, best match first, and falls back to the top three words', () => {
    const names = nameTopics(
      [
        { words: ['account', 'bank'], weights: [1, 1] },
        { words: ['account', 'deposit', 'bank'], weights: [5, 4, 3] },
        { words: ['weather', 'rain', 'sun', 'cloud'], weights: [4, 3, 2, 1] },
      ],
      dict,
    );
    assert.equal(names[1], 'Bank Account Services');
    assert.notEqual(names[0], 'Bank Account Services');
    assert.equal(names[2], 'weather / rain / sun');
  });
});
