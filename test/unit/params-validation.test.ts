import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkParamsAgainstData,
  DEFAULT_PIPELINE_PARAMS,
  isFraction,
  PARAM_NAMES,
  PipelineParams,
  resolvePipelineParams,
} from '../../shared/core/config/pipeline-params';
import { BadInputError } from '../../shared/core/errors';

/**
 * The BadInputError message `resolvePipelineParams` throws for `overrides`, or fails the test. The API
 * and the CLI resolve parameters before enqueueing anything and answer a BadInputError with 400 (see
 * test/api), so each message here is a 400 answer.
 */
function rejection(overrides: unknown): string {
  try {
    resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, overrides);
  } catch (err) {
    assert.ok(err instanceof BadInputError, `expected BadInputError, got ${String(err)}`);
    return err.message;
  }
  assert.fail(`accepted ${JSON.stringify(overrides)}`);
}

const params = (overrides: Partial<PipelineParams>): PipelineParams => ({
  ...DEFAULT_PIPELINE_PARAMS,
  ...overrides,
});

const PROTOTYPE_NAMES = [
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  'toString',
  'toLocaleString',
  'propertyIsEnumerable',
  '__defineGetter__',
  '__lookupSetter__',
];

describe('resolvePipelineParams: cross-field checks', () => {
  it('rejects a count minDf above a count maxDf, naming both values', () => {
    assert.match(
      rejection({ minDf: 10, maxDf: 5 }),
      /parameter "minDf" \(10\) must not exceed "maxDf" \(5\) when both are document counts/,
    );
    assert.equal(resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, { minDf: 5, maxDf: 5 }).maxDf, 5);
    assert.equal(resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, { minDf: 2, maxDf: 100 }).maxDf, 100);
  });

  it('rejects a proportion minDf above a proportion maxDf, saying they are proportions', () => {
    assert.match(
      rejection({ minDf: 0.9, maxDf: 0.5 }),
      /parameter "minDf" \(0\.9\) must not exceed "maxDf" \(0\.5\) when both are proportions of the tickets/,
    );
    assert.match(rejection({ minDf: 0.5, maxDf: 0.4 }), /when both are proportions/);
  });

  it('reads 1 as sklearn does: minDf 1 is the count 1, maxDf 1 is 100 %', () => {
    assert.equal(isFraction('minDf', 1), false);
    assert.equal(isFraction('maxDf', 1), true);
    assert.equal(isFraction('minDf', 0.5), true);
    assert.equal(isFraction('maxDf', 7), false);
    // sklearn's own defaults (min_df=1, max_df=1.0) and min_df=1 with a proportion max_df are valid.
    assert.equal(resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, { minDf: 1 }).minDf, 1);
    assert.equal(resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, { minDf: 1, maxDf: 0.5 }).maxDf, 0.5);
    assert.equal(resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, { minDf: 1, maxDf: 1 }).maxDf, 1);
    // A count against a proportion depends on the data: not judged here.
    assert.equal(resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, { minDf: 50, maxDf: 0.01 }).minDf, 50);
  });

  it('lists the cross-field problem together with every other problem', () => {
    const message = rejection({ minDf: 10, maxDf: 5, colour: 'red', topics: 1 });
    assert.match(message, /"minDf" \(10\) must not exceed "maxDf" \(5\)/);
    assert.match(message, /unknown parameter "colour"/);
    assert.match(message, /"topics" must be an integer from 2/);
    // An invalid minDf or maxDf is reported as such, with no cross-field noise about it.
    const invalid = rejection({ minDf: -3, maxDf: 5 });
    assert.match(invalid, /"minDf" must be a document count/);
    assert.doesNotMatch(invalid, /must not exceed/);
  });
});

