/**
 * The pieces of the multi-host demo (tools/demo/hosts.sh) that run without root: its argument handling,
 * the S3 host's server with the dataset upload into it, and the model comparison it ends with. The
 * namespaces themselves need root and are run by hand (docs/operations.md).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { PROJECT_ROOT } from '../../shared/core/config/config';
import { freePort } from '../../shared/runtime/redis/local-redis';
import { parseStoreUrl } from '../../shared/core/store/store-location';
import { openStore } from '../../shared/core/store/open-store';
import { S3RVER_CREDENTIALS } from '../helpers/s3-server';
import { SAMPLE_DATASET, tempDir } from '../helpers/env';

const HOSTS_SH = path.join(PROJECT_ROOT, 'tools/demo/hosts.sh');
const TOOL = (name: string): string => path.join(PROJECT_ROOT, 'dist/tools/demo', name);

describe('demo:hosts', () => {
  it('--help names both storage modes; a wrong --storage is a usage error (exit 2)', () => {
    const help = spawnSync('bash', [HOSTS_SH, '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /--storage file +\(default\)/);
    assert.match(help.stdout, /--storage s3 /);
    // The trailing unknown option stops the script before it needs root even if --storage were ignored.
    const wrong = spawnSync('bash', [HOSTS_SH, '--storage', 'nfs', '--no-such-option'], { encoding: 'utf8' });
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /--storage is file or s3, not "nfs"/);
  });

  it('s3-server serves its bucket on the given address and port; put-object uploads a file into it', async () => {
    const dir = tempDir('demo-s3');
    const port = await freePort();
    const server = spawn(
      process.execPath,
      [
        TOOL('s3-server.js'),
        '--address',
        '127.0.0.1',
        '--port',
        String(port),
        '--dir',
        dir,
        '--bucket',
        'demo',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const [first] = (await once(server.stdout!, 'data')) as [Buffer];
      assert.match(first.toString(), new RegExp(`s3rver at http://127.0.0.1:${port}, bucket demo`));
      const env = {
        ...process.env,
        ...S3RVER_CREDENTIALS,
        TICKETFLOW_S3_ENDPOINT: `http://127.0.0.1:${port}`,
      };
      const put = spawnSync(
        process.execPath,
        [TOOL('put-object.js'), SAMPLE_DATASET, 's3://demo/datasets', 'sample.json'],
        { encoding: 'utf8', env },
      );
      assert.equal(put.status, 0, put.stderr);
      assert.match(put.stdout, /as s3:\/\/demo\/datasets\/sample\.json \(\d+ bytes\)/);
      const store = openStore(parseStoreUrl('s3://demo/datasets', env, 'test'));
      try {
        assert.ok((await store.get('sample.json')).equals(fs.readFileSync(SAMPLE_DATASET)));
      } finally {
        await store.close();
      }
    } finally {
      server.kill('SIGTERM');
      if (server.exitCode === null) await once(server, 'exit');
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(server.exitCode, 0);
  });

  it('same-model: models that differ only in lineage.runId are identical; any other difference exits 1', () => {
    const dir = tempDir('demo-models');
    try {
      const model = (runId: string, coef: number): string => {
        const file = path.join(dir, `${runId}-${coef}.json`);
        const body = { format: 'ticketflow-model', coef: [[coef]], lineage: { runId, datasetSha256: 'ab' } };
        fs.writeFileSync(file, JSON.stringify(body, null, 2) + '\n');
        return file;
      };
      const compare = (a: string, b: string) =>
        spawnSync(process.execPath, [TOOL('same-model.js'), `A=${a}`, `B=${b}`], { encoding: 'utf8' });
      const same = compare(model('run-1', 0.5), model('run-2', 0.5));
      assert.equal(same.status, 0, same.stdout + same.stderr);
      assert.match(same.stdout, /^model bytes identical: yes$/m);
      const other = compare(model('run-1', 0.5), model('run-2', 0.25));
      assert.equal(other.status, 1);
      assert.match(other.stdout, /^model bytes identical: no$/m);
      const hashes = [...other.stdout.matchAll(/sha256 ([0-9a-f]{64})/g)].map((m) => m[1]);
      assert.equal(hashes.length, 2);
      assert.notEqual(hashes[0], hashes[1]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
