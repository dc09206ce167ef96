/** Paths the NLP tests share: project root from the compiled file, the read-only shared data. */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '../../..');
/** `../shared/data` beside the project, or `TICKETFLOW_SHARED_DATA`. */
export const SHARED_DATA = path.resolve(
  process.env.TICKETFLOW_SHARED_DATA ?? path.join(PROJECT_ROOT, '../shared/data'),
);
export const EWT_FILE = path.join(SHARED_DATA, 'en_ewt-ud-test.conllu');
export const DEV_FILE = path.join(SHARED_DATA, 'complaints-dev.json');

/**
 * Skip reason when a shared data file is absent (tests then skip and say why). With
 * `TICKETFLOW_REQUIRE_SHARED=1` (CI sets it) nothing is skipped: a missing file fails the test that needs it.
 */
export function skipUnless(file: string): string | false {
  if (process.env.TICKETFLOW_REQUIRE_SHARED === '1') return false;
  return fs.existsSync(file) ? false : `${file} is absent (set TICKETFLOW_SHARED_DATA to point elsewhere)`;
}
