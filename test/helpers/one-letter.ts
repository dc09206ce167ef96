/**
 * A dataset's text with one letter of its first narrative changed: the same size, different bytes, so
 * only a hash (or a file's identity) can tell.
 */
export function withOneLetterChanged(text: string): string {
  const at = text.indexOf('complaint_what_happened') + 40;
  return text.slice(0, at) + (text[at] === 'x' ? 'y' : 'x') + text.slice(at + 1);
}
