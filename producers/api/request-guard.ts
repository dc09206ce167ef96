/**
 * Which requests the API serves at all: a `Host` it answers to (against DNS rebinding: a page whose name
 * was re-pointed at this address sends its own name as `Host`), and no state-changing request from another
 * site's page (a browser sends those with `Origin` and `Sec-Fetch-Site`; curl and scripts send neither).
 */
import net from 'node:net';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { TicketflowConfig } from '../../shared/core/config/config';
import { crossOriginReason, isLoopbackHost, SAFE_METHODS } from './auth';

/** The host name of a `Host` header (lower case, IPv6 without brackets, no trailing dot); null if malformed. */
export function hostNameOf(header: string | undefined): string | null {
  if (header === undefined || header === '') return null;
  try {
    const url = new URL(`http://${header}`);
    if (url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '') return null;
    const name = url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
    return name === '' ? null : name;
  } catch {
    return null;
  }
}

const WILDCARD = new Set(['0.0.0.0', '::']);

/**
 * May a request with this `Host` name be served? Loopback names and addresses, `config.host` itself, and
 * `config.allowedHosts`. When the API listens on every interface (`0.0.0.0`, `::`) any IP address is
 * accepted too: a rebinding page always sends a name (its own), and a page served from this very address
 * is the API's own origin.
 */
export function hostAllowed(name: string, config: Pick<TicketflowConfig, 'host' | 'allowedHosts'>): boolean {
  if (isLoopbackHost(name)) return true;
  if (name === config.host.toLowerCase() || config.allowedHosts.includes(name)) return true;
  return WILDCARD.has(config.host) && net.isIP(name) !== 0;
}

/** 403 for a `Host` the API does not answer to, naming the setting that would allow it. */
export function hostGuard(config: Pick<TicketflowConfig, 'host' | 'allowedHosts'>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('host');
    const name = hostNameOf(header);
    if (name !== null && hostAllowed(name, config)) return next();
    res.status(403).json({
      error:
        name === null
          ? `the Host header ${JSON.stringify(header ?? '')} is missing or malformed`
          : `this API does not answer to the host name ${JSON.stringify(name)}: add it to TICKETFLOW_ALLOWED_HOSTS ` +
            `(comma-separated) if clients reach the API under that name`,
    });
  };
}

/** 403 for a POST, PUT, PATCH or DELETE sent by another site's page (CSRF, rebinding). */
export function originGuard(config: Pick<TicketflowConfig, 'allowedOrigins'>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (SAFE_METHODS.has(req.method)) return next();
    const reason = crossOriginReason(
      { origin: req.get('origin'), secFetchSite: req.get('sec-fetch-site'), host: req.get('host') },
      config.allowedOrigins,
    );
    if (reason === null) return next();
    res.status(403).json({
      error:
        `cross-origin ${req.method} refused (${reason}): only pages of this API's own origin may change ` +
        `anything; list other origins in TICKETFLOW_ALLOWED_ORIGINS`,
    });
  };
}
