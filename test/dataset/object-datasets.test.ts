import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { BadInputError } from '../../shared/core/errors';
import { resolveConfig } from '../../shared/core/config/config';
import { openDatasetSource } from '../../shared/core/dataset/open-dataset-source';
import { ObjectDatasets } from '../../shared/core/dataset/object-datasets';
import { datasetDigests } from '../../shared/core/dataset/hash-cache';
import { planChunks } from '../../shared/core/dataset/plan-chunks';
import { readPieces, readAt } from '../../shared/core/dataset/open-dataset';
import { readTickets, type TicketRecord } from '../../shared/core/dataset/read-tickets';
import { S3Store } from '../../shared/core/store/s3-store';
import { S3RVER_CREDENTIALS, S3Server } from '../helpers/s3-server';
import { SAMPLE_DATASET } from '../helpers/env';

const sample = fs.readFileSync(SAMPLE_DATASET);

async function collect(pieces: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const p of pieces) out.push(p);
  return out;
}

/** An S3 prefix as a dataset source, against a real s3rver on loopback. */
describe('datasets as objects under an S3 prefix', () => {
  const s3 = new S3Server('objects-bucket');
  let source: ObjectDatasets;
  let objects: S3Store;

  before(async () => {
    await s3.start();
    const config = resolveConfig({
      ...S3RVER_CREDENTIALS,
      AWS_REGION: 'us-east-1',
      TICKETFLOW_S3_ENDPOINT: s3.endpoint,
      TICKETFLOW_DATA_URL: 's3://objects-bucket/data',
    });
    assert.equal(config.data.kind, 's3');
    source = openDatasetSource(config) as ObjectDatasets;
    assert.ok(source instanceof ObjectDatasets);
    const { kind: _kind, ...location } = config.data as Extract<typeof config.data, { kind: 's3' }>;
    objects = new S3Store(location);
    await objects.put('sample.json', sample);
  });
  after(async () => {
    await objects.close();
    await s3.close();
  });

  it('reads any byte range of the object as the same file reads it', async () => {
    const ds = await source.open('sample.json');
    assert.equal(ds.path, 's3://objects-bucket/data/sample.json');
    assert.equal(ds.size, sample.length);
    const whole = Buffer.concat(await collect(readPieces(ds, { highWaterMark: 7000 })));
    assert.ok(whole.equals(sample));
    for (const [start, end] of [
      [0, 1],
      [12345, 99999],
      [sample.length - 10, sample.length],
      [sample.length - 10, sample.length + 100],
    ] as const) {
      const pieces = await collect(readPieces(ds, { start, end, highWaterMark: 1000 }));
      assert.ok(pieces.every((p) => p.length <= 1000));
      assert.ok(Buffer.concat(pieces).equals(sample.subarray(start, end)), `${start}-${end}`);
    }
    const buf = Buffer.alloc(64);
    assert.equal(await readAt(ds, buf, 100), 64);
    assert.ok(buf.equals(sample.subarray(100, 164)));
    assert.equal(await readAt(ds, buf, sample.length - 5), 5);
    assert.equal(await readAt(ds, buf, sample.length), 0);
  });

  it('plans and reads the same chunks and records as the local file', async () => {
    const ds = await source.open('sample.json');
    const fromObject = await planChunks(ds, 250);
    const fromFile = await planChunks(SAMPLE_DATASET, 250);
    assert.deepEqual({ ...fromObject, file: '' }, { ...fromFile, file: '' });
    const range = fromFile.chunks[2]!;
    const read = async (from: Parameters<typeof readTickets>[0]) => {
      const recs: TicketRecord[] = [];
      await readTickets(from, (r) => void recs.push(r), { format: fromFile.format, range });
      return recs;
    };
    assert.deepEqual(await read(ds), await read(SAMPLE_DATASET));
  });

  it('fails a read of an object replaced after it was opened, naming it', async () => {
    await objects.put('moving.json', sample);
    const ds = await source.open('moving.json');
    await objects.put('moving.json', sample.subarray(0, sample.length - 1));
    await assert.rejects(
      collect(readPieces(ds, { start: 0, end: 100 })),
      (err: Error) =>
        err instanceof BadInputError &&
        /^s3:\/\/objects-bucket\/data\/moving\.json: the dataset changed while it was read/.test(err.message),
    );
    const { identity } = await ds.identify();
    assert.equal(identity.size, sample.length - 1);
  });

  it('hashes an object once per identity, and again once it is replaced', async () => {
    await objects.put('hashed.json', sample);
    const location = source.locate('hashed.json');
    const before = datasetDigests.hashed;
    const first = await source.digest(location);
    assert.equal(first.bytes, sample.length);
    assert.equal((await source.digest(location)).sha256, first.sha256);
    assert.equal(datasetDigests.hashed, before + 1, 'the second digest reused the first');
    await objects.put('hashed.json', sample.subarray(1));
    const second = await source.digest(location);
    assert.notEqual(second.sha256, first.sha256);
    assert.equal(second.bytes, sample.length - 1);
  });

  it('says which endpoint it cannot reach, as an error a retry may fix (not bad input)', async () => {
    await s3.stop();
    try {
      await assert.rejects(
        source.open('sample.json'),
        (err: Error) =>
          !(err instanceof BadInputError) &&
          /^cannot look up the dataset sample\.json in s3:\/\/objects-bucket\/data at http:\/\/127\.0\.0\.1:\d+: /.test(
            err.message,
          ),
      );
    } finally {
      await s3.start();
    }
    await (await source.open('sample.json')).close();
  });

  it('refuses names that leave the prefix and missing objects, naming them', async () => {
    for (const name of [
      '../x.json',
      'a/../../x.json',
      '/data/sample.json',
      'a\\b.json',
      'a//b.json',
      './sample.json',
      'x\u0000.json',
    ]) {
      await assert.rejects(source.resolve(name), BadInputError, name);
      await assert.rejects(source.open(name), BadInputError, name);
    }
    await assert.rejects(
      source.resolve('missing.json'),
      /there is no object s3:\/\/objects-bucket\/data\/missing\.json/,
    );
    await assert.rejects(
      source.open('missing.json'),
      /s3:\/\/objects-bucket\/data\/missing\.json: no such object/,
    );
    assert.deepEqual(await source.resolve('sample.json'), {
      name: 'sample.json',
      location: 's3://objects-bucket/data/sample.json',
    });
  });
});
