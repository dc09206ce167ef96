import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Singularizer, singularize } from '../../shared/core/nlp/singularize';

test('regular plurals, including those natural alone gets wrong', () => {
  const cases: Record<string, string> = {
    fees: 'fee',
    charges: 'charge',
    companies: 'company',
    inquiries: 'inquiry',
    taxes: 'tax',
    boxes: 'box',
    addresses: 'address',
    businesses: 'business',
    losses: 'loss',
    buses: 'bus',
    bonuses: 'bonus',
    // natural: cas, purchas, representatif, increas, promis, hous, cours
    cases: 'case',
    purchases: 'purchase',
    representatives: 'representative',
    increases: 'increase',
    promises: 'promise',
    houses: 'house',
    courses: 'course',
    nerves: 'nerve',
  };
  for (const [plural, singular] of Object.entries(cases)) assert.equal(singularize(plural), singular, plural);
});

test("natural's irregulars and uncountables are kept", () => {
  for (const [w, s] of [
    ['children', 'child'],
    ['teeth', 'tooth'],
    ['women', 'woman'],
    ['lives', 'life'],
    ['news', 'news'],
    ['series', 'series'],
    ['information', 'information'],
    ['analyses', 'analysis'],
  ]) {
    assert.equal(singularize(w!), s, w);
  }
});

test('exceptions: plurals that are their own lemma', () => {
  assert.equal(singularize('people'), 'people');
  assert.equal(singularize('thanks'), 'thanks');
  assert.equal(singularize('monies'), 'money');
});

test('guesses are checked against the given noun list', () => {
  const none = new Singularizer(() => false);
  assert.equal(none.singularize('cases'), 'cas'); // nothing known: natural's answer
  const known = new Singularizer((w) => w === 'case');
  assert.equal(known.singularize('cases'), 'case');
});
