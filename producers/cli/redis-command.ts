import { parseArgs } from 'node:util';
import { resolveConfig } from '../../shared/core/config/config';
import {
  durableRedisStart,
  durableRedisStatus,
  durableRedisStop,
  DurableRedisStatus,
} from '../../shared/runtime/redis/durable-redis';

const REDIS_HELP = `Usage: ticketflow redis start|stop|status [--json]

The durable Redis that ticketflow starts on REDIS_URL's port (default redis://127.0.0.1:6379) when none
answers there (npm run serve and npm run worker start it too). It runs daemonized, belongs to no process,
and keeps its data in an append-only file (fsync every second) in TICKETFLOW_REDIS_DIR (default
.ticketflow/redis), so queues and job state survive restarts. Only a local REDIS_URL (127.0.0.1, localhost,
::1) can be started or stopped.

  start    start it unless a Redis already answers there (then say so)
  stop     shut it down (SHUTDOWN: the append-only file is fsynced) and wait until the port is closed;
           only the server whose pidfile is in TICKETFLOW_REDIS_DIR is stopped
  status   whether it answers, pid, persistence (appendonly, appendfsync, dir), memory, keys, uptime

  --json      print one JSON object instead of text
  -h, --help  this text

Exit status: 0 on success; 1 on failure (message on stderr), also for stop and status when no Redis
answers; 2 on usage errors.`;

const ACTIONS = ['start', 'stop', 'status'] as const;
type Action = (typeof ACTIONS)[number];

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return [d ? `${d} d` : '', h ? `${h} h` : '', `${m} min`].filter(Boolean).join(' ');
}

function statusText(s: DurableRedisStatus): string {
  const who = s.startedByTicketflow
    ? `started by ticketflow, pidfile ${s.pidfile}`
    : s.reachable
      ? `not started by ticketflow from ${s.redisDir}`
      : '';
  const head = s.reachable
    ? `Redis at ${s.url}: running${s.loading ? ' (loading its data)' : ''} (pid ${s.serverPid ?? '?'}, ${who})`
    : `Redis at ${s.url}: not answering` +
      (s.pid !== null ? ` (but ${s.pidfile} names pid ${s.pid}, which still runs)` : '');
  const rows: [string, string][] = [];
  if (s.reachable) {
    rows.push(['version', s.version ?? '?']);
    rows.push(['uptime', s.uptimeSeconds === null ? '?' : duration(s.uptimeSeconds)]);
    rows.push(['keys', s.keys === null ? '?' : String(s.keys)]);
    rows.push([
      'memory',
      s.usedMemoryBytes === null ? '?' : `${s.usedMemoryHuman ?? ''} (${s.usedMemoryBytes} bytes)`.trim(),
    ]);
    rows.push([
      'persistence',
      `appendonly ${s.appendonly ?? '?'}, appendfsync ${s.appendfsync ?? '?'}, dir ${s.dir ?? '?'}`,
    ]);
  }
  if (s.local) rows.push(['log', s.logfile]);
  return [head, ...rows.map(([k, v]) => `  ${k.padEnd(12)} ${v}`)].join('\n') + '\n';
}

/**
 * `ticketflow redis start|stop|status [--json] [--help]`: manage the durable Redis on REDIS_URL's port, with its
 * files in TICKETFLOW_REDIS_DIR. Returns the exit status; never throws.
 */
export async function redisCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const out = (text: string) => process.stdout.write(text);
  const fail = (message: string, code = 1) => {
    process.stderr.write(`ticketflow redis: ${message}\n`);
    return code;
  };
  let action: Action;
  let json: boolean;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help || positionals[0] === 'help') {
      out(REDIS_HELP + '\n');
      return 0;
    }
    if (positionals.length === 0) return fail(`missing command: start, stop or status (see --help)`, 2);
    if (!(ACTIONS as readonly string[]).includes(positionals[0]!))
      return fail(`unknown command "${positionals[0]}": start, stop or status (see --help)`, 2);
    if (positionals.length > 1) return fail(`unexpected argument "${positionals[1]}" (see --help)`, 2);
    action = positionals[0] as Action;
    json = values.json ?? false;
  } catch (err) {
    return fail(`${(err as Error).message} (see --help)`, 2);
  }

  try {
    const config = resolveConfig(env);
    const { redisUrl: url, redisDir: dir } = config;
    if (action === 'start') {
      const r = await durableRedisStart(url, dir);
      if (json) out(JSON.stringify(r) + '\n');
      else if (r.started)
        out(
          `started redis-server at ${r.url} (pid ${r.pid ?? '?'}), append-only file in ${r.aofDir} ` +
            `(fsync every second); it runs until \`ticketflow redis stop\`\n  log ${r.logfile}\n`,
        );
      else out(`a Redis already answers at ${r.url} (pid ${r.pid ?? '?'}): nothing to start\n`);
      return 0;
    }
    if (action === 'stop') {
      const r = await durableRedisStop(url, dir);
      if (json) out(JSON.stringify(r) + '\n');
      if (!r.wasRunning) return fail(r.message);
      if (!json) out(`${r.message} (${r.seconds} s)\n`);
      return 0;
    }
    const s = await durableRedisStatus(url, dir);
    out(json ? JSON.stringify(s) + '\n' : statusText(s));
    return s.reachable ? 0 : fail(`no Redis answers at ${s.url}`);
  } catch (err) {
    return fail((err as Error).message);
  }
}
