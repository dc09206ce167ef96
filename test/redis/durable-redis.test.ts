import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import IORedis from 'ioredis';
import { PROJECT_ROOT } from '../../shared/core/config/config';
import { redisReachable } from '../../shared/runtime/flow/connection';
import { pidAlive, readPidfile } from '../../shared/runtime/redis/durable-redis';
import {
  durableRedisStart,
  durableRedisStatus,
  durableRedisStop,
  ensureRedis,
  freePort,
} from '../../shared/runtime/redis/local-redis';
import { tempDir } from '../helpers/env';
import { processesWhere } from '../helpers/processes';

const LOCAL_REDIS = path.join(PROJECT_ROOT, 'dist', 'shared', 'runtime', 'redis', 'local-redis.js');
const REDIS_COMMAND = path.join(PROJECT_ROOT, 'dist', 'producers', 'cli', 'redis-command.js');
const CLI = path.join(PROJECT_ROOT, 'dist', 'producers', 'cli', 'ticketflow.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function runNode(args: string[], env: Record<string, string>): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** `ensureRedis({mode: 'at-url'})` in a child process that exits once it returns (as serve/worker start it). */
function ensureInChild(url: string, dir: string): Promise<Result> {
  const script = `require(${JSON.stringify(LOCAL_REDIS)})
    .ensureRedis({ url: process.env.URL, dir: process.env.DIR, mode: 'at-url' })
    .then(async (r) => { await r.stop(); console.log(JSON.stringify({ started: r.started, durable: r.durable, pid: process.pid })); process.exit(0); },
          (e) => { console.error(e.message); process.exit(1); });`;
  return runNode(['-e', script], { URL: url, DIR: dir });
}

/** `ticketflow redis …`: through the CLI once it dispatches to redisCommand, else redisCommand itself. */
function redisCli(args: string[], env: Record<string, string>): Promise<Result> {
  if (fs.readFileSync(CLI, 'utf8').includes('redisCommand')) return runNode([CLI, 'redis', ...args], env);
  const script = `require(${JSON.stringify(REDIS_COMMAND)})
    .redisCommand(process.argv.slice(1), process.env).then((code) => process.exit(code));`;
  return runNode(['-e', script, '--', ...args], env);
}

/** redis-server processes serving `port` (their title is "redis-server 127.0.0.1:<port>"). */
function serversOnPort(port: number): number[] {
  return processesWhere((pid, read) => {
    const cmd = read('cmdline');
    return cmd.includes('redis-server') && cmd.includes(`:${port}`) && pidAlive(pid);
  });
}

describe('durable Redis (ensureRedis at-url, ticketflow redis)', () => {
  let dir: string;
  let port: number;
  let url: string;
  let env: Record<string, string>;
  /** every pid read from our pidfiles: after() makes sure none of them is left running */
  const pids = new Set<number>();
  const notePid = (pidfile: string) => {
    const pid = readPidfile(pidfile);
    if (pid !== null) pids.add(pid);
    return pid;
  };

  before(async () => {
    dir = tempDir('durable-redis');
    port = await freePort();
    url = `redis://127.0.0.1:${port}`;
    env = { REDIS_URL: url, TICKETFLOW_REDIS_DIR: dir };
  });

  after(async () => {
    for (const pidfile of fs.readdirSync(dir).filter((f) => f.endsWith('.pid'))) {
      notePid(path.join(dir, pidfile));
      const p = Number(/redis-(\d+)\.pid/.exec(pidfile)?.[1]);
      await durableRedisStop(`redis://127.0.0.1:${p}`, dir).catch(() => undefined);
    }
    for (const pid of pids) {
      // Only pids from our own pidfiles, and only while they are still a redis-server.
      let cmd = '';
      try {
        cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      if (cmd.includes('redis-server') && pidAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('started by a process that exits, it keeps running, with AOF persistence', async () => {
    const res = await ensureInChild(url, dir);
    assert.equal(res.code, 0, res.stderr);
    const child = JSON.parse(res.stdout) as { started: boolean; durable: boolean; pid: number };
    assert.deepEqual([child.started, child.durable], [true, true]);
    const pid = notePid(path.join(dir, `redis-${port}.pid`));
    assert.ok(pid !== null && pid !== child.pid, 'the pidfile names the daemon, not the starting process');
    assert.equal(pidAlive(child.pid), false);
    assert.equal(await redisReachable(url), true, 'the server outlives the process that started it');

    const status = await durableRedisStatus(url, dir);
    assert.equal(status.reachable, true);
    assert.equal(status.appendonly, 'yes');
    assert.equal(status.appendfsync, 'everysec');
    assert.equal(status.dir, fs.realpathSync(dir));
    assert.equal(status.pid, pid);
    assert.equal(status.serverPid, pid);
    assert.equal(status.startedByTicketflow, true);
    assert.equal(typeof status.keys, 'number');
    assert.equal(typeof status.uptimeSeconds, 'number');
    assert.ok((status.usedMemoryBytes ?? 0) > 0);

    // Another at-url start finds it: not started again, one server.
    const again = await ensureRedis({ url, dir, mode: 'at-url' });
    assert.deepEqual([again.started, again.durable], [false, false]);
    assert.deepEqual(serversOnPort(port), [pid]);
  });

  it('keeps its data across a stop and a start (append-only file)', async () => {
    const redis = new IORedis(url, { maxRetriesPerRequest: 1 });
    await redis.set('tf-durable-test', 'survives');
    redis.disconnect();

    const stopped = await durableRedisStop(url, dir);
    assert.equal(stopped.wasRunning, true);
    assert.equal(stopped.stopped, true);
    assert.equal(await redisReachable(url, 300), false, 'the port no longer answers after stop');
    assert.equal(pidAlive(stopped.pid!), false);

    const nothing = await durableRedisStop(url, dir);
    assert.deepEqual([nothing.wasRunning, nothing.stopped], [false, false]);
    assert.match(nothing.message, /no Redis answers/);

    const started = await durableRedisStart(url, dir);
    assert.equal(started.started, true);
    notePid(started.pidfile);
    const again = new IORedis(url, { maxRetriesPerRequest: 1 });
    try {
      assert.equal(await again.get('tf-durable-test'), 'survives');
    } finally {
      again.disconnect();
    }
  });

  it('two processes starting at once end up with one server', async () => {
    const port2 = await freePort();
    const url2 = `redis://127.0.0.1:${port2}`;
    const results = await Promise.all([ensureInChild(url2, dir), ensureInChild(url2, dir)]);
    const pid = notePid(path.join(dir, `redis-${port2}.pid`));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const started = results.map((r) => (JSON.parse(r.stdout) as { started: boolean }).started);
    assert.deepEqual(started.sort(), [false, true], 'exactly one of them started it');
    assert.deepEqual(serversOnPort(port2), [pid]);
    assert.equal((await durableRedisStop(url2, dir)).stopped, true);
    assert.deepEqual(serversOnPort(port2), []);
  });

  it('refuses a REDIS_URL on another host, before connecting to it', async () => {
    const remote = 'redis://redis.example.invalid:6379';
    await assert.rejects(durableRedisStart(remote, dir), /not this machine.*local address/);
    await assert.rejects(durableRedisStop(remote, dir), /not this machine.*local address/);
    const res = await redisCli(['start'], { ...env, REDIS_URL: remote });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /names host "redis\.example\.invalid", not this machine/);
  });

  it('ticketflow redis status|start|stop: text, --json, exit statuses', async () => {
    const status = await redisCli(['status', '--json'], env);
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout) as Record<string, unknown>;
    assert.equal(s.reachable, true);
    assert.equal(s.appendonly, 'yes');
    assert.equal(s.appendfsync, 'everysec');
    assert.equal(s.port, port);

    const text = await redisCli(['status'], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /running/);
    assert.match(text.stdout, /appendonly yes, appendfsync everysec/);

    const start = await redisCli(['start'], env);
    assert.equal(start.code, 0, start.stderr);
    assert.match(start.stdout, /already answers/);

    const stop = await redisCli(['stop'], env);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, /stopped/);
    const stopAgain = await redisCli(['stop'], env);
    assert.equal(stopAgain.code, 1);
    assert.match(stopAgain.stderr, /no Redis answers/);
    const down = await redisCli(['status', '--json'], env);
    assert.equal(down.code, 1);
    assert.equal((JSON.parse(down.stdout) as { reachable: boolean }).reachable, false);

    const startJson = await redisCli(['start', '--json'], env);
    assert.equal(startJson.code, 0, startJson.stderr);
    assert.equal((JSON.parse(startJson.stdout) as { started: boolean }).started, true);
    notePid(path.join(dir, `redis-${port}.pid`));

    assert.equal((await redisCli(['frobnicate'], env)).code, 2);
    assert.equal((await redisCli([], env)).code, 2);
    assert.equal((await redisCli(['status', '--bogus'], env)).code, 2);
    const help = await redisCli(['--help'], env);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /ticketflow redis start\|stop\|status/);
  });

  it('does not stop a Redis that is not tied to the pidfile in the given folder', async () => {
    const other = tempDir('durable-redis-other');
    try {
      await assert.rejects(durableRedisStop(url, other), /not started by ticketflow.*not stopping it/);
      assert.equal(await redisReachable(url), true);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});
