/** Writing a dataset file into the input data root (TICKETFLOW_DATA_DIR), where runs then read it. */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { insideDir } from './data-root';

/**
 * Write `text` as `name` (relative, `/`-separated) inside the data root `root`, atomically: a temporary
 * name in the same folder, then a rename, so a run never reads half a file. Returns the file's path.
 */
export async function writeDatasetFile(root: string, name: string, text: string): Promise<string> {
  const file = path.resolve(root, ...name.split('/'));
  if (path.isAbsolute(name) || !insideDir(path.resolve(root), file))
    throw new RangeError(`dataset name ${JSON.stringify(name)} must lie inside the data root ${root}`);
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await fsp.writeFile(tmp, text);
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  return file;
}
