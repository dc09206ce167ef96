import { BlockTaskDef } from '../blocks/block-mapper';

/** Transform-split's block tasks (see blocks/block-mapper.ts). */
export const TRANSFORM_SPLIT_TASKS: readonly BlockTaskDef<never, unknown>[] = [];
