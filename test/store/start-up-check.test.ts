/**
 * Workers and the API refuse to start on an S3 store they cannot use — a key s3rver does not know, a bucket
 * that does not exist, an endpoint where nothing listens — exiting non-zero with one line naming the store,
 * the setting and the reason.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { S3Server } from '../helpers/s3-server';
import { apiProcessEnvs } from '../helpers/api-processes';
import { API_MAIN, spawnNode, WORKER_MAIN } from '../helpers/processes';
import { freePort } from '../../shared/runtime/redis/local-redis';

describe('start-up on an S3 store that cannot be used', () => {
  let s3: S3Server;
  const envs = apiProcessEnvs('store-check');
  before(async () => {
    s3 = await new S3Server('startup').start();
  });
  after(async () => {
    await envs.close();
    await s3?.close();
  });

  const cases: [string, () => Promise<Record<string, string>>, RegExp][] = [
    [
      'an unknown access key',
      async () => ({ ...s3.env('tf'), AWS_ACCESS_KEY_ID: 'WRONG' }),
      /storage s3:\/\/startup\/tf \(TICKETFLOW_STORAGE_URL\) cannot be used: .*access denied: check AWS_ACCESS_KEY_ID/,
    ],
    [
      'a missing bucket',
      async () => ({ ...s3.env('tf'), TICKETFLOW_STORAGE_URL: 's3://no-such-bucket/tf' }),
      /storage s3:\/\/no-such-bucket\/tf \(TICKETFLOW_STORAGE_URL\) cannot be used: .*no such bucket/,
    ],
    [
      'an endpoint where nothing listens',
      async () => ({ ...s3.env('tf'), TICKETFLOW_S3_ENDPOINT: `http://127.0.0.1:${await freePort()}` }),
      /storage s3:\/\/startup\/tf \(TICKETFLOW_STORAGE_URL\) cannot be used: it does not answer: .*ECONNREFUSED/,
    ],
  ];

  for (const [label, storeEnv, reason] of cases) {
    for (const [program, main, tag] of [
      ['a worker', WORKER_MAIN, 'worker'],
      ['the API', API_MAIN, 'serve'],
    ] as const) {
      it(`${program} exits 1 on ${label}, saying so`, async () => {
        const { env } = await envs.env(await storeEnv());
        const proc = spawnNode(`${tag} (${label})`, main, [], env);
        try {
          const code = await Promise.race([
            proc.exited,
            new Promise((r) => setTimeout(() => r('still running after 30 s'), 30_000).unref()),
          ]);
          assert.equal(code, 1, proc.stderr());
          const last = proc.stderr().trim().split('\n').at(-1) ?? '';
          assert.match(last, new RegExp(`^${tag}: ${reason.source}`));
          assert.doesNotMatch(proc.stderr(), /S3RVER/, 'no credential is shown');
        } finally {
          await proc.stop('SIGKILL', 0);
        }
      });
    }
  }
});
