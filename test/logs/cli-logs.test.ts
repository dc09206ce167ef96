import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { STAGES } from '../../shared/pipeline/stages/definitions';
import { freePort } from '../../shared/runtime/redis/local-redis';
import { runLogFile } from '../../shared/runtime/runs/run-logs';
import { tempDir } from '../helpers/env';
import { runCli } from '../helpers/cli';

describe('ticketflow run (self-contained) keeps its workers’ lines', () => {
  const storage = tempDir('cli-logs-storage');
  const redisDir = tempDir('cli-logs-redis');
  after(() => {
    fs.rmSync(storage, { recursive: true, force: true });
    fs.rmSync(redisDir, { recursive: true, force: true });
  });

  it('in runs/<id>/logs.jsonl, one JSON object a line, every stage; the terminal stays quiet', async () => {
    const env = {
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      TICKETFLOW_STORAGE_DIR: storage,
      TICKETFLOW_REDIS_DIR: redisDir,
      TICKETFLOW_QUEUE_PREFIX: 'tf-cli-logs',
      // what the user's shell says about the CLI's own level does not make workers chatty on the terminal
      TICKETFLOW_LOG_LEVEL: 'warn',
    };
    const res = await runCli(['run', '--json', '--workers', '1', '--chunk-size', '500'], env);
    assert.equal(res.code, 0, res.stderr);
    const { id } = JSON.parse(res.stdout.trim()) as { id: string };
    const lines = fs
      .readFileSync(runLogFile(storage, id), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    for (const l of lines) {
      assert.equal(l.runId, id);
      for (const f of ['timestamp', 'level', 'message', 'stage', 'jobId', 'attempt', 'worker'])
        assert.equal(typeof l[f], 'string', `${f} in ${JSON.stringify(l)}`);
    }
    for (const stage of STAGES)
      assert.ok(
        lines.some((l) => l.stage === stage && /^completed in/.test(String(l.message))),
        `${stage} completed in logs.jsonl`,
      );
    assert.ok(
      lines.some(
        (l) => /^text-processing\/chunk-2$/.test(String(l.stage)) && /kept \d+/.test(String(l.message)),
      ),
    );
    assert.ok(lines.some((l) => /^L-BFGS: \d+ iterations/.test(String(l.message))));
    assert.ok(lines.some((l) => /^NMF k=3: \d+ iterations/.test(String(l.message))));
    // Only warn and error lines would reach the terminal, readable: no JSON, no info lines.
    assert.doesNotMatch(res.stderr, /^\{/m);
    assert.doesNotMatch(res.stderr, / info \[/);
  });
});
