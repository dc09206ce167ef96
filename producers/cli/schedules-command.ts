import { parseArgs } from 'node:util';
import { resolveConfig } from '../../shared/core/config/config';
import { BadInputError } from '../../shared/core/errors';
import {
  createSchedule,
  listSchedules,
  NoSuchSchedule,
  removeSchedule,
  ScheduleExists,
  ScheduleView,
  setScheduleEnabled,
} from '../../shared/runtime/schedules/schedules';
import { printHelp, say, UsageError, withRuns } from './session';

const SCHEDULES_HELP = `Usage: ticketflow schedules add|list|remove|disable|enable ...

Training schedules, as POST/GET/DELETE /schedules manage them, in the Redis at REDIS_URL (it must be
running; workers serving the "schedules" queue start the runs).

  add ID (--cron PATTERN | --every SECONDS) --data NAME [--params JSON]
         [--promote ALIAS --metric accuracy|macroF1 --min-delta D [--floor F]]
      a schedule: each tick submits a run of dataset NAME (a name in TICKETFLOW_DATA_DIR, as POST /runs
      takes it) with the pipeline parameters JSON; a tick while the schedule's previous run is still
      waiting or active is skipped. --every fires at once, then every SECONDS; --cron is in UTC.
      With --promote, each completed run goes through the promotion gate: ALIAS moves to its model only
      when it scores (METRIC on the run's test split) at least the alias's model's score + D, and at
      least F when --floor is given
  list           every schedule: enabled, next tick, last runs, skipped ticks
  remove ID      delete a schedule (its runs stay)
  disable ID     stop its ticks until enabled again
  enable ID      start its ticks again, the next counted from now

  --json      print JSON instead of text (add, list, enable, disable)
  -h, --help  this text

Exit status: 0 on success; 1 when there is no such schedule or the id is taken; 2 on usage errors.`;

const ACTIONS = ['add', 'list', 'remove', 'disable', 'enable'] as const;
type Action = (typeof ACTIONS)[number];

function numberOption(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n))
    throw new UsageError(`${name} must be a number, got "${raw}"`);
  return n;
}

/** The add options as a POST /schedules body (checked there, field by field). */
function addBody(id: string, v: Record<string, string | boolean | undefined>): Record<string, unknown> {
  const str = (name: string) => v[name] as string | undefined;
  let params: unknown;
  if (str('params') !== undefined) {
    try {
      params = JSON.parse(str('params')!);
    } catch (err) {
      throw new UsageError(`--params is not JSON: ${(err as Error).message}`);
    }
  }
  const gateFlags = ['metric', 'min-delta', 'floor'].filter((f) => str(f) !== undefined);
  if (str('promote') === undefined && gateFlags.length > 0)
    throw new UsageError(`${gateFlags.map((f) => `--${f}`).join(', ')} need --promote ALIAS`);
  if (str('data') === undefined) throw new UsageError('add needs --data NAME');
  return {
    id,
    ...(str('cron') !== undefined ? { cron: str('cron') } : {}),
    ...(str('every') !== undefined ? { everySeconds: numberOption('--every', str('every')) } : {}),
    dataset: str('data'),
    ...(params !== undefined ? { params } : {}),
    ...(str('promote') !== undefined
      ? {
          promote: {
            alias: str('promote'),
            metric: str('metric') ?? 'accuracy',
            minDelta: numberOption('--min-delta', str('min-delta')) ?? 0,
            ...(str('floor') !== undefined ? { floor: numberOption('--floor', str('floor')) } : {}),
          },
        }
      : {}),
  };
}

function scheduleLine(s: ScheduleView): string {
  const when = s.cron !== undefined ? `cron "${s.cron}"` : `every ${s.everySeconds} s`;
  const gate = s.promote
    ? `  gate ${s.promote.alias} ${s.promote.metric} +${s.promote.minDelta}${s.promote.floor !== undefined ? ` ≥${s.promote.floor}` : ''}`
    : '';
  const lines = [
    `${s.id}  ${s.enabled ? 'enabled ' : 'disabled'}  ${when}  ${s.dataset}  next ${s.nextTick ?? '-'}${gate}`,
    ...s.runs.map((r) => `  ${r.dueAt}  run ${r.run} ${r.state ?? 'gone'}`),
    ...s.skipped.map((r) => `  ${r.dueAt}  skipped: ${r.skipped}`),
  ];
  return lines.join('\n') + '\n';
}

export async function schedulesCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      cron: { type: 'string' },
      every: { type: 'string' },
      data: { type: 'string' },
      params: { type: 'string' },
      promote: { type: 'string' },
      metric: { type: 'string' },
      'min-delta': { type: 'string' },
      floor: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return printHelp(SCHEDULES_HELP);
  const [action, id, ...extra] = positionals;
  if (!ACTIONS.includes(action as Action))
    throw new UsageError(
      `schedules takes ${ACTIONS.join('|')}, got ${JSON.stringify(action ?? '')}: see ticketflow schedules --help`,
    );
  if (action === 'list' ? id !== undefined : id === undefined || extra.length > 0)
    throw new UsageError(action === 'list' ? 'list takes no schedule id' : `${action} takes one schedule id`);
  const print = (s: ScheduleView) =>
    process.stdout.write(values.json ? JSON.stringify(s) + '\n' : scheduleLine(s));
  const config = resolveConfig(process.env);
  try {
    return await withRuns(config, 'existing', async (runs) => {
      switch (action as Action) {
        case 'add':
          print(await createSchedule(runs, addBody(id!, values)));
          return 0;
        case 'list': {
          const all = await listSchedules(runs);
          if (values.json) process.stdout.write(JSON.stringify({ schedules: all }) + '\n');
          else for (const s of all) print(s);
          return 0;
        }
        case 'remove':
          await removeSchedule(runs, id!);
          say(`schedule ${id} removed`);
          return 0;
        case 'disable':
        case 'enable':
          print(await setScheduleEnabled(runs, id!, action === 'enable'));
          return 0;
      }
    });
  } catch (err) {
    if (err instanceof BadInputError) throw new UsageError(err.message);
    if (err instanceof NoSuchSchedule || err instanceof ScheduleExists) {
      say(`ticketflow: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
