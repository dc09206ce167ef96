/**
 * docker-compose.yml and the Dockerfile, checked without a Docker engine: `docker-compose config` (Debian's
 * docker-compose package, installed by `npm run setup` as root) resolves and validates the file, and the
 * resolved services are checked, without and with the object-store profile (`--profile s3 --env-file
 * minio.env`: MinIO, its bucket, the api and workers pointed at it); the Dockerfile is read as text. Skipped,
 * saying why, when the docker-compose binary is missing. Nothing is built, pulled or run.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT, resolveConfig } from '../../shared/core/config/config';
import { tempDir } from '../helpers/env';

// js-yaml comes with the dev dependencies (eslint); docker-compose 1.x prints YAML only.
const yaml = require('js-yaml') as { load(text: string): unknown };

const COMPOSE_FILE = path.join(PROJECT_ROOT, 'docker-compose.yml');
const DOCKERFILE = path.join(PROJECT_ROOT, 'Dockerfile');

function composeVersion(): string | null {
  const res = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8', timeout: 30_000 });
  return res.status === 0 ? res.stdout.trim() : null;
}

const version = composeVersion();
const skip =
  version === null ? 'docker-compose is not installed (npm run setup installs it as root on Debian)' : false;
if (skip) process.stderr.write(`compose test: SKIPPED: ${skip}\n`);

/**
 * `docker-compose config` on the project's file with exactly `env` (plus PATH and HOME): no variable of
 * the caller's shell and no .env file takes part; `opts.profile` activates a profile, `opts.envFile` is read
 * instead of an empty env file.
 */
function composeConfig(
  env: Record<string, string>,
  opts: { profile?: string; envFile?: string } = {},
): {
  status: number | null;
  stdout: string;
  stderr: string;
} {
  const dir = tempDir('compose');
  const envFile = opts.envFile ?? path.join(dir, 'empty.env');
  if (opts.envFile === undefined) fs.writeFileSync(envFile, '');
  const profile = opts.profile === undefined ? [] : ['--profile', opts.profile];
  try {
    const res = spawnSync(
      'docker-compose',
      ['--env-file', envFile, ...profile, '-f', COMPOSE_FILE, 'config'],
      {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        timeout: 60_000,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? dir, ...env },
      },
    );
    return { status: res.status, stdout: res.stdout, stderr: res.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface Service {
  image?: string;
  profiles?: string[];
  entrypoint?: string[];
  build?: { context: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string | number | null>;
  volumes?: (string | { type?: string; source?: string; target: string; read_only?: boolean })[];
  ports?: unknown[];
  healthcheck?: { test: string[] | string };
  depends_on?: Record<string, { condition?: string }> | string[];
  mem_limit?: string | number;
  deploy?: { resources?: { limits?: { memory?: string | number } } };
  user?: string;
}

/** A service's environment as a process's: every value a string, null (a bare name) left out. */
const stringEnv = (env: Record<string, string | number | null>): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(env).flatMap(([k, v]) => (v === null ? [] : [[k, String(v)]])));

/** Bytes of a compose memory value: 512m, 2g, "536870912" (compose v2 prints bytes). */
function bytes(value: string | number | undefined): number {
  if (value === undefined) return NaN;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(String(value).trim());
  if (!m) return NaN;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * unit;
}

/** A service's mounts as {source, target, readOnly}, from compose v1's short or v2's long syntax. */
function mounts(service: Service): { source: string; target: string; readOnly: boolean }[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v === 'string') {
      const [source = '', target = '', mode = 'rw'] = v.split(':');
      return { source, target, readOnly: mode.split(',').includes('ro') };
    }
    return { source: v.source ?? '', target: v.target, readOnly: v.read_only === true };
  });
}

const healthTest = (s: Service) => [s.healthcheck?.test ?? []].flat().join(' ');

type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> };

/**
 * The services `up` starts with `profiles` active: docker-compose 1.x's `config` prints every service,
 * 2.x only the active ones.
 */
const activeServices = (config: Compose, profiles: string[] = []) =>
  Object.keys(config.services)
    .filter((name) => (config.services[name]!.profiles ?? []).every((p) => profiles.includes(p)))
    .sort();

