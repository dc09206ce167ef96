import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ArtifactNotFound, ArtifactStore, checkKey } from '../../shared/core/store/artifact-store';
import { FileStore } from '../../shared/core/store/file-store';
import { openStore } from '../../shared/core/store/open-store';
import { parseStoreUrl } from '../../shared/core/store/store-location';
import { StorageError } from '../../shared/core/errors';
import { S3Server } from '../helpers/s3-server';
import { tempDir } from '../helpers/env';

async function bytesOf(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part as Buffer));
  return Buffer.concat(parts);
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The behaviour every backend owes its callers. */
/** `open` starts the backend and opens a store; `another` opens a second store on it, as another process would. */
function contract(
  name: string,
  open: () => Promise<ArtifactStore>,
  done: () => Promise<void>,
  another: () => ArtifactStore,
): void {
  describe(`artifact store contract: ${name}`, () => {
    let store: ArtifactStore;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store.close();
      await done();
    });

    it('puts and gets bytes and JSON, and says when there is nothing', async () => {
      await store.put('runs/r1/a.bin', new Uint8Array([0, 1, 2, 255]));
      assert.deepEqual([...(await store.get('runs/r1/a.bin'))], [0, 1, 2, 255]);
      await store.putJson('runs/r1/run.json', { state: 'active', n: 3 });
      assert.deepEqual(await store.getJson('runs/r1/run.json'), { state: 'active', n: 3 });
      assert.equal(
        (await store.get('runs/r1/run.json')).toString(),
        '{\n  "state": "active",\n  "n": 3\n}\n',
      );
      await store.put('runs/r1/a.bin', 'replaced');
      assert.equal((await store.get('runs/r1/a.bin')).toString(), 'replaced');
      await assert.rejects(store.get('runs/r1/missing.json'), ArtifactNotFound);
      await assert.rejects(store.openRead('runs/r1/missing.json'), ArtifactNotFound);
      assert.equal(await store.stat('runs/r1/missing.json'), undefined);
      const st = await store.stat('runs/r1/a.bin');
      assert.equal(st?.size, 8);
      assert.ok(st!.tag.length > 0);
    });

    it('reads byte ranges, inclusive like HTTP, and the whole object as a stream', async () => {
      const data = Buffer.from('0123456789abcdef');
      await store.put('data/range.txt', data);
      assert.equal((await bytesOf(await store.openRead('data/range.txt'))).toString(), '0123456789abcdef');
      const part = await bytesOf(await store.openRead('data/range.txt', { start: 3, end: 7 }));
      assert.equal(part.toString(), '34567');
      assert.equal(
        (await bytesOf(await store.openRead('data/range.txt', { start: 15, end: 15 }))).toString(),
        'f',
      );
      assert.equal((await bytesOf(await store.openRead('data/range.txt', { start: 4, end: 3 }))).length, 0);
    });

    it('gets a byte range in one buffer; one past the end is an error, a missing object ArtifactNotFound', async () => {
      await store.put('data/get-range.txt', '0123456789abcdef');
      assert.equal((await store.getRange('data/get-range.txt', { start: 3, end: 7 })).toString(), '34567');
      assert.equal(
        (await store.getRange('data/get-range.txt', { start: 0, end: 15 })).toString(),
        '0123456789abcdef',
      );
      assert.equal((await store.getRange('data/get-range.txt', { start: 4, end: 3 })).length, 0);
      await assert.rejects(
        store.getRange('data/get-range.txt', { start: 10, end: 16 }),
        /bytes 10–16 asked, 6 read/,
      );
      await assert.rejects(store.getRange('data/none.txt', { start: 0, end: 1 }), ArtifactNotFound);
    });

    it('streams a large object through a writer that shows nothing until commit (multipart on S3)', async () => {
      const block = randomBytes(1 << 20);
      const writer = await store.openWriter('runs/r2/big.bin');
      const hash = createHash('sha256');
      for (let i = 0; i < 17; i++) {
        await writer.write(block);
        hash.update(block);
        if (i === 8) assert.equal(await store.stat('runs/r2/big.bin'), undefined, 'invisible before commit');
      }
      await writer.write('tail');
      hash.update('tail');
      await writer.commit();
      const st = await store.stat('runs/r2/big.bin');
      assert.equal(st?.size, 17 * (1 << 20) + 4);
      assert.equal(sha(await bytesOf(await store.openRead('runs/r2/big.bin'))), hash.digest('hex'));
    });

    it('an aborted writer leaves no object, partial or whole', async () => {
      const writer = await store.openWriter('runs/r2/aborted.bin');
      for (let i = 0; i < 10; i++) await writer.write(randomBytes(1 << 20));
      await writer.abort();
      assert.equal(await store.stat('runs/r2/aborted.bin'), undefined);
      assert.ok(!(await store.list('runs/r2/')).some((e) => e.key.includes('aborted')));
    });

    it('lists by prefix in key order, removes one object and a whole prefix', async () => {
      for (const k of ['runs/r3/b.json', 'runs/r3/a.json', 'runs/r3/chunks/c-1.csv', 'runs/r30/x.json'])
        await store.put(k, k);
      assert.deepEqual(
        (await store.list('runs/r3/')).map((e) => e.key),
        ['runs/r3/a.json', 'runs/r3/b.json', 'runs/r3/chunks/c-1.csv'],
      );
      assert.deepEqual(
        (await store.list('runs/r3/chunks/c-')).map((e) => [e.key, e.size]),
        [['runs/r3/chunks/c-1.csv', 'runs/r3/chunks/c-1.csv'.length]],
      );
      assert.deepEqual(await store.list('runs/none/'), []);
      await store.remove('runs/r3/b.json');
      await store.remove('runs/r3/b.json');
      assert.deepEqual(
        (await store.list('runs/r3/')).map((e) => e.key),
        ['runs/r3/a.json', 'runs/r3/chunks/c-1.csv'],
      );
      await store.removePrefix('runs/r3/');
      assert.deepEqual(await store.list('runs/r3/'), []);
      assert.deepEqual(
        (await store.list('runs/r30/')).map((e) => e.key),
        ['runs/r30/x.json'],
        'a prefix ending in "/" takes only that folder',
      );
    });

    it('copies an object; a missing source is ArtifactNotFound', async () => {
      await store.put('cache/k/model.json', '{"w":[1,2]}');
      await store.copy('cache/k/model.json', 'runs/r4/model.json');
      assert.equal((await store.get('runs/r4/model.json')).toString(), '{"w":[1,2]}');
      await store.copy('cache/k/model.json', 'runs/r4/model.json');
      await assert.rejects(store.copy('cache/k/none.json', 'runs/r4/none.json'), ArtifactNotFound);
    });

    it('refuses keys that could leave the store or name temporary objects', async () => {
      for (const bad of ['../x', 'runs/../x', '/abs', 'runs//x', 'runs/.tmp', 'a\\b', '', 'runs/x y'])
        await assert.rejects(store.put(bad, 'x'), RangeError, bad);
      assert.equal(checkKey('runs/ok-1/model.json'), 'runs/ok-1/model.json');
    });

    it('writes an object in pieces from two store objects, visible only once completed; abort leaves nothing', async () => {
      const placed = store.placed!;
      const other = another();
      try {
        // The first piece as small as the backend allows (S3: 5 MiB), the last smaller.
        const first = Math.max(placed.minPieceBytes, 65536);
        const whole = randomBytes(first + 17);
        const upload = await placed.start('pieces/t.csv', whole.length);
        // Out of order and through another store object, as another process would.
        const last = await other.placed!.write(
          'pieces/t.csv',
          upload,
          { index: 1, offset: first },
          whole.subarray(first),
        );
        const head = await placed.write(
          'pieces/t.csv',
          upload,
          { index: 0, offset: 0 },
          whole.subarray(0, first),
        );
        assert.deepEqual(await store.list('pieces/'), [], 'nothing is visible before completion');
        await placed.complete('pieces/t.csv', upload, [head, last]);
        assert.equal(sha(await store.get('pieces/t.csv')), sha(whole));
        const dropped = await placed.start('pieces/dropped.csv', 3);
        await placed.write('pieces/dropped.csv', dropped, { index: 0, offset: 0 }, Buffer.from('abc'));
        await placed.abort('pieces/dropped.csv', dropped);
        await placed.abort('pieces/dropped.csv', dropped);
        assert.deepEqual(
          (await store.list('pieces/')).map((e) => e.key),
          ['pieces/t.csv'],
        );
        assert.equal(await store.removeAbandonedWrites('pieces/'), 0, 'no upload is left behind');
      } finally {
        await other.close();
      }
    });

    it('answers its start-up check', async () => {
      await store.check();
    });
  });
}

