import http from 'node:http';
import { AddressInfo } from 'node:net';
import { createHmac, timingSafeEqual } from 'node:crypto';

/** A request the receiver got. */
export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
  /** the status it answered */
  answered: number;
}

/**
 * A webhook receiver on 127.0.0.1: records every POST; answers each path's queued statuses in turn,
 * then 200.
 */
export interface Receiver {
  port: number;
  url(path: string): string;
  received: Received[];
  /** requests to `path` carrying event `event` */
  at(path: string, event?: string): Received[];
  answer(path: string, ...statuses: number[]): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const queued = new Map<string, number[]>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      const answered = queued.get(path)?.shift() ?? 200;
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // recorded as it came; the test's assertions say what is wrong
      }
      received.push({ path, headers: req.headers, body, json, answered });
      res.writeHead(answered, { 'content-type': 'text/plain' }).end(answered === 200 ? 'ok' : 'not now');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    received,
    at: (path, event) =>
      received.filter((r) => r.path === path && (event === undefined || r.json.event === event)),
    answer(path, ...statuses) {
      queued.set(path, [...(queued.get(path) ?? []), ...statuses]);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * A receiver's check of `X-Ticketflow-Signature` (written here from the documented scheme, not imported):
 * null when `header` is `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with `secret` and `t` is
 * within `toleranceSeconds` of `nowSeconds`, else why not.
 */
export function verifySignature(
  secret: string,
  body: string,
  header: string | string[] | undefined,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = 300,
): string | null {
  const m = typeof header === 'string' ? /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header) : null;
  if (!m) return `malformed signature header ${JSON.stringify(header)}`;
  const t = Number(m[1]);
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return `stale timestamp ${t}`;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex')) ? null : 'signature mismatch';
}

/** Poll `check` until it returns true (or throw after `timeoutMs`, saying what was awaited). */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`still waiting after ${timeoutMs} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
