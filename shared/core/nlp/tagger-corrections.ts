/**
 * Additions to natural's English Brill data, applied through the same mechanisms natural offers
 * (Lexicon's extendedLexicon, RuleSet.addRule), so the tagger keeps natural's semantics exactly.
 *
 * Each one fixes a gap, not a preference; effect measured with `npm run eval:pos` (EWT test) — see
 * shared/core/nlp/README.md for the numbers with and without them.
 */

/**
 * Words natural's lexicon (from pos-js) lacks, so they fell to the default tag NN: the pronoun "I"
 * (it then matched the lexicon's "i", a noun) and the cardinal number words.
 */
export const EXTRA_LEXICON: Readonly<Record<string, readonly string[]>> = {
  I: ['PRP'],
  ...Object.fromEntries(
    [
      'zero',
      'one',
      'two',
      'three',
      'four',
      'five',
      'six',
      'seven',
      'eight',
      'nine',
      'ten',
      'eleven',
      'twelve',
      'thirteen',
      'fourteen',
      'fifteen',
      'sixteen',
      'seventeen',
      'eighteen',
      'nineteen',
      'twenty',
      'thirty',
      'forty',
      'fifty',
      'sixty',
      'seventy',
      'eighty',
      'ninety',
      'hundred',
      'thousand',
      'million',
      'billion',
      'trillion',
    ].map((w) => [w, ['CD']]),
  ),
};

/**
 * Rules from Brill (1992) that natural ships in brill_pos_tagger/data/English/tr_from_brill_paper.txt
 * and whose tags are the same in the Penn tag set (the rest of that file uses Brown tags): a noun reading
 * after "to" or a modal is a verb ("to pay", "will charge").
 */
export const EXTRA_RULES: readonly string[] = ['NN VB PREV-TAG TO', 'NN VB PREV-TAG MD'];