describe('docker-compose.yml (docker-compose config) and the Dockerfile', { skip }, () => {
  const token = randomBytes(20).toString('hex');
  const dataDir = '/srv/ticketflow-datasets'; // need not exist: nothing is run;
  let config: Compose;

  it(`resolves with a token set (docker-compose ${version ?? '-'})`, () => {
    const res = composeConfig({ TICKETFLOW_API_TOKEN: token, TICKETFLOW_HOST_DATA_DIR: dataDir });
    assert.equal(res.status, 0, `docker-compose config failed: ${res.stderr}`);
    config = yaml.load(res.stdout) as typeof config;
    assert.deepEqual(activeServices(config), ['api', 'ready', 'redis', 'worker']);
    for (const name of ['api', 'worker']) {
      const env = config.services[name]!.environment!;
      assert.equal(env.TICKETFLOW_STORAGE_URL ?? '', '', `${name}: artifacts in the storage volume`);
      assert.equal(resolveConfig(stringEnv(env)).storage.kind, 'file', name);
    }
  });

  it('fails without TICKETFLOW_API_TOKEN, naming the variable', () => {
    const res = composeConfig({});
    assert.notEqual(res.status, 0, 'docker-compose config must fail without a token');
    assert.match(res.stderr, /TICKETFLOW_API_TOKEN/);
    assert.equal(res.stdout.includes('services'), false, 'nothing is printed');
  });

  it('builds api, worker and ready from the Dockerfile, one image', () => {
    for (const name of ['api', 'worker', 'ready']) {
      const s = config.services[name]!;
      assert.equal(s.build?.dockerfile ?? 'Dockerfile', 'Dockerfile', name);
      assert.equal(path.resolve(s.build!.context), PROJECT_ROOT, name);
      assert.equal(s.image, 'ticketflow:local', name);
    }
    assert.deepEqual(config.services.api!.command, ['node', 'dist/producers/api/main.js']);
    assert.deepEqual(config.services.worker!.command, ['node', 'dist/workers/main.js']);
  });

  it('requires the token on the api, listening on 0.0.0.0 inside the container; workers do not get it', () => {
    const api = config.services.api!.environment!;
    assert.equal(api.HOST, '0.0.0.0');
    assert.equal(api.TICKETFLOW_API_TOKEN, token);
    assert.equal(api.REDIS_URL, 'redis://redis:6379');
    assert.equal(String(api.PORT), '3000');
    assert.equal(config.services.worker!.environment!.TICKETFLOW_API_TOKEN, undefined);
    assert.equal(config.services.ready!.environment!.TICKETFLOW_API_TOKEN, token);
    assert.equal(config.services.redis!.ports, undefined, 'Redis is not published');
  });

  it('checks liveness on /healthz (api) and readiness on /readyz (ready, with the token, after a healthy api)', () => {
    const { api, ready, redis, worker } = config.services;
    assert.match(healthTest(api!), /http:\/\/127\.0\.0\.1:3000\/healthz/);
    assert.match(healthTest(ready!), /http:\/\/api:3000\/readyz/);
    assert.match(healthTest(ready!), /authorization: 'Bearer ' \+ process\.env\.TICKETFLOW_API_TOKEN/);
    assert.match(healthTest(redis!), /redis-cli ping/);
    const dependsOn = (s: Service) => s.depends_on as Record<string, { condition?: string }>;
    assert.equal(dependsOn(ready!).api?.condition, 'service_healthy');
    assert.equal(dependsOn(api!).redis?.condition, 'service_healthy');
    assert.equal(dependsOn(worker!).redis?.condition, 'service_healthy');
  });

  it('limits the memory of redis, api, worker and ready; Redis stays below its limit', () => {
    const limit = (s: Service) => bytes(s.mem_limit ?? s.deploy?.resources?.limits?.memory);
    for (const name of ['redis', 'api', 'worker', 'ready']) {
      const b = limit(config.services[name]!);
      assert.ok(b > 0, `${name} has a memory limit (${b})`);
    }
    const redis = config.services.redis!;
    const cmd = redis.command!;
    const maxmemory = bytes(cmd[cmd.indexOf('--maxmemory') + 1]);
    assert.ok(maxmemory > 0 && maxmemory < limit(redis), 'redis maxmemory below the container limit');
    assert.equal(cmd[cmd.indexOf('--maxmemory-policy') + 1], 'noeviction');
    assert.ok(limit(config.services.worker!) >= 1024 ** 3, 'a worker gets at least 1 GiB');
  });

  it('mounts the dataset folder read-only at TICKETFLOW_DATA_DIR and shares the storage volume', () => {
    for (const name of ['api', 'worker']) {
      const s = config.services[name]!;
      const m = mounts(s);
      assert.equal(s.environment!.TICKETFLOW_DATA_DIR, '/data', name);
      assert.equal(s.environment!.TICKETFLOW_STORAGE_DIR, '/storage', name);
      const data = m.find((x) => x.target === '/data');
      assert.equal(data?.source, dataDir, `${name}: TICKETFLOW_HOST_DATA_DIR is mounted`);
      assert.equal(data?.readOnly, true, `${name}: datasets are read-only`);
      const storage = m.find((x) => x.target === '/storage');
      assert.equal(storage?.source, 'storage', name);
      assert.equal(storage?.readOnly, false, name);
    }
    assert.equal(mounts(config.services.redis!).find((x) => x.target === '/data')?.source, 'redis-data');
    assert.deepEqual(Object.keys(config.volumes ?? {}).sort(), ['minio-data', 'redis-data', 'storage']);
  });

  it('with --profile s3 and minio.env: MinIO, a job creating the bucket, the api and workers pointed at it', () => {
    const secret = randomBytes(12).toString('hex');
    const res = composeConfig(
      { TICKETFLOW_API_TOKEN: token, TICKETFLOW_HOST_DATA_DIR: dataDir, AWS_SECRET_ACCESS_KEY: secret },
      { profile: 's3', envFile: path.join(PROJECT_ROOT, 'minio.env') },
    );
    assert.equal(res.status, 0, `docker-compose --profile s3 config failed: ${res.stderr}`);
    const s3: Compose = yaml.load(res.stdout) as Compose;
    assert.deepEqual(activeServices(s3, ['s3']), [
      'api',
      'minio',
      'minio-bucket',
      'ready',
      'redis',
      'worker',
    ]);
    const { minio, 'minio-bucket': bucket } = s3.services;
    assert.equal(minio!.image, 'minio/minio');
    assert.deepEqual(minio!.command, ['server', '/data']);
    assert.match(healthTest(minio!), /mc ready local/);
    assert.equal(minio!.ports, undefined, 'MinIO is not published');
    assert.equal(mounts(minio!).find((m) => m.target === '/data')?.source, 'minio-data');
    assert.equal(bucket!.image, 'minio/mc');
    assert.equal(
      (bucket!.depends_on as Record<string, { condition?: string }>).minio?.condition,
      'service_healthy',
    );
    const script = [bucket!.entrypoint ?? [], bucket!.command ?? []].flat().join(' ');
    assert.match(script, /mc alias set minio http:\/\/minio:9000 /);
    assert.match(script, /mc mb --ignore-existing /);
    for (const name of ['api', 'worker']) {
      const env = s3.services[name]!.environment!;
      const storage = resolveConfig(stringEnv(env)).storage;
      assert.deepEqual(
        storage,
        {
          kind: 's3',
          bucket: 'ticketflow',
          prefix: 'artifacts',
          endpoint: 'http://minio:9000',
          region: 'us-east-1',
          credentials: { accessKeyId: String(minio!.environment!.MINIO_ROOT_USER), secretAccessKey: secret },
        },
        `${name} uses MinIO's bucket with MinIO's account`,
      );
      assert.equal(minio!.environment!.MINIO_ROOT_PASSWORD, secret);
      assert.equal(
        bucket!.environment!.TICKETFLOW_STORAGE_URL,
        env.TICKETFLOW_STORAGE_URL,
        'the same bucket',
      );
    }
  });

  it('has a multi-stage Dockerfile: tsc in the build stage; production dependencies only, not root, at run time', () => {
    const lines = fs
      .readFileSync(DOCKERFILE, 'utf8')
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const stages: string[][] = [];
    for (const line of lines) {
      if (/^FROM\s/i.test(line)) stages.push([]);
      stages.at(-1)?.push(line);
    }
    assert.ok(stages.length >= 2, 'at least a build and a runtime stage');
    const build = stages[0]!.join('\n');
    const runtime = stages.at(-1)!.join('\n');
    assert.match(build, /^FROM node:20\S* AS build$/m);
    assert.match(build, /^RUN npm ci\b(?!.*--omit=dev)/m, 'the build stage installs dev dependencies');
    assert.match(build, /^RUN npx tsc -p tsconfig\.json$/m);
    assert.match(build, /^RUN npx tsc -p tsconfig\.browser\.json$/m, 'the /ui page script is built');
    assert.match(runtime, /^FROM node:20\S*/m);
    assert.match(runtime, /^RUN npm ci --omit=dev\b/m);
    assert.doesNotMatch(runtime, /^RUN npm (ci|install)(?!.*--omit=dev)/m, 'no dev dependencies at run time');
    assert.match(runtime, /^COPY --from=build \S*\/dist \.\/dist$/m);
    assert.match(runtime, /^COPY shared\/sample\/\S+ \.\/shared\/sample\//m);
    assert.match(runtime, /^COPY package\.json /m, 'package.json (the code version) is read at run time');
    const users = runtime.match(/^USER\s+(\S+)/gm) ?? [];
    assert.ok(users.length > 0, 'the runtime stage sets USER');
    const user = users.at(-1)!.split(/\s+/)[1]!;
    assert.doesNotMatch(user, /^(root|0)(:.*)?$/, `runs as ${user}, not root`);
    assert.match(runtime, /^CMD \["node", "dist\/producers\/api\/main\.js"\]$/m);
    const ignored = fs.readFileSync(path.join(PROJECT_ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', 'dist', '.git', '.ticketflow'])
      assert.ok(ignored.includes(entry), entry);
  });
});
