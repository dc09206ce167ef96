import { BlockTaskDef } from '../blocks/block-mapper';

/** Feature extraction's block tasks (see blocks/block-mapper.ts). */
export const FEATURE_EXTRACTION_TASKS: readonly BlockTaskDef<never, unknown>[] = [];