describe('resolvePipelineParams: names of Object.prototype', () => {
  it('rejects each of them as an unknown parameter (as JSON.parse hands them over)', () => {
    for (const name of PROTOTYPE_NAMES) {
      const overrides: unknown = JSON.parse(`{${JSON.stringify(name)}: 1}`);
      assert.ok(Object.hasOwn(overrides as object, name), name);
      const message = rejection(overrides);
      assert.match(message, new RegExp(`^unknown parameter "${name}" \\(known: language, topics`), name);
    }
  });

  it('lists them all at once, next to the real problems', () => {
    const overrides: unknown = JSON.parse(
      `{${PROTOTYPE_NAMES.map((n) => `${JSON.stringify(n)}: {"topics": 2}`).join(', ')}, "topics": 99}`,
    );
    const message = rejection(overrides);
    for (const name of PROTOTYPE_NAMES) assert.ok(message.includes(`unknown parameter "${name}"`), name);
    assert.match(message, /"topics" must be an integer from 2 to 50, got 99/);
  });

  it('cannot pollute a prototype or add a name to the result', () => {
    assert.throws(
      () => resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, JSON.parse('{"__proto__": {"polluted": true}}')),
      BadInputError,
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const resolved = resolvePipelineParams(DEFAULT_PIPELINE_PARAMS, { topics: 4 });
    assert.equal(Object.getPrototypeOf(resolved), Object.prototype);
    assert.deepEqual(Object.keys(resolved).sort(), [...PARAM_NAMES].sort());
    assert.equal(resolved.topics, 4);
  });
});

describe('checkParamsAgainstData', () => {
  it('finds nothing wrong with the defaults and a dataset like the sample', () => {
    assert.deepEqual(checkParamsAgainstData(DEFAULT_PIPELINE_PARAMS, 1140), []);
    assert.deepEqual(checkParamsAgainstData(params({ minDf: 1, maxDf: 0.5 }), 10), []);
  });

  it('requires fewer topics than tickets', () => {
    assert.deepEqual(checkParamsAgainstData(params({ topics: 3, stratify: false }), 4), []);
    const problems = checkParamsAgainstData(params({ topics: 3, stratify: false }), 3);
    assert.equal(problems.length, 1);
    assert.match(
      problems[0]!,
      /parameter "topics" \(3\) must be below the number of tickets \(3\): use fewer topics/,
    );
  });

  it('rejects a count minDf above the number of tickets', () => {
    const problems = checkParamsAgainstData(params({ minDf: 50 }), 20);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /parameter "minDf" \(50\) exceeds the number of tickets \(20\).*lower minDf/);
    assert.deepEqual(checkParamsAgainstData(params({ minDf: 20, maxDf: 1 }), 20), []);
  });

  it('rejects minDf/maxDf that keep no term for this many tickets, like the vectorizer', () => {
    const [problem, ...rest] = checkParamsAgainstData(params({ maxDf: 0.001 }), 1140);
    assert.deepEqual(rest, []);
    assert.match(
      problem!,
      /"minDf" 2 and "maxDf" 0\.001 \(1\.14 of 1140 tickets\) keep no term: a term would have to occur in at least 2 and at most 1 tickets; lower minDf or raise maxDf/,
    );
    // Both proportions, in order, but no whole number of tickets between 1.5 and 1.8.
    assert.match(
      checkParamsAgainstData(params({ minDf: 0.5, maxDf: 0.6, testSize: 0.5, topics: 2 }), 3)[0]!,
      /keep no term: a term would have to occur in at least 2 and at most 1 tickets/,
    );
    // A proportion maxDf below one ticket keeps nothing even with minDf 1.
    assert.match(checkParamsAgainstData(params({ minDf: 1, maxDf: 0.05 }), 10)[0]!, /at most 0 tickets/);
    assert.deepEqual(checkParamsAgainstData(params({ minDf: 1, maxDf: 0.1 }), 10), []);
  });

  it('rejects a split that leaves too few tickets on one side', () => {
    assert.match(
      checkParamsAgainstData(params({ testSize: 0.9 }), 10)[0]!,
      /parameter "testSize" \(0\.9\) leaves 1 of 10 tickets for training, fewer than 2: lower testSize/,
    );
    assert.match(
      checkParamsAgainstData(params({ testSize: 0.1 }), 10)[0]!,
      /parameter "testSize" \(0\.1\) leaves 1 of 10 tickets for testing.*set "stratify": false/,
    );
    assert.deepEqual(checkParamsAgainstData(params({ testSize: 0.1, stratify: false }), 10), []);
  });

  it('lists every problem at once', () => {
    const problems = checkParamsAgainstData(params({ topics: 5, minDf: 9, testSize: 0.9 }), 5);
    assert.equal(problems.length, 3);
    assert.match(problems.join('\n'), /"topics"[^\n]*\n[^\n]*"minDf"[^\n]*\n[^\n]*"testSize"/);
  });
});
