/**
 * Response headers against clickjacking and content sniffing, on every response (helmet): `nosniff`,
 * `X-Frame-Options: DENY` and a Content-Security-Policy whose `frame-ancestors 'none'` keeps every page
 * out of frames. Responses that are not pages get a policy that allows nothing; the run pages, the
 * reports and Bull Board set their own (below), each only as open as the page needs.
 */
import helmet from 'helmet';
import type { RequestHandler } from 'express';

/** The directives every policy shares: no framing, no `<base>`, no form posts elsewhere. */
const COMMON = "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** `/ui`: its script (served by the API), its own styles and inline style attributes, calls to the API. */
export const UI_CSP = `default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; ${COMMON}`;

/** A report (and `?live=1`, the fragment the page shows): one self-contained document that runs nothing. */
export const REPORT_CSP = `default-src 'none'; style-src 'unsafe-inline'; img-src data:; ${COMMON}`;

/**
 * Bull Board: its scripts and styles from `/board/static`, inline styles (its loading screen and React
 * components set them), its API, Google's font stylesheet and fonts (the board falls back to system
 * fonts when they do not load), and `blob:` images (job data export).
 */
export const BOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; " +
  "font-src 'self' data: https://fonts.gstatic.com; img-src 'self' data: blob:; connect-src 'self'; " +
  "manifest-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'none'";

/**
 * helmet with the API's choices: HSTS off (the API speaks plain HTTP; whoever terminates TLS in front of
 * it decides), no `upgrade-insecure-requests` (it would send the board's assets to an https:// that does
 * not exist), `X-Frame-Options: DENY` for browsers without `frame-ancestors`.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
      },
    },
    strictTransportSecurity: false,
    xFrameOptions: { action: 'deny' },
  });
}

/** Middleware that replaces the policy for the responses below it (a page's own). */
export function contentSecurityPolicy(policy: string): RequestHandler {
  return (_req, res, next) => {
    res.setHeader('Content-Security-Policy', policy);
    next();
  };
}
