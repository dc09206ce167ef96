import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../shared/core/config/config';
import { freePort } from '../../shared/runtime/redis/local-redis';
import { RunRecord } from '../../shared/runtime/runs/record';
import { runDir } from '../../shared/core/storage';
import { SAMPLE_DATASET, tempDir, testConfig } from '../helpers/env';
import { scaleDataset } from '../../tools/bench/scale-dataset';

const CLI = path.join(PROJECT_ROOT, 'dist', 'producers', 'cli', 'ticketflow.js');

interface CliRun {
  code: number;
  leftovers: number[];
  stdout: string;
  stderr: string;
}

/**
 * Run the CLI as its own process group (as a terminal would run it), optionally sending SIGINT to the
 * whole group — what Ctrl-C does — once `interruptWhen` matches its stderr.
 */
function runCli(args: string[], env: Record<string, string>, interruptWhen?: RegExp): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (interruptWhen && !sent && interruptWhen.test(stderr)) {
        sent = true;
        process.kill(-child.pid!, 'SIGINT');
      }
    });
    child.on('exit', (code, signal) => {
      // Nothing the CLI started (Redis, workers, sandboxes) outlives it.
      const marker = `TICKETFLOW_QUEUE_PREFIX=${env.TICKETFLOW_QUEUE_PREFIX}`;
      const deadline = Date.now() + 5000;
      const wait = () => {
        const left = processesWith(marker);
        if (left.length > 0 && Date.now() < deadline) return setTimeout(wait, 50);
        resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr, leftovers: left });
      };
      wait();
    });
  });
}

/** Processes whose environment holds `marker` (the test's own queue prefix): the CLI's Redis and workers. */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (/\) Z /.test(stat)) continue; // a zombie has exited already
      if (fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(marker))
        pids.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

describe('CLI run control: Ctrl-C cancels, retry, status, delete', () => {
  const config = testConfig();
  let scratch: string;
  let env: Record<string, string>;
  let dataset: string;
  before(async () => {
    scratch = tempDir('cli-control');
    // Large enough that stage 1 runs over a few of the display's reads (at least one a second).
    dataset = path.join(scratch, 'sample-x20.jsonl');
    await scaleDataset(SAMPLE_DATASET, 20, dataset);
    env = {
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      TICKETFLOW_QUEUE_PREFIX: config.queuePrefix,
      TICKETFLOW_STORAGE_DIR: config.storageDir,
      TICKETFLOW_REDIS_DIR: path.join(scratch, 'redis'),
    };
  });
  after(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.rmSync(config.storageDir, { recursive: true, force: true });
  });

  it('Ctrl-C cancels the run, leaves no chunks/ and no process; retry completes it; status and delete', async () => {
    const interrupted = await runCli(
      ['run', '--data', dataset, '--chunk-size', '150', '--workers', '2'],
      env,
      // Once its chunks are enqueued: stage 1 may complete before a read shows one of them done.
      /text-processing: active \d+\/\d+ chunks/,
    );
    assert.equal(interrupted.code, 130, interrupted.stderr);
    assert.deepEqual(interrupted.leftovers, [], 'no process of the CLI outlives it');
    const id = /run (\S+) enqueued/.exec(interrupted.stderr)![1]!;
    assert.match(interrupted.stderr, new RegExp(`run ${id} cancelled: its jobs stopped within`));
    const dir = runDir(config.storageDir, id);
    const record = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunRecord;
    assert.equal(record.state, 'cancelled');
    assert.ok(!fs.existsSync(path.join(dir, 'chunks')), 'no chunks/ left behind');
    assert.ok(!fs.readdirSync(dir).some((f) => f.endsWith('.tmp')), 'no temporary files left behind');

    // A later CLI (with a Redis of its own) goes on from the record in storage.
    const retried = await runCli(['retry', id, '--workers', '2', '--json'], env);
    assert.equal(retried.code, 0, retried.stderr);
    const out = JSON.parse(retried.stdout) as { id: string; state: string };
    assert.deepEqual([out.id, out.state], [id, 'completed']);

    const status = await runCli(['status', id], env);
    assert.equal(status.code, 0, status.stderr);
    const shown = JSON.parse(status.stdout) as RunRecord;
    assert.equal(shown.state, 'completed');
    assert.equal(shown.generation, 2);
    assert.deepEqual(
      shown.events.map((e) => e.event),
      ['created', 'cancelled', 'retried', 'completed'],
    );

    assert.equal((await runCli(['delete', id], env)).code, 0);
    assert.ok(!fs.existsSync(dir));
    const again = await runCli(['delete', id], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no run with id/);
  });

  it('cancel needs a reachable Redis and says so', async () => {
    const res = await runCli(['cancel', 'nope'], env);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /no Redis answers at .*ticketflow redis start/);
  });
});
