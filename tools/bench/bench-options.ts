/** A flag's value as a whole number ≥ `min`; the error names the flag and the value. */
export function wholeNumber(flag: string, text: string, min: number): number {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw new Error(`${flag} must be a whole number ≥ ${min}, got "${text}"`);
  return n;
}

/**
 * `--compare-workers 1,2,3`: the worker counts to run one after the other, in the order given (the first
 * is what the others' speed-ups are relative to). At least two, each a whole number ≥ 1; a count may
 * repeat (1,1 measures the noise between two identical runs).
 */
export function parseWorkerCounts(text: string, flag = '--compare-workers'): number[] {
  const parts = text.split(',').map((p) => p.trim());
  const bad = parts.filter((p) => !/^\d+$/.test(p) || Number(p) < 1);
  if (bad.length > 0)
    throw new Error(
      `${flag} takes worker counts separated by commas, each a whole number ≥ 1 (e.g. 1,2), got "${text}" ` +
        `(not a whole number ≥ 1: ${bad.map((p) => (p === '' ? 'an empty entry' : `"${p}"`)).join(', ')})`,
    );
  if (parts.length < 2)
    throw new Error(`${flag} needs at least two worker counts to compare (e.g. 1,2), got "${text}"`);
  return parts.map(Number);
}
