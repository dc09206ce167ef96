import { BadInputError, DataUnavailableError } from '../../shared/core/errors';
import { NoPreviousVersion, rollbackAlias } from '../../shared/runtime/runs/alias-history';
import {
  createSchedule,
  listSchedules,
  NoSuchSchedule,
  removeSchedule,
  ScheduleExists,
  setScheduleEnabled,
} from '../../shared/runtime/schedules/schedules';
import { answerError, errorResult, HandlerResult } from './handler-result';
import { ApiDeps } from './handlers';

const SCHEDULE_ERRORS = [
  [BadInputError, 400],
  [NoSuchSchedule, 404],
  [ScheduleExists, 409],
  [DataUnavailableError, 503],
] as const;

async function answer(work: () => Promise<HandlerResult>): Promise<HandlerResult> {
  try {
    return await work();
  } catch (err) {
    return answerError(err, SCHEDULE_ERRORS);
  }
}

/** POST /schedules: 201 with the schedule and its next tick; 400 naming the field; 409 for a taken id. */
export const postSchedule = (deps: ApiDeps, body: unknown) =>
  answer(async () => ({ status: 201, body: await createSchedule(deps, body) }));

/** GET /schedules: every schedule with its next tick, its last runs and its skipped ticks. */
export const getSchedules = (deps: ApiDeps) =>
  answer(async () => ({ status: 200, body: { schedules: await listSchedules(deps) } }));

export const deleteSchedule = (deps: ApiDeps, id: string) =>
  answer(async () => {
    await removeSchedule(deps, id);
    return { status: 200, body: { id, deleted: true } };
  });

export const enableSchedule = (deps: ApiDeps, id: string, enabled: boolean) =>
  answer(async () => ({ status: 200, body: await setScheduleEnabled(deps, id, enabled) }));

/** POST /models/aliases/:name/rollback: the alias returns to its previous run; 409 when it has none. */
export async function postRollback(deps: ApiDeps, name: string): Promise<HandlerResult> {
  try {
    return { status: 200, body: await rollbackAlias(deps, name) };
  } catch (err) {
    if (err instanceof NoPreviousVersion) return errorResult(409, err.message);
    throw err;
  }
}
