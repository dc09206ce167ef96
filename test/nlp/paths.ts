/** Paths the NLP tests share: project root from the compiled file, the read-only shared data. */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '../../..');
export const SHARED_DATA = path.resolve(PROJECT_ROOT, '../shared/data');
export const EWT_FILE = path.join(SHARED_DATA, 'en_ewt-ud-test.conllu');
export const DEV_FILE = path.join(SHARED_DATA, 'complaints-dev.json');

/** Skip reason when a shared data file is absent (tests then skip instead of failing). */
export function skipUnless(file: string): string | false {
  return fs.existsSync(file) ? false : `${file} is absent`;
}
