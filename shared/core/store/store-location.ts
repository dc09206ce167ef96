import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { checkKey } from './artifact-store';

/** Where an S3 store is and how to reach it; resolved from the environment by parseStoreUrl. */
export interface S3Location {
  bucket: string;
  /** Keys live under it ("" or a "/"-free-ended path such as "team/ticketflow"). */
  prefix: string;
  /** An S3-compatible server (MinIO, Ceph, R2, s3rver): path-style addressing. Undefined: AWS. */
  endpoint?: string;
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** Where artifacts live: a local folder or an S3 bucket (and prefix). */
export type StoreLocation = { kind: 'file'; root: string } | ({ kind: 's3' } & S3Location);

/** A location as a URL again: `file:///path` or `s3://bucket[/prefix]` (no credentials, no endpoint). */
export function locationUrl(location: StoreLocation): string {
  if (location.kind === 'file') return pathToFileURL(location.root).href;
  return `s3://${location.bucket}${location.prefix === '' ? '' : `/${location.prefix}`}`;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * The store a URL names — `file:///var/lib/ticketflow` or `s3://bucket/prefix` — with S3's region,
 * credentials and endpoint from the standard variables (AWS_REGION, AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) and TICKETFLOW_S3_ENDPOINT. A pure function of its arguments;
 * `variable` names the setting in messages.
 */
export function parseStoreUrl(url: string, env: NodeJS.ProcessEnv, variable: string): StoreLocation {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`${variable}="${url}" is not a URL: use file:///path or s3://bucket/prefix`);
  }
  if (parsed.protocol === 'file:') {
    if (parsed.search !== '' || parsed.hash !== '')
      throw new RangeError(`${variable}="${url}": a file URL has no query or fragment`);
    return { kind: 'file', root: path.resolve(fileURLToPath(parsed)) };
  }
  if (parsed.protocol !== 's3:')
    throw new RangeError(`${variable}="${url}": the scheme must be file: or s3:, not ${parsed.protocol}`);
  const bucket = parsed.hostname;
  if (!BUCKET.test(bucket))
    throw new RangeError(`${variable}="${url}": "${bucket}" is not an S3 bucket name (3–63 of a-z 0-9 . -)`);
  if (parsed.username !== '' || parsed.password !== '' || parsed.port !== '' || parsed.search !== '')
    throw new RangeError(
      `${variable}="${url}": put credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and the server in TICKETFLOW_S3_ENDPOINT, not in the URL`,
    );
  const prefix = decodeURIComponent(parsed.pathname).replace(/^\/+|\/+$/g, '');
  if (prefix !== '') checkKey(prefix, 'prefix');
  const endpoint = env.TICKETFLOW_S3_ENDPOINT?.trim() || undefined;
  // Not echoed: the endpoint is named in messages and /readyz, so it must hold no secret.
  if (endpoint !== undefined && /^[^/]*\/\/[^/]*@/.test(endpoint))
    throw new RangeError(
      'TICKETFLOW_S3_ENDPOINT holds user:password@: put credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY',
    );
  if (endpoint !== undefined && !/^https?:\/\/[^/]+\/?$/.test(endpoint))
    throw new RangeError(
      `TICKETFLOW_S3_ENDPOINT="${endpoint}": give the server as http://host:port or https://host`,
    );
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim() || undefined;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim() || undefined;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined))
    throw new RangeError('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together: set both or neither');
  const sessionToken = env.AWS_SESSION_TOKEN?.trim() || undefined;
  return {
    kind: 's3',
    bucket,
    prefix,
    ...(endpoint === undefined ? {} : { endpoint: endpoint.replace(/\/$/, '') }),
    region: env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || 'us-east-1',
    ...(accessKeyId === undefined
      ? {}
      : {
          credentials: {
            accessKeyId,
            secretAccessKey: secretAccessKey!,
            ...(sessionToken === undefined ? {} : { sessionToken }),
          },
        }),
  };
}
