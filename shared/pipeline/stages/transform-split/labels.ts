import { PipelineParams } from '../../../core/config/pipeline-params';
import { BadInputError } from '../../../core/errors';
import { compareCodePoints } from '../../../core/numeric/vectorizer';
import { CATEGORY_SEPARATOR } from '../text-processing/chunk-files';

/** Tickets per topic label: `counts[label]`, for labels 0 … k − 1. */
export function classCounts(labels: Int32Array, k: number): number[] {
  const counts = new Array<number>(k).fill(0);
  for (const label of labels) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

/** Labels present in `counts` (count > 0), largest first, then by label. */
export function presentClasses(counts: readonly number[]): number[] {
  return counts
    .map((c, label) => ({ c, label }))
    .filter((x) => x.c > 0)
    .sort((a, b) => b.c - a.c || a.label - b.label)
    .map((x) => x.label);
}

/** The raw label of a `tickets.csv` category (`Product + Sub-product` or `Product`) for `labelField`. */
export function rawLabel(category: string, field: PipelineParams['labelField']): string {
  if (field === 'category') return category;
  const at = category.indexOf(CATEGORY_SEPARATOR);
  return at < 0 ? category : category.slice(0, at);
}

/** The class tickets fall into when `labelMap` does not list their value, or their class is too rare. */
export const OTHER_CLASS = 'other';

export interface CategoryLabels {
  /** class names in code-point order; `labels` index them */
  names: string[];
  /** per ticket row, its class, or −1 when dropped (an unmapped value with `unmappedLabel: "drop"`) */
  labels: Int32Array;
  /** tickets per class, in `names` order */
  counts: number[];
  /** tickets dropped, and tickets whose raw value `labelMap` did not list (→ other or dropped) */
  dropped: number;
  unmapped: number;
  /** the most frequent raw values `labelMap` did not list, with their ticket counts (at most 20) */
  unmappedValues: Record<string, number>;
  /** classes with fewer than `minClassSize` tickets, merged into `other` */
  merged: string[];
}

/** What `labelMap` and `minClassSize` make of the category values: CategoryLabels without the rows. */
export interface CategoryClasses extends Omit<CategoryLabels, 'labels'> {
  /** per category value, its class (an index into `names`), or −1 when dropped */
  classOf: Map<string, number>;
}

/**
 * Category labels (`labels: "category"`) of the tickets, from their `tickets.csv` category: the raw value
 * for `labelField`, mapped through `labelMap` (a full `Product + Sub-product` value not in the map is
 * looked up by its product), unmapped values to `other` or dropped, then classes rarer than
 * `minClassSize` merged into `other`. Fails with BadInputError, naming the parameters to change, when
 * fewer than two classes are left.
 */
export function categoryLabels(
  categories: readonly string[],
  params: Readonly<PipelineParams>,
): CategoryLabels {
  const values = new Map<string, number>();
  for (const c of categories) values.set(c, (values.get(c) ?? 0) + 1);
  const { classOf, ...classes } = categoryClasses(values, params);
  return { ...classes, labels: Int32Array.from(categories, (c) => classOf.get(c)!) };
}

/**
 * categoryLabels from how many tickets hold each category value (`values`: value → tickets), which is
 * all it depends on: the classes, their sizes and what was merged or dropped, and each value's class.
 */
export function categoryClasses(
  values: ReadonlyMap<string, number>,
  params: Readonly<PipelineParams>,
): CategoryClasses {
  const map = params.labelMap;
  const lookup = (raw: string): string | undefined =>
    map !== null && Object.hasOwn(map, raw) ? map[raw] : undefined;
  const named = new Map<string, string | null>();
  const unmappedCounts = new Map<string, number>();
  let tickets = 0;
  for (const [category, n] of values) {
    tickets += n;
    const raw = rawLabel(category, params.labelField);
    if (map === null) {
      named.set(category, raw);
      continue;
    }
    const cls =
      lookup(raw) ?? (params.labelField === 'category' ? lookup(rawLabel(category, 'product')) : undefined);
    if (cls !== undefined) named.set(category, cls.trim());
    else {
      unmappedCounts.set(raw, (unmappedCounts.get(raw) ?? 0) + n);
      named.set(category, params.unmappedLabel === 'drop' ? null : OTHER_CLASS);
    }
  }
  const sizes = new Map<string, number>();
  for (const [category, c] of named)
    if (c !== null) sizes.set(c, (sizes.get(c) ?? 0) + values.get(category)!);
  const merged = [...sizes]
    .filter(([name, n]) => name !== OTHER_CLASS && n < params.minClassSize)
    .map(([name]) => name)
    .sort(compareCodePoints);
  const mergedSet = new Set(merged);
  const final = new Map(
    [...named].map(([category, c]) => [category, c !== null && mergedSet.has(c) ? OTHER_CLASS : c]),
  );
  const names = [...new Set([...final.values()].filter((c): c is string => c !== null))].sort(
    compareCodePoints,
  );
  const index = new Map(names.map((n, i) => [n, i]));
  const classOf = new Map([...final].map(([category, c]) => [category, c === null ? -1 : index.get(c)!]));
  const counts = new Array<number>(names.length).fill(0);
  for (const [category, label] of classOf) if (label >= 0) counts[label]! += values.get(category)!;
  const unmapped = [...unmappedCounts.values()].reduce((s, n) => s + n, 0);
  const unmappedValues = Object.fromEntries(
    [...unmappedCounts].sort((a, b) => b[1] - a[1] || compareCodePoints(a[0], b[0])).slice(0, 20),
  );
  const result: CategoryClasses = {
    names,
    classOf,
    counts,
    dropped: params.unmappedLabel === 'drop' ? unmapped : 0,
    unmapped,
    unmappedValues,
    merged,
  };
  if (names.length < 2) throw new BadInputError(singleClassMessage(result, tickets, params));
  return result;
}

function singleClassMessage(l: CategoryClasses, tickets: number, params: Readonly<PipelineParams>): string {
  const how = `"labels": "category" with "labelField": "${params.labelField}"${params.labelMap === null ? '' : `, a "labelMap" of ${Object.keys(params.labelMap).length} value(s)`}`;
  const only = l.names[0];
  const where =
    only === undefined
      ? `no ticket of ${tickets} is left (${l.dropped} dropped as unmapped)`
      : `all ${tickets - l.dropped} kept tickets fall in the single class "${only}"${l.merged.length > 0 ? ` (after merging ${l.merged.length} class(es) under minClassSize ${params.minClassSize} into "${OTHER_CLASS}")` : ''}${l.dropped > 0 ? `, ${l.dropped} dropped as unmapped` : ''}`;
  return `${how}: ${where}, and a classifier needs two classes or more: check that "labelMap" lists this dataset's values (unmapped: ${JSON.stringify(l.unmappedValues)}), lower "minClassSize", set "unmappedLabel": "other", or use "labels": "topics"`;
}
