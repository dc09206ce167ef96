import {
  getClassification,
  MAX_CLASSIFICATION_CHUNK_SIZE,
  submitClassification,
} from '../../shared/runtime/classify/batch';
import { BadInputError, DataUnavailableError, StorageError } from '../../shared/core/errors';
import { InvalidModelError } from '../../shared/pipeline/model/load-model';
import { ModelRegistry, NoDefaultModel, NoSuchModel } from '../../shared/runtime/runs/model-registry';
import { RunsContext } from '../../shared/runtime/runs/context';
import { openDatasetSource } from '../../shared/core/dataset/open-dataset-source';
import { answerError, errorResult as error, HandlerResult } from './handler-result';

const FIELDS = 'the body takes "dataset", "model", "threshold" and "chunkSize"';

/**
 * POST /classifications: classify a dataset in the data root with a model version, in chunk jobs on the
 * workers. Body `{dataset, model?, threshold?, chunkSize?}`: `dataset` a path relative to the data root,
 * `model` an alias or a completed run's id (default the `production` alias), `threshold` 0–1 (default the
 * model's calibrated one), `chunkSize` tickets per chunk job. 202 `{id, model, status}`; 400 naming the
 * field for bad input, 404 for an unknown model, 409 when no model is named and `production` is not set
 * (or the model's file is unusable).
 */
export async function createClassification(
  deps: RunsContext,
  registry: ModelRegistry,
  body: unknown,
): Promise<HandlerResult> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return error(
      400,
      'the body must be a JSON object: {"dataset": "<path in the data root>", "model"?, "threshold"?, "chunkSize"?}',
    );
  }
  const { dataset, model, threshold, chunkSize, ...rest } = body as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) return error(400, `unknown field(s) ${extra.join(', ')}: ${FIELDS}`);
  if (model !== undefined && (typeof model !== 'string' || model === ''))
    return error(400, '"model" must be an alias or the id of a completed run');
  if (threshold !== undefined && (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)))
    return error(400, '"threshold" must be a number from 0 to 1');
  if (
    chunkSize !== undefined &&
    (typeof chunkSize !== 'number' ||
      !Number.isInteger(chunkSize) ||
      chunkSize < 1 ||
      chunkSize > MAX_CLASSIFICATION_CHUNK_SIZE)
  ) {
    return error(400, `"chunkSize" must be a whole number from 1 to ${MAX_CLASSIFICATION_CHUNK_SIZE}`);
  }
  try {
    const datasets = openDatasetSource(deps.config);
    const { name, location } = await datasets.resolve(dataset);
    const { id, model: run } = await submitClassification(deps, registry, {
      dataset: name,
      datasetFile: location,
      datasetProblem: (file) => datasets.problem(file),
      ...(model !== undefined ? { model: model as string } : {}),
      ...(threshold !== undefined ? { threshold: threshold as number } : {}),
      ...(chunkSize !== undefined ? { chunkSize: chunkSize as number } : {}),
    });
    return { status: 202, body: { id, model: run, status: `/classifications/${id}` } };
  } catch (err) {
    return answerError(err, [
      [StorageError, 507],
      [BadInputError, 400],
      [DataUnavailableError, 503],
      [NoSuchModel, 404],
      [NoDefaultModel, 409],
      // a completed run whose model.json this code cannot use (e.g. trained before model files had version 2)
      [InvalidModelError, 409],
    ]);
  }
}

/**
 * GET /classifications/:id: `{id, state, progress, dataset, model, threshold, createdAt, finishedAt,
 * chunks, summary, error}`; 404 for an unknown id.
 */
export async function getClassificationHandler(deps: RunsContext, id: string): Promise<HandlerResult> {
  const status = await getClassification(deps, id);
  return status
    ? { status: 200, body: status }
    : error(404, `no classification with id ${JSON.stringify(id)}`);
}
