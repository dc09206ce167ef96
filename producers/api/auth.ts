/**
 * Who may use the API: an optional shared token (`TICKETFLOW_API_TOKEN`) and the rule that the API only
 * listens beyond loopback with one (or with `TICKETFLOW_ALLOW_INSECURE=1`, which warns).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { originOf, type TicketflowConfig } from '../../shared/core/config/config';

/** The realm named in every `WWW-Authenticate` challenge. */
const REALM = 'ticketflow';

/**
 * Compare a presented token with the configured one in constant time: both are hashed first, so neither
 * their contents nor their lengths leak through how long the comparison takes.
 */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** The credentials of an `Authorization` header, by scheme (case-insensitive); null when absent or malformed. */
export function parseAuthorization(
  header: string | undefined,
): { scheme: 'bearer'; token: string } | { scheme: 'basic'; user: string; password: string } | null {
  if (!header) return null;
  const match = /^([A-Za-z]+) +(\S+) *$/.exec(header);
  if (!match) return null;
  const scheme = match[1]!.toLowerCase();
  const value = match[2]!;
  if (scheme === 'bearer') return { scheme, token: value };
  if (scheme === 'basic') {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return null;
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    return { scheme, user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return null;
}

function unauthorized(res: Response, challenge: string, message: string): void {
  res
    .status(401)
    .set('WWW-Authenticate', challenge)
    .set('Cache-Control', 'no-store')
    .json({ error: message });
}

/**
 * The API's guard: `Authorization: Bearer <token>`, or 401 with a Bearer challenge and a JSON error.
 * Mounted after `GET /healthz`, before the body parser (an unauthenticated body is never read).
 */
export function requireBearer(token: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const auth = parseAuthorization(req.get('authorization'));
    if (auth === null || auth.scheme !== 'bearer') {
      unauthorized(
        res,
        `Bearer realm="${REALM}"`,
        'authentication required: send the API token as "Authorization: Bearer <token>"',
      );
      return;
    }
    if (!tokenMatches(auth.token, token)) {
      unauthorized(res, `Bearer realm="${REALM}", error="invalid_token"`, 'the API token is not valid');
      return;
    }
    next();
  };
}

/** Methods that change nothing; the board's write routes use PUT, POST and PATCH. */
export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Why a request counts as sent by another site's page, or null when it does not: an `Origin` listed in
 * `allowedOrigins` is trusted; otherwise `Sec-Fetch-Site` must say `same-origin` (or `none`: typed by the
 * user), or, from browsers that do not send it, `Origin` must name the request's own `Host`. A request
 * with neither header is not from a browser page.
 */
export function crossOriginReason(
  headers: { origin?: string; secFetchSite?: string; host?: string },
  allowedOrigins: readonly string[],
): string | null {
  const { origin, secFetchSite, host } = headers;
  if (origin !== undefined && allowedOrigins.includes(originOf(origin) ?? '')) return null;
  if (secFetchSite !== undefined) {
    return secFetchSite === 'same-origin' || secFetchSite === 'none'
      ? null
      : `Sec-Fetch-Site: ${secFetchSite}`;
  }
  if (origin === undefined) return null;
  const parsed = originOf(origin);
  if (parsed !== null && host !== undefined && new URL(parsed).host === host.toLowerCase()) return null;
  return `Origin: ${origin}`;
}

/**
 * Bull Board's guard: the token as Bearer, or as the password of HTTP Basic (any user name) so a browser
 * can log in; otherwise 401 with `WWW-Authenticate: Basic realm="ticketflow"`. A browser sends Basic
 * credentials by itself, so a write (PUT, POST, PATCH, DELETE) that carries them is refused (403) when the
 * browser says the request comes from another site (`Sec-Fetch-Site`, else `Origin` vs `Host`): another
 * page cannot make a logged-in browser retry, clean or add jobs.
 */
export function requireBoardAuth(token: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const auth = parseAuthorization(req.get('authorization'));
    const presented = auth === null ? null : auth.scheme === 'bearer' ? auth.token : auth.password;
    if (presented === null || !tokenMatches(presented, token)) {
      unauthorized(
        res,
        `Basic realm="${REALM}"`,
        presented === null
          ? 'authentication required: log in with the API token as the password (any user name), or send "Authorization: Bearer <token>"'
          : 'the API token is not valid',
      );
      return;
    }
    // No origin is trusted here: Basic credentials a browser sends by itself never cross sites.
    const crossSite = crossOriginReason(
      { origin: req.get('origin'), secFetchSite: req.get('sec-fetch-site'), host: req.get('host') },
      [],
    );
    if (auth!.scheme === 'basic' && !SAFE_METHODS.has(req.method) && crossSite !== null) {
      res.status(403).json({ error: 'cross-site requests may not change the board' });
      return;
    }
    next();
  };
}

/** True for addresses that only this machine can reach: 127.0.0.0/8, ::1 (also IPv4-mapped), localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const v4 = h.startsWith('::ffff:') && net.isIPv4(h.slice(7)) ? h.slice(7) : h;
  if (net.isIPv4(v4)) return v4.startsWith('127.');
  if (net.isIPv6(h)) {
    const list = new net.BlockList();
    list.addAddress('::1', 'ipv6');
    return list.check(h, 'ipv6');
  }
  return false;
}

/**
 * May the API start on `config.host`? Never with `TICKETFLOW_API_TOKEN` set but empty (a secret that did
 * not arrive must not mean "no authentication"). Loopback always; anything else (0.0.0.0, ::, an
 * interface's address, a host name) only with a token, or when `TICKETFLOW_ALLOW_INSECURE=1` says so,
 * with a warning.
 */
export function exposureCheck(
  config: Pick<TicketflowConfig, 'host' | 'port' | 'apiToken' | 'apiTokenBlank' | 'allowInsecure'>,
): { refuse: string } | { warn: string | null } {
  if (config.apiTokenBlank) {
    return {
      refuse:
        'TICKETFLOW_API_TOKEN is set but empty: refusing to start without authentication. Set it to a ' +
        'secret of 16+ characters (e.g. "openssl rand -hex 32"), or unset it to run without a token on loopback',
    };
  }
  if (config.apiToken !== null || isLoopbackHost(config.host)) return { warn: null };
  const where = `${config.host}:${config.port}`;
  if (config.allowInsecure) {
    return {
      warn: `listening on ${where} without TICKETFLOW_API_TOKEN (TICKETFLOW_ALLOW_INSECURE=1): anyone who can reach this address can submit, cancel and delete runs and change the queues from /board`,
    };
  }
  return {
    refuse:
      `refusing to listen on ${where} without authentication: HOST=${config.host} is reachable from other ` +
      `machines. Set TICKETFLOW_API_TOKEN (e.g. "openssl rand -hex 32"), or listen on loopback ` +
      `(HOST=127.0.0.1, the default), or set TICKETFLOW_ALLOW_INSECURE=1 to allow it anyway`,
  };
}

/** The start-up warning for a board that token holders can change, or null. */
export function writableBoardWarning(
  config: Pick<TicketflowConfig, 'apiToken' | 'boardReadOnly'>,
): string | null {
  if (config.apiToken === null || config.boardReadOnly) return null;
  return (
    'Bull Board is writable (TICKETFLOW_BOARD_WRITABLE=1): anyone holding the API token can pause, clean and ' +
    'empty all eight queues, retry or remove jobs, and add jobs with arbitrary data from /board'
  );
}
