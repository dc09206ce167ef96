import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isLabelMapHeader, parseLabelMapTsv, readLabelMapFile } from '../../shared/core/config/label-map';
import { CLI } from '../helpers/cli';
import { freePort } from '../../shared/runtime/redis/local-redis';
import { SHARED_DATA, cleanup, tempDir, testConfig } from '../helpers/env';

/** The CLI, killed if it has not exited after `killAfterMs` (a blocked open would otherwise hang the test). */
function cli(
  args: string[],
  killAfterMs = 30_000,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      timeout: killAfterMs,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => (stdout += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * `p`, but should it block on opening `fifo` for reading, a writer opens the FIFO after `ms` so the read
 * ends (with no bytes) and the test fails instead of hanging.
 */
async function unblocked<T>(p: Promise<T>, fifo: string, ms = 10_000): Promise<T> {
  const timer = setTimeout(() => {
    try {
      fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    } catch {
      /* no reader blocked on it */
    }
  }, ms);
  try {
    return await p;
  } finally {
    clearTimeout(timer);
  }
}

describe('label map files', () => {
  let dir: string;
  let fifo: string;
  before(() => {
    dir = tempDir('label-map');
    fifo = path.join(dir, 'map.tsv');
    execFileSync('mkfifo', [fifo]);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses a FIFO at once instead of blocking on it', async () => {
    await assert.rejects(
      unblocked(readLabelMapFile(fifo), fifo),
      /map\.tsv: is a FIFO \(named pipe\), not a regular file/,
    );
    await assert.rejects(readLabelMapFile(dir), /is a directory, not a regular file/);
    await assert.rejects(readLabelMapFile(path.join(dir, 'none.tsv')), /none\.tsv: no such file/);
  });

  it('`ticketflow run --label-map FIFO` exits with a usage error naming the file', async () => {
    const res = await cli(['run', '--labels', 'category', '--label-map', fifo]);
    assert.equal(res.code, 2, `exit code (null: it blocked and was killed): ${res.stderr}`);
    assert.match(res.stderr, /--label-map: .*map\.tsv: is a FIFO \(named pipe\), not a regular file/);
  });

  it('refuses a TSV whose first line is a mapping, not a header, instead of dropping it', async () => {
    assert.throws(
      () => parseLabelMapTsv('Mortgage\tloan\nStudent loan\tloan\n', 'm.tsv'),
      /m\.tsv:1: expected a header line naming the columns, like "raw<TAB>class".*got "Mortgage\\tloan"/,
    );
    const headerless = path.join(dir, 'headerless.tsv');
    fs.writeFileSync(headerless, 'Mortgage\tloan\nStudent loan\tloan\n');
    const res = await cli(['run', '--labels', 'category', '--label-map', headerless]);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /headerless\.tsv:1: expected a header line/);
  });

  it('recognises header lines by their column names', () => {
    for (const header of [
      'raw\tclass',
      'raw_product\tlabel5\tnote',
      'Raw label\tClass',
      'product\tclass',
      'value\tlabel',
    ])
      assert.ok(isLabelMapHeader(header), header);
    for (const mapping of [
      'Mortgage\tloan',
      'checking_savings\tbank_account',
      'Credit card or prepaid card\tcredit_card',
    ])
      assert.ok(!isLabelMapHeader(mapping), mapping);
    // Every mapping is kept, the header only skipped; a byte-order mark does not hide the header.
    assert.deepEqual(parseLabelMapTsv('\uFEFFraw\tclass\nMortgage\tloan\n'), { Mortgage: 'loan' });
  });

  it(
    'reads product-labels.tsv whole',
    { skip: !fs.existsSync(path.join(SHARED_DATA, 'product-labels.tsv')) && 'no ../shared/data' },
    async () => {
      const file = path.join(SHARED_DATA, 'product-labels.tsv');
      const lines = fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '');
      const map = await readLabelMapFile(file);
      assert.equal(Object.keys(map).length, lines.length - 1, 'every line but the header is a mapping');
    },
  );

  it('`ticketflow run` summarises the label map in its report and shows the refit apart', async () => {
    const config = testConfig();
    const env = {
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      TICKETFLOW_QUEUE_PREFIX: config.queuePrefix,
      TICKETFLOW_STORAGE_DIR: config.storageDir,
      TICKETFLOW_REDIS_DIR: tempDir('redis'),
    };
    const map = path.join(dir, 'products.tsv');
    fs.writeFileSync(
      map,
      [
        'raw_product\tlabel\tnote',
        'Credit reporting, credit repair services, or other personal consumer reports\tcredit',
        'Credit card or prepaid card\tcredit',
        'Debt collection\tdebt',
        'Checking or savings account\tbank',
        'Mortgage\tloan',
        'Payday loan, title loan, or personal loan\tloan',
        'Student loan\tloan',
      ].join('\n'),
    );
    const search = { searchC: [1], searchClassWeight: ['none'], searchNgrams: [1], cvFolds: 2 };
    try {
      const res = await cli(
        [
          'run',
          '--label-map',
          map,
          '--workers',
          '1',
          '--chunk-size',
          '600',
          '--params',
          JSON.stringify(search),
        ],
        120_000,
        env,
      );
      assert.equal(res.code, 0, res.stderr);
      const lines = res.stdout.split('\n');
      assert.ok(lines.includes('labelMap: 7 products → 4 classes, from products.tsv'), res.stdout);
      const params = lines.find((l) => l.startsWith('Parameters not at their defaults:'))!;
      assert.doesNotMatch(params, /Mortgage|labelMap/, 'the map itself is not printed');
      assert.match(
        lines.find((l) => l.startsWith('training '))!,
        /\(refit \d+\.\d\d s of it\)$/,
      );
    } finally {
      await cleanup(config);
      fs.rmSync(env.TICKETFLOW_REDIS_DIR, { recursive: true, force: true });
    }
  });
});
