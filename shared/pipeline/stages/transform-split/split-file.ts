import type { ArtifactStore } from '../../../core/store/artifact-store';

/** split.json's fields, with the row lists as typed arrays (4 bytes a ticket). */
export interface SplitRows {
  seed: number;
  testSize: number;
  stratified: boolean;
  train: Int32Array;
  test: Int32Array;
}

/** Characters gathered before a write. */
const WRITE_CHARS = 1 << 20;

/**
 * Writes `split` under `key` as putJson writes a SplitFile (indented JSON, one row number a line, final
 * newline), in pieces: the row lists never become a JavaScript array or one string.
 */
export async function writeSplitFile(store: ArtifactStore, key: string, split: SplitRows): Promise<void> {
  const out = await store.openWriter(key);
  try {
    let text = `{\n  "seed": ${JSON.stringify(split.seed)},\n  "testSize": ${JSON.stringify(split.testSize)},\n  "stratified": ${JSON.stringify(split.stratified)},\n`;
    const list = async (name: string, rows: Int32Array, last: boolean): Promise<void> => {
      const end = last ? '\n' : ',\n';
      if (rows.length === 0) {
        text += `  "${name}": []${end}`;
        return;
      }
      text += `  "${name}": [\n`;
      for (let i = 0; i < rows.length; i++) {
        text += i + 1 < rows.length ? `    ${rows[i]},\n` : `    ${rows[i]}\n`;
        if (text.length >= WRITE_CHARS) {
          await out.write(text);
          text = '';
        }
      }
      text += `  ]${end}`;
    };
    await list('train', split.train, false);
    await list('test', split.test, true);
    text += '}\n';
    await out.write(text);
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
}
