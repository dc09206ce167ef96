import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header that carries a delivery's signature. */
export const SIGNATURE_HEADER = 'X-Ticketflow-Signature';

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the secret>`: the timestamp is signed
 * with the body, so a receiver that rejects old timestamps cannot be fed a recorded delivery again.
 */
export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  const v1 = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${v1}`;
}

/**
 * What a receiver does with a delivery: null when `header` signs `body` with `secret` and its timestamp
 * is within `toleranceSeconds` of `nowSeconds`, else why not.
 */
export function signatureProblem(
  secret: string,
  body: string,
  header: string | undefined,
  nowSeconds: number = Math.floor(Date.now() / 1000),
  toleranceSeconds = 300,
): string | null {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return 'no signature of the form t=<unix seconds>,v1=<hex>';
  const t = Number(m[1]);
  if (Math.abs(nowSeconds - t) > toleranceSeconds)
    return `timestamp ${t} is more than ${toleranceSeconds} s away`;
  const expected = Buffer.from(signatureHeader(secret, body, t).slice(`t=${t},v1=`.length), 'hex');
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex')) ? null : 'the signature does not match';
}
