import fs from 'node:fs';
import path from 'node:path';

/*
 * s3rver answers NotImplemented to ListMultipartUploads and MethodNotAllowed to AbortMultipartUpload, which
 * S3, MinIO and Ceph all serve and the store relies on to clean up uploads cut short. This middleware
 * serves both, signed requests only (through s3rver's own authentication), over s3rver's on-disk uploads
 * folder: `<bucket>/._S3rver_uploads/<uploadId>/` holding `key`, `metadata` and the parts.
 */

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  params: Record<string, string>;
  status: number;
  body: unknown;
  store: { getResourcePath(bucket: string, key: string | undefined, resource: string): string };
}
type Next = () => Promise<unknown>;
type Middleware = (ctx: KoaContext, next: Next) => Promise<unknown>;

const authentication = (require('s3rver/lib/middleware/authentication') as () => Middleware)();
const S3Error = require('s3rver/lib/models/error') as new (code: string, message?: string) => Error;

export const multipartUploadsMiddleware: Middleware = async (ctx, next) => {
  const match = /^\/([^/]+)(?:\/(.+))?\/?$/.exec(ctx.path);
  const bucket = match?.[1];
  const key = match?.[2] === undefined ? undefined : decodeURIComponent(match[2]);
  if (bucket !== undefined && key === undefined && ctx.method === 'GET' && 'uploads' in ctx.query) {
    ctx.params = { bucket };
    return authentication(ctx, async () => {
      const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
      const uploads = listUploads(uploadsDir(ctx, bucket)).filter((u) => u.Key.startsWith(prefix));
      ctx.body = {
        ListMultipartUploadsResult: {
          Bucket: bucket,
          Prefix: prefix,
          MaxUploads: 1000,
          IsTruncated: false,
          ...(uploads.length === 0 ? {} : { Upload: uploads }),
        },
      };
    });
  }
  if (bucket !== undefined && key !== undefined && ctx.method === 'DELETE' && 'uploadId' in ctx.query) {
    ctx.params = { bucket, key };
    return authentication(ctx, async () => {
      const id = String(ctx.query.uploadId);
      const dir = path.join(uploadsDir(ctx, bucket), id);
      if (
        !/^[0-9a-f]+$/.test(id) ||
        !fs.existsSync(dir) ||
        fs.readFileSync(path.join(dir, 'key'), 'utf8') !== key
      )
        throw new S3Error('NoSuchUpload', 'The specified upload does not exist.');
      fs.rmSync(dir, { recursive: true, force: true });
      ctx.status = 204;
    });
  }
  return next();
};

function uploadsDir(ctx: KoaContext, bucket: string): string {
  return ctx.store.getResourcePath(bucket, undefined, 'uploads');
}

function listUploads(dir: string): { Key: string; UploadId: string; Initiated: string }[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((id) => fs.existsSync(path.join(dir, id, 'key')))
    .map((id) => ({
      Key: fs.readFileSync(path.join(dir, id, 'key'), 'utf8'),
      UploadId: id,
      Initiated: fs.statSync(path.join(dir, id, 'key')).mtime.toISOString(),
    }))
    .sort((a, b) => (a.Key === b.Key ? a.UploadId.localeCompare(b.UploadId) : a.Key < b.Key ? -1 : 1));
}

/** Installs the middleware just before s3rver's router (its last middleware). */
export function serveMultipartUploads(app: { middleware: unknown[] }): void {
  app.middleware.splice(app.middleware.length - 1, 0, multipartUploadsMiddleware);
}
