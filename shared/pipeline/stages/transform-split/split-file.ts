import type { ArtifactStore } from '../../../core/store/artifact-store';
import { readJsonObject, writeJsonObject } from '../../../core/io/json-lists';

/** split.json's fields, with the row lists as typed arrays (4 bytes a ticket). */
export interface SplitRows {
  seed: number;
  testSize: number;
  stratified: boolean;
  train: Int32Array;
  test: Int32Array;
}

/**
 * Writes `split` under `key` as putJson writes a SplitFile (indented JSON, one row number a line, final
 * newline), in pieces: the row lists never become a JavaScript array or one string.
 */
export async function writeSplitFile(store: ArtifactStore, key: string, split: SplitRows): Promise<void> {
  await writeJsonObject(store, key, async (w) => {
    w.value('seed', split.seed);
    w.value('testSize', split.testSize);
    w.value('stratified', split.stratified);
    await w.numbers('train', split.train);
    await w.numbers('test', split.test);
  });
}

/** Reads split.json with its row lists straight into typed arrays; fails naming the file if it is not one. */
export async function readSplitFile(store: ArtifactStore, key: string): Promise<SplitRows> {
  const where = store.locate(key);
  const { lists, values } = readJsonObject(await store.get(key), where, ['train', 'test']);
  const seed = values.get('seed');
  const testSize = values.get('testSize');
  const stratified = values.get('stratified');
  if (typeof seed !== 'number' || typeof testSize !== 'number' || typeof stratified !== 'boolean')
    throw new Error(
      `${where}: seed, testSize and stratified must be two numbers and a boolean; rerun the stage that wrote it`,
    );
  return { seed, testSize, stratified, train: lists.get('train')!, test: lists.get('test')! };
}
