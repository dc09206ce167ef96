import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ArtifactStore } from '../../shared/core/store/artifact-store';
import { openStore } from '../../shared/core/store/open-store';
import type { StoreLocation } from '../../shared/core/store/store-location';
import { S3Server } from '../helpers/s3-server';
import { tempDir, testConfig } from '../helpers/env';

const KEY = 'runs/r1/features.bin';
const DIST = path.resolve(__dirname, '..', '..');

/**
 * A process that opens a writer on KEY, writes 9 MiB (more than one multipart part on S3), says so on
 * stdout, and then waits forever: it is killed with SIGKILL mid-write, as a crashed worker would be.
 */
function startWriter(location: StoreLocation) {
  const script = `
    const { openStore } = require(${JSON.stringify(path.join(DIST, 'shared/core/store/open-store.js'))});
    (async () => {
      const writer = await openStore(JSON.parse(process.env.LOCATION)).openWriter(${JSON.stringify(KEY)});
      await writer.write(Buffer.alloc(9 * 1024 * 1024, 7));
      process.stdout.write('written\\n');
      setInterval(() => undefined, 1000);
    })().catch((err) => { console.error(err); process.exit(1); });`;
  const child = spawn(process.execPath, ['-e', script], {
    env: { ...process.env, LOCATION: JSON.stringify(location) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const written = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('written') && resolve());
    child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
  });
  return { child, written };
}

function filesUnder(dir: string): string[] {
  return fs.existsSync(dir)
    ? (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) =>
        fs.statSync(path.join(dir, f)).isFile(),
      )
    : [];
}

/** A writer killed mid-write leaves no visible object, and removeAbandonedWrites takes away what it left. */
function drill(name: string, setup: () => Promise<{ location: StoreLocation; leftovers: () => string[] }>) {
  describe(`a writer killed mid-write: ${name}`, () => {
    let store: ArtifactStore;
    let location: StoreLocation;
    let leftovers: () => string[];
    before(async () => {
      ({ location, leftovers } = await setup());
      store = openStore(location);
    });
    after(() => store.close());

    it('leaves no object, partial or whole, and its leftovers are removed', async () => {
      const { child, written } = startWriter(location);
      try {
        await written;
        for (let i = 0; i < 400 && leftovers().length === 0; i++) await new Promise((r) => setTimeout(r, 25));
        assert.ok(
          leftovers().length > 0,
          'the cut-short write left something behind (a part, a temporary file)',
        );
      } finally {
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
      }
      assert.equal(await store.stat(KEY), undefined, 'no object under the key');
      assert.deepEqual(await store.list('runs/r1/'), [], 'nothing listed');
      assert.ok((await store.removeAbandonedWrites('runs/r1/')) >= 1);
      assert.deepEqual(leftovers(), [], 'nothing left behind');
      assert.equal(await store.removeAbandonedWrites('runs/r1/'), 0);
      // The retried write then lands whole.
      const writer = await store.openWriter(KEY);
      await writer.write(Buffer.alloc(9 * 1024 * 1024, 7));
      await writer.commit();
      assert.equal((await store.stat(KEY))?.size, 9 * 1024 * 1024);
    });
  });
}

drill('file store', async () => {
  const root = tempDir('killed-writer');
  return {
    location: { kind: 'file', root },
    leftovers: () => filesUnder(root).filter((f) => path.basename(f).endsWith('.tmp')),
  };
});

const s3 = new S3Server('killed');
after(() => s3.close());
drill('s3 store (s3rver)', async () => {
  await s3.start();
  const uploads = path.join(s3.dir, s3.bucket, '._S3rver_uploads');
  return {
    location: testConfig(s3.env('team')).storage,
    // A multipart upload's parts, on the server's disk, once at least one has arrived.
    leftovers: () => filesUnder(uploads).filter((f) => /(^|\/)\d+$/.test(f)),
  };
});