const fileRoot = tempDir('file-store');
contract(
  'file',
  async () => new FileStore(fileRoot),
  async () => fs.rmSync(fileRoot, { recursive: true, force: true }),
  () => new FileStore(fileRoot),
);

const s3 = new S3Server('contract');
contract(
  's3 (s3rver on 127.0.0.1)',
  async () => {
    await s3.start();
    return openStore(parseStoreUrl('s3://contract/team/tf', s3.env(), 'TICKETFLOW_STORAGE_URL'));
  },
  () => s3.close(),
  () => openStore(parseStoreUrl('s3://contract/team/tf', s3.env(), 'TICKETFLOW_STORAGE_URL')),
);

describe('file store', () => {
  it('copies by hard link and never shows temporary files', async () => {
    const root = tempDir('file-store-link');
    try {
      const store = new FileStore(root);
      await store.put('cache/a.json', '{}');
      await store.copy('cache/a.json', 'runs/r/a.json');
      assert.equal(
        fs.statSync(store.pathOf('cache/a.json')).ino,
        fs.statSync(store.pathOf('runs/r/a.json')).ino,
      );
      fs.writeFileSync(`${root}/runs/r/.a.json.1.ff.tmp`, 'half');
      assert.deepEqual(
        (await store.list('runs/')).map((e) => e.key),
        ['runs/r/a.json'],
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('file store: writes in pieces (placed)', () => {
  it('pieces written at their offsets by two stores on one folder, visible only once completed', async () => {
    const root = tempDir('file-store-placed');
    try {
      const a = new FileStore(root);
      const b = new FileStore(root);
      const whole = randomBytes(3 * 65536 + 17);
      const upload = await a.placed.start('runs/r/t.csv', whole.length);
      assert.deepEqual(await a.list('runs/'), [], 'nothing is visible before completion');
      // Out of order and from another store object, as another process would.
      await b.placed.write('runs/r/t.csv', upload, { index: 1, offset: 65536 }, whole.subarray(65536));
      await a.placed.write('runs/r/t.csv', upload, { index: 0, offset: 0 }, whole.subarray(0, 65536));
      await assert.rejects(a.get('runs/r/t.csv'), ArtifactNotFound);
      await a.placed.complete('runs/r/t.csv', upload, ['', '']);
      assert.equal(sha(await a.get('runs/r/t.csv')), sha(whole));
      assert.deepEqual(fs.readdirSync(`${root}/runs/r`), ['t.csv'], 'no temporary file is left');
      await assert.rejects(
        a.placed.write('runs/r/t.csv', upload, { index: 0, offset: 0 }, whole.subarray(0, 1)),
        /is gone/,
        'a completed upload is not written again',
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses a write past the size and an upload name that is not one; abort leaves nothing', async () => {
    const root = tempDir('file-store-placed-bad');
    try {
      const store = new FileStore(root);
      const upload = await store.placed.start('runs/r/t.csv', 10);
      await assert.rejects(
        store.placed.write('runs/r/t.csv', upload, { index: 0, offset: 8 }, Buffer.from('abc')),
        /outside its 10 bytes/,
      );
      assert.equal(fs.statSync(`${root}/runs/r/${upload}`).size, 10, 'the refused write wrote nothing');
      for (const bad of ['../../etc/passwd', 't.csv', '.other.csv.1.0badc0de.tmp', `${upload}/x`])
        await assert.rejects(
          store.placed.write('runs/r/t.csv', bad, { index: 0, offset: 0 }, Buffer.from('a')),
          /is not the name of an upload/,
        );
      await store.placed.abort('runs/r/t.csv', upload);
      await store.placed.abort('runs/r/t.csv', upload);
      assert.deepEqual(fs.readdirSync(`${root}/runs/r`), []);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('s3 store failures', () => {
  const server = new S3Server('faults');
  before(async () => {
    await server.start();
  });
  after(() => server.close());

  it('names the endpoint when the server is down, and works again when it is back', async () => {
    const store = openStore(parseStoreUrl('s3://faults', server.env(), 'TICKETFLOW_STORAGE_URL'));
    try {
      await store.put('runs/r/a.json', '1');
      await server.stop();
      const err = await store.get('runs/r/a.json').then(
        () => assert.fail('read from a stopped server'),
        (e: unknown) => e as Error,
      );
      assert.ok(!(err instanceof StorageError), 'an outage is retried, not a permanent failure');
      assert.match(err.message, new RegExp(`s3://faults at ${server.endpoint}`));
      await server.start();
      assert.equal((await store.get('runs/r/a.json')).toString(), '1');
    } finally {
      await store.close();
    }
  });

  it('says which: wrong credentials, or no such bucket (permanent: StorageError)', async () => {
    const wrong = openStore(
      parseStoreUrl(
        's3://faults',
        { ...server.env(), AWS_ACCESS_KEY_ID: 'NOPE', AWS_SECRET_ACCESS_KEY: 'NOPE' },
        'TICKETFLOW_STORAGE_URL',
      ),
    );
    await assert.rejects(
      wrong.check(),
      (e: unknown) => e instanceof StorageError && /AWS_ACCESS_KEY_ID/.test(e.message),
    );
    await wrong.close();
    const missing = openStore(parseStoreUrl('s3://no-such-bucket', server.env(), 'TICKETFLOW_STORAGE_URL'));
    await assert.rejects(
      missing.check(),
      (e: unknown) => e instanceof StorageError && /no such bucket/.test(e.message),
    );
    await missing.close();
  });
});

describe('parseStoreUrl', () => {
  it('reads file and s3 URLs with the standard AWS variables, and refuses what it cannot use', () => {
    assert.deepEqual(parseStoreUrl('file:///var/lib/ticketflow', {}, 'X'), {
      kind: 'file',
      root: '/var/lib/ticketflow',
    });
    assert.deepEqual(
      parseStoreUrl(
        's3://my-bucket/a/b/',
        {
          AWS_REGION: 'eu-west-1',
          AWS_ACCESS_KEY_ID: 'k',
          AWS_SECRET_ACCESS_KEY: 's',
          TICKETFLOW_S3_ENDPOINT: 'http://127.0.0.1:9000/',
        },
        'X',
      ),
      {
        kind: 's3',
        bucket: 'my-bucket',
        prefix: 'a/b',
        endpoint: 'http://127.0.0.1:9000',
        region: 'eu-west-1',
        credentials: { accessKeyId: 'k', secretAccessKey: 's' },
      },
    );
    assert.throws(() => parseStoreUrl('http://x/y', {}, 'X'), /scheme must be file: or s3:/);
    assert.throws(() => parseStoreUrl('s3://B_ad/x', {}, 'X'), /bucket name/);
    assert.throws(() => parseStoreUrl('s3://bucket/.hidden/x', {}, 'X'), /prefix/);
    assert.throws(() => parseStoreUrl('s3://k:s@bucket/x', {}, 'X'), /AWS_ACCESS_KEY_ID/);
    assert.throws(() => parseStoreUrl('s3://bucket', { AWS_ACCESS_KEY_ID: 'k' }, 'X'), /go together/);
    assert.throws(
      () => parseStoreUrl('s3://bucket', { TICKETFLOW_S3_ENDPOINT: 'localhost:9000' }, 'X'),
      /http/,
    );
  });
});
