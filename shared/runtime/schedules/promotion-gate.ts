/**
 * The promotion gate (champion/challenger), a run-finished hook: a completed run whose schedule has a
 * `promote` setting (the challenger) is compared with the model its alias names (the champion) on the
 * same tickets — the challenger's test split, each model reading the raw text through its own text
 * processing and vocabulary — with the same metric. The alias moves only when the challenger scores at
 * least the champion's score plus `minDelta`, and at least `floor` when set; without a champion, when it
 * reaches the floor. The decision goes into the run's record and the gate decisions hash.
 */
import { randomBytes } from 'node:crypto';
import { createLogger, Logger, logLost } from '../../core/logger';
import { moveAlias } from '../runs/alias-history';
import { RunsContext } from '../runs/context';
import { loadRunModel } from '../runs/load-run-model';
import { PromoteSpec, PromotionDecision, RunRecord } from '../runs/record';
import { withLock } from '../runs/run-lock';
import { gateScore, predictLabels, readTestTickets } from './gate-scores';
import { onAliasMoved } from './on-alias-moved';

/** Scores this close count as equal: `champion + minDelta` is a sum of floating-point numbers. */
const EPSILON = 1e-12;
/**
 * How long a run's gate lock lasts: longer than judging takes. A decision written ends the run's gating
 * (its record's `promotion`); a judge that died is run again after this, by the schedule's next tick.
 */
const GATE_LOCK_SECONDS = 600;

let defaultLog: Logger | undefined;

export async function promotionGate(ctx: RunsContext, runId: string): Promise<void> {
  const record = await ctx.store.read(runId);
  const spec = record?.schedule?.promote;
  if (!record || !spec || record.state !== 'completed' || record.promotion) return;
  // Once per run, whichever process saw it end (a worker, the API, the CLI).
  const token = randomBytes(8).toString('hex');
  const taken = await ctx.redis.set(ctx.keys.gateLock(runId), token, 'EX', GATE_LOCK_SECONDS, 'NX');
  if (taken !== 'OK') return;
  const decision = await judge(ctx, record, spec);
  await ctx.redis.hset(ctx.keys.gateDecisions, runId, JSON.stringify(decision));
  await withLock(ctx.redis, ctx.keys.lock(runId), async () => {
    const current = await ctx.store.read(runId);
    if (current) await ctx.store.write({ ...current, promotion: decision });
  });
  const log = (defaultLog ??= createLogger(ctx.config.logLevel, { component: 'gate' }));
  log.info(
    `run ${runId}: ${decision.promoted ? 'promoted' : 'not promoted'} to ${spec.alias}: ${decision.reason}`,
  );
}

const fmt = (x: number) => x.toFixed(4);

/** Score both models, decide, and move the alias when the challenger passes. */
async function judge(ctx: RunsContext, record: RunRecord, spec: PromoteSpec): Promise<PromotionDecision> {
  const base = {
    alias: spec.alias,
    metric: spec.metric,
    minDelta: spec.minDelta,
    floor: spec.floor ?? null,
  };
  const decide = (d: Omit<PromotionDecision, keyof typeof base | 'at'>): PromotionDecision => ({
    ...base,
    ...d,
    at: new Date().toISOString(),
  });
  const championRun = await ctx.redis.hget(ctx.keys.aliases, spec.alias);
  let tickets;
  let challenger: number;
  try {
    tickets = await readTestTickets(ctx.artifacts, record.id);
    challenger = gateScore(
      tickets,
      predictLabels(await loadRunModel(ctx.artifacts, record.id), tickets.texts),
      spec.metric,
    );
  } catch (err) {
    return decide({
      promoted: false,
      challenger: null,
      champion: null,
      championRun,
      tickets: 0,
      reason: `the run's model could not be scored on its test split: ${(err as Error).message}`,
    });
  }
  const n = tickets.texts.length;
  const score = `${spec.metric} ${fmt(challenger)}`;
  if (championRun === record.id)
    return decide({
      promoted: false,
      challenger,
      champion: challenger,
      championRun,
      tickets: n,
      reason: `${spec.alias} names this run already`,
    });
  let champion: number | null = null;
  let championProblem = '';
  if (championRun !== null) {
    try {
      champion = gateScore(
        tickets,
        predictLabels(await loadRunModel(ctx.artifacts, championRun), tickets.texts),
        spec.metric,
      );
    } catch (err) {
      championProblem = ` (its champion, run ${championRun}, could not be scored: ${(err as Error).message})`;
    }
  }
  const floor = spec.floor;
  const belowFloor = floor !== undefined && challenger < floor - EPSILON;
  let pass: boolean;
  let reason: string;
  if (champion === null) {
    pass = !belowFloor;
    reason = belowFloor
      ? `no champion${championProblem}, and ${score} is below the floor ${fmt(floor!)}`
      : `no champion${championProblem}: ${score}${floor !== undefined ? ` reaches the floor ${fmt(floor)}` : ''}`;
  } else {
    const need = champion + spec.minDelta;
    const beats = challenger >= need - EPSILON;
    pass = beats && !belowFloor;
    const versus = `${score} vs champion run ${championRun}'s ${fmt(champion)} + minDelta ${fmt(spec.minDelta)} = ${fmt(need)}`;
    reason = !beats
      ? `${versus}: not better by minDelta`
      : belowFloor
        ? `${versus}, but below the floor ${fmt(floor!)}`
        : `${versus}: better by at least minDelta${floor !== undefined ? `, and at least the floor ${fmt(floor)}` : ''}`;
  }
  if (!pass) return decide({ promoted: false, challenger, champion, championRun, tickets: n, reason });
  // Only while the alias still names the champion judged against: a move made meanwhile wins.
  const moved = await moveAlias(ctx.redis, ctx.keys, spec.alias, record.id, 'gate', championRun);
  if (!moved.moved)
    return decide({
      promoted: false,
      challenger,
      champion,
      championRun,
      tickets: n,
      reason: `${reason}; but ${spec.alias} moved to ${moved.previous ?? 'nothing'} while the gate ran, so it was left there`,
    });
  const decision = decide({ promoted: true, challenger, champion, championRun, tickets: n, reason });
  await onAliasMoved(ctx, { alias: spec.alias, run: record.id, previous: championRun, decision }).catch(
    logLost(`announcing that ${spec.alias} moved to run ${record.id}`),
  );
  return decision;
}
