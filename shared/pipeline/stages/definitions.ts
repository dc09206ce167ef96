import { PipelineParams } from '../../core/config/pipeline-params';
import { TEXT_PROCESSING } from './text-processing/definition';
import { FEATURE_EXTRACTION } from './feature-extraction/definition';
import { TRANSFORM_SPLIT } from './transform-split/definition';
import { TRAINING } from './training/definition';
import { StageChildren, StageDefinition } from './stage-definition';

/**
 * The pipeline's stages in flow order: the one list of them. Each stage runs on its own BullMQ queue of
 * its name, after the one before it; the last is the root job of a run's flow.
 */
export const STAGE_DEFINITIONS = [
  TEXT_PROCESSING,
  FEATURE_EXTRACTION,
  TRANSFORM_SPLIT,
  TRAINING,
] as const satisfies readonly StageDefinition[];

type Definition = (typeof STAGE_DEFINITIONS)[number];
export type StageName = Definition['name'];

/**
 * Pipeline parameters no stage's output depends on, so they enter no cache key: chunkSize only partitions
 * text processing's work into chunk jobs. Every other parameter is in some stage's `params`
 * (test/pipeline/stage-definitions.test.ts checks it).
 */
export const OUTPUT_NEUTRAL_PARAMS: readonly (keyof PipelineParams)[] = ['chunkSize'];

/** The stages' names in flow order. */
export const STAGES = STAGE_DEFINITIONS.map((d) => d.name) as unknown as NamesOf<typeof STAGE_DEFINITIONS>;
type NamesOf<T extends readonly StageDefinition[]> = { readonly [I in keyof T]: T[I]['name'] };

/** The last stage: the root job of a run's flow, whose completion completes the run. */
export const ROOT_STAGE: StageName = STAGES[STAGES.length - 1]!;

const BY_NAME = new Map<string, StageDefinition>(STAGE_DEFINITIONS.map((d) => [d.name, d]));

export function stageDefinition(stage: StageName): StageDefinition {
  return BY_NAME.get(stage)!;
}

export function isStageName(name: string): name is StageName {
  return BY_NAME.has(name);
}

/** The queue of a fanning-out stage's child jobs: what a run's jobs are, besides its stage jobs. */
export type ChildQueueName = Extract<Definition, { children: unknown }>['children']['queue'];

/** The child queues in flow order. */
export const CHILD_QUEUES: readonly ChildQueueName[] = STAGE_DEFINITIONS.flatMap((d) =>
  'children' in d ? [d.children.queue] : [],
);

/** The children of a run stage that fans out, or undefined. */
export function childrenOf(stage: StageName): StageChildren | undefined {
  return stageDefinition(stage).children;
}

/** The child queue of a run stage that fans out, or undefined. */
export function childQueueOf(stage: StageName): ChildQueueName | undefined {
  return childrenOf(stage)?.queue as ChildQueueName | undefined;
}

export function isChildQueue(name: string): name is ChildQueueName {
  return (CHILD_QUEUES as readonly string[]).includes(name);
}

/** "chunks", "search jobs": the children of a fanning-out stage, for progress lines. */
export function childNoun(stage: StageName): string {
  return childrenOf(stage)?.noun ?? 'child jobs';
}
