/**
 * The problem with `value` as the regular-expression source a file's field `field` must hold, or null when
 * it compiles with `flags`: a model file names its patterns by source, checked before they are used.
 */
export function regexSourceProblem(field: string, value: unknown, flags: string): string | null {
  if (typeof value !== 'string') return `${field} must be a regular expression source`;
  try {
    new RegExp(value, flags);
  } catch (err) {
    return `${field} does not compile: ${(err as Error).message}`;
  }
  return null;
}
