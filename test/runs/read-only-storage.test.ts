/**
 * Storage that cannot be written, for real: a small tmpfs remounted read-only, then filled up. Reading a
 * waiting run needs no writable store; a cancel that storage refuses changes nothing (507, no cancel
 * flag); a POST /runs refused for a full disk leaves no run folder. Needs root (mount); skipped otherwise.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SAMPLE_DATASET, tempDir } from '../helpers/env';
import { call } from '../helpers/http';
import { Stack, startStack } from '../helpers/stack';

/** Mounts a tmpfs of `size` at a new folder under /tmp; the reason it cannot (not root, no mount) otherwise. */
function mountTmpfs(size: string): { dir: string } | { skip: string } {
  if (process.getuid?.() !== 0) return { skip: 'mounting a tmpfs needs root' };
  const dir = fs.mkdtempSync('/tmp/ticketflow-ro-storage-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return { dir };
  } catch (err) {
    fs.rmdirSync(dir);
    return { skip: `cannot mount a tmpfs: ${(err as Error).message.split('\n')[0]}` };
  }
}

const remount = (dir: string, mode: 'ro' | 'rw') =>
  execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' });

const mounted = mountTmpfs('256k');

/**
 * POST /runs, again while it answers 503 (Redis's answer deadline, on a busy machine): the same
 * Idempotency-Key makes a retry answer the same run.
 */
async function postRun(stack: Stack, body: unknown, key: string): Promise<{ status: number; json: any }> {
  for (let attempt = 1; ; attempt++) {
    const res = await call(stack, 'POST', '/runs', body, { 'Idempotency-Key': key });
    if (res.status !== 503 || attempt === 5) return res;
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe(
  'storage that cannot be written (a real read-only, then full, tmpfs)',
  { skip: 'skip' in mounted ? mounted.skip : false },
  () => {
    const storage = 'dir' in mounted ? mounted.dir : '';
    let stack: Stack;
    let data: string;
    let waiting: string;
    before(async () => {
      data = tempDir('ro-storage-data');
      fs.copyFileSync(SAMPLE_DATASET, path.join(data, 'sample.json'));
      // No workers: the run stays waiting, and its record differs from what its jobs say once read.
      stack = await startStack({
        api: true,
        env: { TICKETFLOW_DATA_DIR: data, TICKETFLOW_STORAGE_DIR: storage },
      });
      const res = await postRun(stack, { dataset: 'sample.json' }, 'ro-storage-waiting');
      assert.equal(res.status, 202, JSON.stringify(res.json));
      waiting = res.json.id;
    });
    after(async () => {
      try {
        execFileSync('umount', [storage], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', storage], { stdio: 'pipe' });
      }
      await stack?.close();
      fs.rmSync(data, { recursive: true, force: true });
      fs.rmSync(storage, { recursive: true, force: true });
    });

    it('answers a waiting run while storage is read-only (200, brought up to date)', async () => {
      remount(storage, 'ro');
      try {
        for (let i = 0; i < 3; i++) {
          const res = await call(stack, 'GET', `/runs/${waiting}`);
          assert.equal(res.status, 200, JSON.stringify(res.json));
          assert.equal(res.json.state, 'waiting');
          // Refreshed from its job (the stored record has no BullMQ state yet).
          assert.equal(res.json.stages[0].rawState, 'waiting');
        }
      } finally {
        remount(storage, 'rw');
      }
    });

    it('refuses a cancel on read-only storage with 507 and changes nothing (no cancel flag)', async () => {
      remount(storage, 'ro');
      try {
        const res = await call(stack, 'POST', `/runs/${waiting}/cancel`);
        assert.equal(res.status, 507, JSON.stringify(res.json));
        assert.match(res.json.error, /read-only file system/);
        assert.match(res.json.error, /run\.json/);
        assert.equal(await stack.connection.exists(stack.runs.keys.cancelled(waiting)), 0);
        assert.equal((await call(stack, 'GET', `/runs/${waiting}`)).json.state, 'waiting');
      } finally {
        remount(storage, 'rw');
      }
      // Once storage is writable again the cancel works, completely.
      const res = await call(stack, 'POST', `/runs/${waiting}/cancel`);
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.equal(res.json.state, 'cancelled');
      assert.equal(await stack.connection.exists(stack.runs.keys.cancelled(waiting)), 1);
    });

    it('refuses POST /runs on a full disk with 507 and leaves no run folder', async () => {
      const runsDir = path.join(storage, 'runs');
      const before = fs.readdirSync(runsDir).sort();
      const filler = path.join(storage, 'filler');
      const fd = fs.openSync(filler, 'w');
      try {
        const block = Buffer.alloc(4096, 1);
        for (;;) fs.writeSync(fd, block);
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
      } finally {
        fs.closeSync(fd);
      }
      try {
        for (let i = 0; i < 3; i++) {
          const res = await postRun(
            stack,
            { dataset: 'sample.json', params: { topics: 5 + i } },
            `full-${i}`,
          );
          assert.equal(res.status, 507, JSON.stringify(res.json));
          assert.match(res.json.error, /no space left on device/);
        }
        assert.deepEqual(fs.readdirSync(runsDir).sort(), before);
      } finally {
        fs.rmSync(filler);
      }
    });
    it('a DELETE that read-only storage refuses answers 507 and leaves the run deleting; a later DELETE finishes it', async () => {
      remount(storage, 'ro');
      try {
        const res = await call(stack, 'DELETE', `/runs/${waiting}`);
        assert.equal(res.status, 507, JSON.stringify(res.json));
        assert.match(res.json.error, /read-only file system/);
        const listed = await call(stack, 'GET', '/runs');
        assert.deepEqual(
          listed.json.runs.map((r: { id: string; state: string }) => [r.id, r.state]),
          [[waiting, 'deleting']],
        );
      } finally {
        remount(storage, 'rw');
      }
      const res = await call(stack, 'DELETE', `/runs/${waiting}`);
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.equal(res.json.resumed, true);
      assert.deepEqual((await call(stack, 'GET', '/runs')).json.runs, []);
      assert.deepEqual(fs.readdirSync(path.join(storage, 'runs')), []);
    });
  },
);
