import { ArtifactNotFound } from '../../../core/store/artifact-store';
import { PipelineParams } from '../../../core/config/pipeline-params';
import { Block, BlockPlan } from '../blocks/plan-blocks';
import { RunArtifacts, StageContext, artifactKey } from '../context';
import { feFiles, feKey } from './block-files';

/**
 * Feature extraction's per-block term counts and topics, handed on to transform-split. With topic labels
 * stage 3 counts the same text the same way (the processed text's noun lemmas, lowercased, the default
 * token pattern, single words) and labels each ticket with the topic stage 2 gave it: without these
 * files it reads and tokenizes every ticket of tickets_topics.csv again, the largest part of its work.
 *
 * Stage 2 puts them under `runs/<id>/term-counts/` as it completes, cheap copies of its block files (hard
 * links locally, server-side copies on S3), the manifest last, so a manifest means every file is there.
 * Stage 3 uses them when the manifest names the blocks it planned, and removes them when it ends. A run
 * whose stage 2 came from the cache has none, nor does one whose stage 3 removed them before a rerun:
 * stage 3 then reads tickets_topics.csv, to the same bytes (test/stages/transform-split-blocks.test.ts).
 */
export const TERM_HANDOFF_DIR = 'term-counts/';

/** Bumped whenever a file's bytes mean something else: stage 3 then reads tickets_topics.csv instead. */
const HANDOFF_FORMAT = 1;

const block = (b: number) => String(b).padStart(5, '0');

export const handoffFiles = {
  /** HandoffManifest */
  manifest: 'manifest.json',
  /** block b's terms with their document frequencies (encodeTermFrequencies), as feFiles.terms */
  terms: (b: number) => `terms-${block(b)}.bin`,
  /** block b's rows counted in its terms (block-files.ts's encodeMatrix), as feFiles.counts */
  counts: (b: number) => `counts-${block(b)}.bin`,
  /** each of block b's tickets' topic, an index into topics.json's topics (int32), as feFiles.topicLabels */
  topics: (b: number) => `topics-${block(b)}.bin`,
} as const;

interface HandoffManifest {
  format: number;
  /** each block's first row and rows, in block order */
  blocks: [number, number][];
}

/** Whether stage 3 counts the text stage 2 counted, the way it counted it: with topic labels. */
function countsStage2Terms(params: Pick<PipelineParams, 'labels'>): boolean {
  return params.labels === 'topics';
}

/** The store key of a handed-on file. */
export function handoffKey(ctx: Pick<RunArtifacts, 'runId'>, name: string): string {
  return artifactKey(ctx, TERM_HANDOFF_DIR + name);
}

/**
 * Stage 2: its blocks' term files and topics, then the manifest. Whatever the run's labels: stage 2's
 * output does not depend on them (they are not in its cache key), and stage 3 removes what it does not use.
 */
export async function publishTermHandoff(ctx: StageContext, plan: BlockPlan): Promise<void> {
  await removeTermHandoff(ctx);
  for (const { index: b } of plan.blocks)
    await Promise.all([
      ctx.store.copy(feKey(ctx, feFiles.terms(b)), handoffKey(ctx, handoffFiles.terms(b))),
      ctx.store.copy(feKey(ctx, feFiles.counts(b)), handoffKey(ctx, handoffFiles.counts(b))),
      ctx.store.copy(feKey(ctx, feFiles.topicLabels(b)), handoffKey(ctx, handoffFiles.topics(b))),
    ]);
  const manifest: HandoffManifest = {
    format: HANDOFF_FORMAT,
    blocks: plan.blocks.map((b) => [b.first, b.rows]),
  };
  await ctx.store.putJson(handoffKey(ctx, handoffFiles.manifest), manifest);
}

/**
 * Stage 3: whether the run holds stage 2's files for exactly the blocks of `plan`, all of them; null when
 * it does, else why not (for the stage's log).
 */
export async function termHandoffMissing(
  ctx: StageContext,
  blocks: readonly Block[],
): Promise<string | null> {
  if (!countsStage2Terms(ctx.params)) return 'category labels count the narratives';
  let manifest: HandoffManifest;
  try {
    manifest = await ctx.store.getJson<HandoffManifest>(handoffKey(ctx, handoffFiles.manifest));
  } catch (err) {
    if (err instanceof ArtifactNotFound) return 'feature extraction left none (cached, or already used)';
    throw err;
  }
  const same =
    manifest.format === HANDOFF_FORMAT &&
    manifest.blocks.length === blocks.length &&
    blocks.every((b, i) => manifest.blocks[i]![0] === b.first && manifest.blocks[i]![1] === b.rows);
  if (!same) return 'feature extraction left them for other blocks or in another format';
  const dir = handoffKey(ctx, '');
  const there = new Set((await ctx.store.list(dir)).map((e) => e.key.slice(dir.length)));
  const gone = blocks.find(
    ({ index: b }) =>
      !there.has(handoffFiles.terms(b)) ||
      !there.has(handoffFiles.counts(b)) ||
      !there.has(handoffFiles.topics(b)),
  );
  return gone === undefined ? null : `block ${gone.index}'s are gone`;
}

/** Removes the handed-on files, the manifest first (so no reader takes a half-removed set for whole). */
export async function removeTermHandoff(ctx: RunArtifacts): Promise<void> {
  await ctx.store.remove(handoffKey(ctx, handoffFiles.manifest));
  await ctx.store.removePrefix(handoffKey(ctx, ''));
}
