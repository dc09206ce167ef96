import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_PIPELINE_PARAMS, PipelineParams } from '../../shared/core/config/pipeline-params';
import { parseLabelMapTsv, readLabelMapFile } from '../../shared/core/config/label-map';
import { BadInputError } from '../../shared/core/errors';
import { categoryLabels, rawLabel } from '../../shared/pipeline/stages/transform-split/labels';
import { tempDir } from '../helpers/env';

const params = (over: Partial<PipelineParams>): PipelineParams => ({
  ...DEFAULT_PIPELINE_PARAMS,
  labels: 'category',
  minClassSize: 0,
  ...over,
});
const repeat = (n: number, v: string): string[] => Array.from({ length: n }, () => v);

describe('category labels', () => {
  const categories = [
    ...repeat(5, 'Mortgage + FHA mortgage'),
    ...repeat(4, 'Mortgage'),
    ...repeat(6, 'Student loan + Federal student loan servicing'),
    ...repeat(3, 'Debt collection + Credit card debt'),
    ...repeat(2, 'Virtual currency'),
  ];

  it('the raw label is the product, or product + sub-product', () => {
    assert.equal(rawLabel('Mortgage + FHA mortgage', 'product'), 'Mortgage');
    assert.equal(rawLabel('Mortgage + FHA mortgage', 'category'), 'Mortgage + FHA mortgage');
    assert.equal(rawLabel('Mortgage', 'product'), 'Mortgage');
  });

  it('without a map the raw values are the classes, in code-point order', () => {
    const l = categoryLabels(categories, params({}));
    assert.deepEqual(l.names, ['Debt collection', 'Mortgage', 'Student loan', 'Virtual currency']);
    assert.deepEqual(l.counts, [3, 9, 6, 2]);
    assert.deepEqual(Array.from(l.labels.slice(0, 10)), [1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
  });

  it('maps through labelMap; unmapped values go to "other", or are dropped', () => {
    const labelMap = { Mortgage: 'loan', 'Student loan': 'loan', 'Debt collection': 'debt' };
    const other = categoryLabels(categories, params({ labelMap }));
    assert.deepEqual(other.names, ['debt', 'loan', 'other']);
    assert.deepEqual(other.counts, [3, 15, 2]);
    assert.equal(other.unmapped, 2);
    assert.equal(other.dropped, 0);
    assert.deepEqual(other.unmappedValues, { 'Virtual currency': 2 });
    const dropped = categoryLabels(categories, params({ labelMap, unmappedLabel: 'drop' }));
    assert.deepEqual(dropped.names, ['debt', 'loan']);
    assert.equal(dropped.dropped, 2);
    assert.deepEqual(Array.from(dropped.labels.slice(-2)), [-1, -1]);
  });

  it('with labelField "category", a full value is looked up first, then its product', () => {
    const labelMap = { 'Mortgage + FHA mortgage': 'fha', Mortgage: 'mortgage', 'Student loan': 'loan' };
    const l = categoryLabels(categories, params({ labelMap, labelField: 'category' }));
    assert.deepEqual(l.names, ['fha', 'loan', 'mortgage', 'other']);
    assert.deepEqual(l.counts, [5, 6, 4, 5]);
  });

  it('classes under minClassSize are merged into "other"', () => {
    const l = categoryLabels(categories, params({ minClassSize: 4 }));
    assert.deepEqual(l.merged, ['Debt collection', 'Virtual currency']);
    assert.deepEqual(l.names, ['Mortgage', 'Student loan', 'other']);
    assert.deepEqual(l.counts, [9, 6, 5]);
  });

  it('a class of exactly minClassSize tickets is kept; one ticket fewer is merged', () => {
    // Debt collection has 3 tickets (at the bound), Virtual currency 2 (one under it).
    const l = categoryLabels(categories, params({ minClassSize: 3 }));
    assert.deepEqual(l.merged, ['Virtual currency']);
    assert.deepEqual(l.names, ['Debt collection', 'Mortgage', 'Student loan', 'other']);
    assert.deepEqual(l.counts, [3, 9, 6, 2]);
  });

  it('a single class left is bad input that names the parameters to change', () => {
    assert.throws(
      () => categoryLabels(categories, params({ labelMap: { Mortgage: 'loan' }, unmappedLabel: 'drop' })),
      (err: Error) =>
        err instanceof BadInputError &&
        /all 9 kept tickets fall in the single class "loan", 11 dropped as unmapped/.test(err.message) &&
        /"unmappedLabel": "other"/.test(err.message),
    );
    assert.throws(
      () => categoryLabels(categories, params({ minClassSize: 100 })),
      (err: Error) =>
        err instanceof BadInputError && /single class "other" \(after merging 4 class/.test(err.message),
    );
  });
});

describe('label map files', () => {
  it('reads a TSV with a header line (first two columns) or a JSON object', async () => {
    const dir = tempDir('label-map');
    const tsv = path.join(dir, 'map.tsv');
    fs.writeFileSync(tsv, 'raw_product\tlabel\tnote\nMortgage\tloan\tall periods\n\nStudent loan\tloan\n');
    assert.deepEqual(await readLabelMapFile(tsv), { Mortgage: 'loan', 'Student loan': 'loan' });
    const json = path.join(dir, 'map.json');
    fs.writeFileSync(json, JSON.stringify({ Mortgage: 'loan' }));
    assert.deepEqual(await readLabelMapFile(json), { Mortgage: 'loan' });
    fs.rmSync(dir, { recursive: true });
  });

  it('names the line of a malformed or contradictory entry', () => {
    assert.throws(
      () => parseLabelMapTsv('raw\tclass\nMortgage\n', 'm.tsv'),
      /m\.tsv:2: expected "raw label<TAB>class"/,
    );
    assert.throws(
      () => parseLabelMapTsv('raw\tclass\nMortgage\tloan\nMortgage\thome\n', 'm.tsv'),
      /m\.tsv:3: "Mortgage" is mapped twice, to "loan" and "home"/,
    );
    assert.throws(() => parseLabelMapTsv('raw\tclass\n', 'm.tsv'), /no "raw label<TAB>class" line/);
    // A "__proto__" row is an ordinary key, not a prototype.
    const map = parseLabelMapTsv('raw\tclass\n__proto__\tx\n');
    assert.equal(Object.getPrototypeOf(map), Object.prototype);
    assert.equal(map['__proto__' as keyof typeof map], 'x');
  });
});
