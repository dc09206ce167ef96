import { BlockTaskDef } from './block-task';
import { FEATURE_EXTRACTION_TASKS } from '../feature-extraction/block-tasks';
import { TRANSFORM_SPLIT_TASKS } from '../transform-split/block-tasks';

/** Every stage's block tasks by name: how a child job's processor finds the task its data names. */
export const BLOCK_TASKS: ReadonlyMap<string, BlockTaskDef<never, unknown>> = byName([
  ...FEATURE_EXTRACTION_TASKS,
  ...TRANSFORM_SPLIT_TASKS,
]);

function byName(tasks: readonly BlockTaskDef<never, unknown>[]): Map<string, BlockTaskDef<never, unknown>> {
  const map = new Map<string, BlockTaskDef<never, unknown>>();
  for (const t of tasks) {
    if (map.has(t.name)) throw new Error(`two block tasks are named ${t.name}`);
    map.set(t.name, t);
  }
  return map;
}
