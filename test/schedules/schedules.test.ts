/**
 * Schedules and the promotion gate, against real processes (the durable Redis, the API and a worker
 * process): ticks every 2 s on the sample, the first run promoted with no champion, a gate that fails on
 * minDelta and one that passes, a rollback, ticks skipped while a run is active, and the API and worker
 * restarted between ticks with every tick's first attempt failing after its submission
 * (TICKETFLOW_FAIL_ONCE=schedules): still one run per tick.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Deployment,
  http,
  newDeployment,
  Proc,
  redisCommand,
  SAMPLE_NAME,
  startApi,
  startWorker,
  stopAll,
  teardownDeployment,
  waitFor,
} from '../helpers/processes';
import { runCli } from '../helpers/cli';

interface Decision {
  promoted: boolean;
  alias: string;
  metric: string;
  challenger: number | null;
  champion: number | null;
  championRun: string | null;
  minDelta: number;
  floor: number | null;
  reason: string;
}

interface RunBody {
  id: string;
  state: string;
  metrics: { test: { accuracy: number } } | null;
  schedule?: { id: string; tick: string };
  promotion?: Decision;
}

interface TickBody {
  tick: string;
  dueAt: string;
  run?: string;
  skipped?: string;
  state?: string | null;
}

interface ScheduleBody {
  id: string;
  enabled: boolean;
  nextTick: string | null;
  runs: TickBody[];
  skipped: TickBody[];
}

describe('schedules and the promotion gate (real processes)', () => {
  let d: Deployment;
  let api: Proc;
  let worker: Proc;
  // Every tick's first attempt fails after submitting its run; a run's training fails once, so the
  // first run stays active over a 2 s retry delay at least: a tick comes meanwhile, however fast the run.
  const workerEnv = () => ({ env: { ...d.env, TICKETFLOW_FAIL_ONCE: 'schedules,training' } });
  const logs = () =>
    [api, worker]
      .filter(Boolean)
      .map((p) => `--- ${p.label} ---\n${p.stderr().slice(-4000)}`)
      .join('\n');
  const get = async <T>(path: string): Promise<T> => {
    const res = await http(d.baseUrl, 'GET', path);
    assert.equal(res.status, 200, `GET ${path}: ${JSON.stringify(res.body)}`);
    return res.body as T;
  };
  const schedule = async (id: string): Promise<ScheduleBody> => {
    const { schedules } = await get<{ schedules: ScheduleBody[] }>('/schedules');
    const s = schedules.find((x) => x.id === id);
    assert.ok(s, `schedule ${id} listed`);
    return s;
  };
  /** Every run was started by a tick, and no tick started two: the runs. */
  const oneRunPerTick = async () => {
    const { runs } = await get<{ runs: { id: string }[] }>('/runs?limit=1000');
    const perTick = new Map<string, string[]>();
    for (const { id } of runs) {
      const run = await get<RunBody>(`/runs/${id}`);
      assert.ok(run.schedule, `run ${id} was started by a tick`);
      perTick.set(run.schedule.tick, [...(perTick.get(run.schedule.tick) ?? []), id]);
    }
    const twice = [...perTick].filter(([, ids]) => ids.length > 1);
    assert.deepEqual(twice, [], 'no tick started two runs');
    return runs;
  };
  /** The run of the schedule's `n`-th tick that started one (0: the first) once the gate judged it. */
  const gatedRun = (id: string, n: number, timeoutMs = 90_000) =>
    waitFor(
      `run ${n + 1} of schedule ${id} judged by the gate`,
      async () => {
        const runs = (await schedule(id)).runs;
        const entry = runs[runs.length - 1 - n];
        if (!entry?.run) return undefined;
        const run = await get<RunBody>(`/runs/${entry.run}`);
        if (run.state === 'failed') throw new Error(`run ${run.id} failed: ${JSON.stringify(run)}`);
        return run.promotion ? run : undefined;
      },
      timeoutMs,
    ).catch(async (err: Error) => {
      await oneRunPerTick(); // the likelier cause, when it is one
      const runs = (await schedule(id)).runs;
      const last = runs[runs.length - 1 - n]?.run;
      const record = last ? await get<RunBody>(`/runs/${last}`) : null;
      throw new Error(
        `${err.message}\nticks: ${JSON.stringify(runs)}\nrun ${last}: ${JSON.stringify(record)}\n${logs()}`,
      );
    });
  const aliasOf = async (name: string) =>
    (await get<{ aliases: Record<string, { run: string }> }>('/models')).aliases[name]?.run;

  before(async () => {
    d = await newDeployment('sched');
    const r = await redisCommand(d, 'start');
    assert.equal(r.code, 0, r.stderr);
    api = await startApi(d);
    worker = await startWorker(workerEnv());
  });
  after(async () => {
    await stopAll();
    if (d) await teardownDeployment(d);
  });

  it('answers 400 naming the field for invalid schedules, 404 and 409 where due', async () => {
    const base = { id: 'ok', everySeconds: 60, dataset: SAMPLE_NAME };
    const cases: [unknown, RegExp][] = [
      [[], /JSON object/],
      [{ ...base, id: 'no:colon' }, /"id"/],
      [{ ...base, id: undefined }, /"id"/],
      [{ ...base, cron: '* * * * *' }, /exactly one of "cron".*"everySeconds"/],
      [{ id: 'ok', dataset: SAMPLE_NAME }, /exactly one of/],
      [{ ...base, everySeconds: 0 }, /"everySeconds"/],
      [{ ...base, everySeconds: 1.5 }, /"everySeconds"/],
      [{ id: 'ok', cron: 'not a cron', dataset: SAMPLE_NAME }, /"cron"/],
      [{ ...base, dataset: 'nowhere.json' }, /nowhere\.json/],
      [{ ...base, dataset: '../etc/passwd' }, /passwd/],
      [{ ...base, params: { C: -1 } }, /\bC\b/],
      [{ ...base, params: { noSuchParam: 1 } }, /noSuchParam/],
      [{ ...base, params: [] }, /"params"/],
      [{ ...base, promote: { alias: 'production', metric: 'f1', minDelta: 0 } }, /"promote\.metric"/],
      [{ ...base, promote: { alias: '1bad', metric: 'accuracy', minDelta: 0 } }, /"promote\.alias"/],
      [{ ...base, promote: { alias: 'production', metric: 'accuracy' } }, /"promote\.minDelta"/],
      [{ ...base, promote: { alias: 'p', metric: 'accuracy', minDelta: 0, floor: 2 } }, /"promote\.floor"/],
      [{ ...base, promote: { alias: 'p', metric: 'accuracy', minDelta: 0, extra: 1 } }, /extra/],
      [{ ...base, when: 'now' }, /unknown field\(s\) when/],
    ];
    for (const [body, message] of cases) {
      const res = await http(d.baseUrl, 'POST', '/schedules', body);
      assert.equal(res.status, 400, `${JSON.stringify(body)} → ${JSON.stringify(res.body)}`);
      assert.match((res.body as { error: string }).error, message, JSON.stringify(body));
    }
    const { schedules } = await get<{ schedules: unknown[] }>('/schedules');
    assert.deepEqual(schedules, [], 'no invalid schedule was kept');
    assert.equal((await http(d.baseUrl, 'DELETE', '/schedules/none')).status, 404);
    assert.equal((await http(d.baseUrl, 'POST', '/schedules/none/disable')).status, 404);
    const noAlias = await http(d.baseUrl, 'POST', '/models/aliases/production/rollback');
    assert.equal(noAlias.status, 409, JSON.stringify(noAlias.body));
    const cron = await http(d.baseUrl, 'POST', '/schedules', {
      id: 'c',
      cron: '0 3 * * *',
      dataset: SAMPLE_NAME,
    });
    assert.equal(cron.status, 201, JSON.stringify(cron.body));
    assert.match((cron.body as ScheduleBody).nextTick ?? '', /T03:00:00\.000Z$/);
    assert.equal((await http(d.baseUrl, 'POST', '/schedules', { ...base, id: 'c' })).status, 409);
    assert.equal((await http(d.baseUrl, 'DELETE', '/schedules/c')).status, 200);
  });

  it('ticketflow schedules add|list|disable|enable|remove', async () => {
    const cli = (...args: string[]) => runCli(['schedules', ...args], d.env);
    const help = await cli('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /add ID \(--cron PATTERN \| --every SECONDS\)/);
    const added = await cli(
      'add',
      'nightly',
      '--cron',
      '0 3 * * *',
      '--data',
      SAMPLE_NAME,
      '--params',
      '{"C": 2}',
      '--promote',
      'staging',
      '--metric',
      'macroF1',
      '--min-delta',
      '0.01',
      '--floor',
      '0.5',
      '--json',
    );
    assert.equal(added.code, 0, added.stderr);
    const s = JSON.parse(added.stdout) as ScheduleBody & { promote: unknown; params: unknown };
    assert.deepEqual(s.promote, { alias: 'staging', metric: 'macroF1', minDelta: 0.01, floor: 0.5 });
    assert.deepEqual(s.params, { C: 2 });
    assert.match(s.nextTick ?? '', /T03:00:00\.000Z$/);
    const listed = await cli('list');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^nightly {2}enabled +cron "0 3 \* \* \*" {2}/);
    const off = await cli('disable', 'nightly', '--json');
    assert.equal(off.code, 0, off.stderr);
    assert.equal((JSON.parse(off.stdout) as ScheduleBody).enabled, false);
    assert.equal((await schedule('nightly')).nextTick, null, 'the API sees what the CLI did');
    const on = await cli('enable', 'nightly', '--json');
    assert.equal((JSON.parse(on.stdout) as ScheduleBody).enabled, true);
    const taken = await cli('add', 'nightly', '--cron', '0 3 * * *', '--data', SAMPLE_NAME);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /exists/);
    const bad = await cli('add', 'x', '--every', '0', '--data', SAMPLE_NAME);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"everySeconds" must be a whole number/);
    const badMetric = await cli(
      'add',
      'x',
      '--every',
      '5',
      '--data',
      SAMPLE_NAME,
      '--promote',
      'p',
      '--metric',
      'f1',
    );
    assert.equal(badMetric.code, 2);
    assert.match(badMetric.stderr, /promote\.metric/);
    assert.equal((await cli('remove', 'nightly')).code, 0);
    const gone = await cli('remove', 'nightly');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no schedule "nightly"/);
  });

  it('ticks, gates, skips while active, survives restarts with one run per tick, rolls back', async () => {
    const gate = { alias: 'production', metric: 'accuracy', minDelta: 1.0 };
    const created = await http(d.baseUrl, 'POST', '/schedules', {
      id: 'retrain',
      everySeconds: 2,
      dataset: SAMPLE_NAME,
      promote: gate,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((created.body as ScheduleBody).enabled, true);

    // The first run: no champion, so promoted; both scores come from the text through the model file,
    // so the challenger's is the run's own test accuracy.
    const first = await gatedRun('retrain', 0);
    assert.equal(first.schedule?.id, 'retrain');
    assert.equal(first.promotion!.promoted, true, first.promotion!.reason);
    assert.equal(first.promotion!.championRun, null);
    assert.match(first.promotion!.reason, /no champion/);
    assert.ok(Math.abs(first.promotion!.challenger! - first.metrics!.test.accuracy) < 1e-12);
    assert.equal(await aliasOf('production'), first.id);
    await oneRunPerTick();

    // Ticks while the first run computed were skipped, naming it.
    const skipped = (await schedule('retrain')).skipped;
    assert.ok(skipped.length >= 1, 'a tick came while the first run was active');
    assert.match(
      skipped[skipped.length - 1]!.skipped!,
      new RegExp(`run ${first.id} of the previous tick is still (waiting|active)`),
    );

    // The second run (every stage cached: the same model) must beat the champion by 1.0: it cannot.
    const second = await gatedRun('retrain', 1);
    assert.equal(second.promotion!.promoted, false);
    assert.equal(second.promotion!.championRun, first.id);
    assert.equal(second.promotion!.champion, second.promotion!.challenger, 'the same model scores the same');
    assert.match(second.promotion!.reason, /not better by minDelta/);
    assert.equal(await aliasOf('production'), first.id, 'a failing gate leaves the alias');

    // Restart the API and the worker between ticks; ticks go on after it.
    const beforeRestart = worker.stderr();
    await worker.stop('SIGTERM', 10_000);
    await api.stop('SIGTERM', 10_000);
    const restartedAt = Date.now();
    api = await startApi(d);
    worker = await startWorker(workerEnv());
    await waitFor(
      'a tick run after the restart, judged',
      async () => {
        for (const e of (await schedule('retrain')).runs) {
          if (Date.parse(e.dueAt) < restartedAt) continue;
          const run = await get<RunBody>(`/runs/${e.run}`);
          if (run.promotion) return run;
        }
        return undefined;
      },
      30_000,
    );
    const disabled = await http(d.baseUrl, 'POST', '/schedules/retrain/disable');
    assert.equal(disabled.status, 200);
    assert.equal((disabled.body as ScheduleBody).enabled, false);
    assert.equal((disabled.body as ScheduleBody).nextTick, null);
    // Either worker's: a tick whose lock lapsed while the restarted worker started (a loaded machine) is
    // retried by the stalled-job check, and its failure is then logged by neither attempt.
    assert.match(
      beforeRestart + worker.stderr(),
      /injected transient failure of schedules/,
      'ticks were retried',
    );

    // One run per tick: every run carries its tick, and no tick has two.
    const runs = await oneRunPerTick();
    const ran = (await schedule('retrain')).runs;
    assert.ok(runs.length >= 3, `runs before and after the restart: ${runs.length}`);
    assert.equal(new Set(ran.map((e) => e.run)).size, ran.length, 'each recorded tick names its own run');

    // A gate that passes (the same score, minDelta 0) moves the alias; rollback returns it.
    const passing = await http(d.baseUrl, 'POST', '/schedules', {
      id: 'retrain-2',
      everySeconds: 2,
      dataset: SAMPLE_NAME,
      promote: { ...gate, minDelta: 0, floor: 0.1 },
    });
    assert.equal(passing.status, 201, JSON.stringify(passing.body));
    const third = await gatedRun('retrain-2', 0);
    assert.equal((await http(d.baseUrl, 'DELETE', '/schedules/retrain-2')).status, 200);
    assert.equal(third.promotion!.promoted, true, third.promotion!.reason);
    assert.equal(third.promotion!.championRun, first.id);
    assert.equal(await aliasOf('production'), third.id);

    const models = await get<{
      models: { run: string; gate: Decision | null }[];
      aliasHistory: Record<string, { run: string; previous: string | null; how: string }[]>;
    }>('/models');
    assert.equal(models.models.find((m) => m.run === second.id)?.gate?.promoted, false);
    assert.equal(models.models.find((m) => m.run === third.id)?.gate?.promoted, true);
    assert.deepEqual(
      models.aliasHistory.production!.map((m) => [m.how, m.run, m.previous]),
      [
        ['gate', third.id, first.id],
        ['gate', first.id, null],
      ],
    );

    const back = await http(d.baseUrl, 'POST', '/models/aliases/production/rollback');
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.deepEqual(back.body, { alias: 'production', run: first.id, from: third.id });
    assert.equal(await aliasOf('production'), first.id);
    const none = await http(d.baseUrl, 'POST', '/models/aliases/production/rollback');
    assert.equal(none.status, 409, 'the first version has no previous one');
    assert.match((none.body as { error: string }).error, /no previous version/);

    // A manual move is history too: rollback undoes it.
    const put = await fetch(`${d.baseUrl}/models/aliases/production`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ run: third.id }),
    });
    assert.equal(put.status, 200, await put.text());
    const undo = await http(d.baseUrl, 'POST', '/models/aliases/production/rollback');
    assert.deepEqual(undo.body, { alias: 'production', run: first.id, from: third.id });
    const history = (await get<{ aliasHistory: Record<string, { how: string }[]> }>('/models')).aliasHistory;
    assert.deepEqual(
      history.production!.map((m) => m.how),
      ['rollback', 'manual', 'rollback', 'gate', 'gate'],
    );
  });
});
