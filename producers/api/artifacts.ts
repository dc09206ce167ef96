/**
 * Artifacts over HTTP, read from the artifact store (so they are there with an S3 bucket as with a folder):
 * `GET /runs/:id/artifacts` and `GET /classifications/:id/artifacts` list an owner's objects with their
 * size, SHA-256 and the step that wrote them; `GET …/artifacts/<name>` streams one, with `Range: bytes=`
 * support. A name is served only when it is in the owner's own listing: nothing in it is ever joined
 * into a key by itself, so no spelling of "..", "/" or "%2F" reaches another object.
 */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import express, { NextFunction, Request, Response, Router } from 'express';
import { ArtifactNotFound, ArtifactStore, ByteRange } from '../../shared/core/store/artifact-store';
import { RUN_ID_PATTERN, RUN_RECORD_FILE } from '../../shared/core/storage';
import { STAGE_DEFINITIONS } from '../../shared/pipeline/stages/definitions';
import { ARTIFACTS } from '../../shared/pipeline/stages/context';
import { CLASSIFICATION_FILES, isClassificationId } from '../../shared/runtime/classify/batch';
import { REPORT_FILE } from '../../shared/runtime/report/run-report';
import { redisDeadline, RedisSide } from './redis-deadline';

/** One artifact as the listing shows it. */
export interface ArtifactListing {
  /** the key relative to its owner's folder (`model.json`, `search/cv-3-0.json`) */
  name: string;
  size: number;
  sha256: string;
  /** the stage or step that wrote it; null when no definition names it */
  stage: string | null;
}

/** What owns artifacts: its folder in the store and who wrote which name. */
interface Owner {
  /** the route segment and the store folder: `runs`, `classifications` */
  readonly folder: string;
  readonly noun: string;
  readonly validId: (id: string) => boolean;
  readonly writerOf: (name: string) => string | null;
}

/** The run's own files: the record, the report and the run's log file (runs/run-logs.ts). */
const RUN_OWN_FILES: readonly string[] = [RUN_RECORD_FILE, REPORT_FILE, 'logs.jsonl'];

/** Each file a stage definition lists, by the stage that writes it. */
const STAGE_OF_FILE = new Map<string, string>(
  STAGE_DEFINITIONS.flatMap((d) => d.artifacts.map((a) => [a, d.name] as const)),
);

/** Working folders that are no definition's artifact but that a stage fills while it runs. */
const STAGE_OF_FOLDER: Readonly<Record<string, string>> = {
  [ARTIFACTS.chunksDir]: 'text-processing',
  [ARTIFACTS.searchDir]: 'training',
};

const RUN_OWNER: Owner = {
  folder: 'runs',
  noun: 'run',
  validId: (id) => RUN_ID_PATTERN.test(id),
  writerOf: (name) => {
    if (RUN_OWN_FILES.includes(name)) return 'run';
    const slash = name.indexOf('/');
    if (slash < 0) return STAGE_OF_FILE.get(name) ?? null;
    return STAGE_OF_FOLDER[name.slice(0, slash)] ?? null;
  },
};

/** A classification's files by the step that writes them (batch.ts describes them). */
const CLASSIFICATION_WRITERS: Readonly<Record<string, string>> = {
  [CLASSIFICATION_FILES.record]: 'submit',
  [CLASSIFICATION_FILES.predictions]: 'merge',
  [CLASSIFICATION_FILES.summary]: 'merge',
  [CLASSIFICATION_FILES.failure]: 'status',
};

const CLASSIFICATION_OWNER: Owner = {
  folder: 'classifications',
  noun: 'classification',
  validId: isClassificationId,
  writerOf: (name) =>
    name.startsWith(`${CLASSIFICATION_FILES.partsDir}/`) ? 'chunk' : (CLASSIFICATION_WRITERS[name] ?? null),
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  json: 'application/json; charset=utf-8',
  jsonl: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  html: 'text/html; charset=utf-8',
};

/** The Content-Type for an artifact's name: by its extension, else bytes. */
export function contentTypeOf(name: string): string {
  const dot = name.lastIndexOf('.');
  const ext = dot < 0 ? '' : name.slice(dot + 1).toLowerCase();
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}

/**
 * The byte range a `Range` header asks of an object of `size` bytes: a range, 'unsatisfiable', or
 * undefined to send the whole object (no header, another unit, several ranges or a malformed one, which
 * RFC 9110 lets a server ignore).
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    // bytes=-N: the last N bytes
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Number(m[2]);
  if (m[2] !== '' && end < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

/** Hashes kept per (key, content tag): a listing re-hashes only what changed. Bounded, oldest out first. */
const MAX_CACHED_HASHES = 10_000;

/** The SHA-256 of stored objects, streamed, remembered per key and content tag. */
class HashCache {
  private readonly hashes = new Map<string, Promise<string>>();

  constructor(private readonly store: ArtifactStore) {}

  async sha256(key: string): Promise<{ size: number; sha256: string } | undefined> {
    const stat = await this.store.stat(key);
    if (stat === undefined) return undefined;
    const id = `${key}\n${stat.tag}`;
    let hash = this.hashes.get(id);
    if (hash === undefined) {
      hash = this.hashOf(key);
      this.hashes.set(id, hash);
      hash.catch(() => this.hashes.delete(id));
      while (this.hashes.size > MAX_CACHED_HASHES) this.hashes.delete(this.hashes.keys().next().value!);
    }
    return { size: stat.size, sha256: await hash };
  }

  private async hashOf(key: string): Promise<string> {
    const hash = createHash('sha256');
    await pipeline(await this.store.openRead(key), hash);
    return hash.digest('hex');
  }
}

const notFound = (res: Response, owner: Owner, id: string) =>
  res.status(404).json({ error: `no ${owner.noun} with id ${JSON.stringify(id)}` });

/** The owner's artifacts, sorted by name; an empty list when it has none (or is unknown). */
async function listArtifacts(
  store: ArtifactStore,
  hashes: HashCache,
  owner: Owner,
  id: string,
): Promise<ArtifactListing[]> {
  const prefix = `${owner.folder}/${id}/`;
  const entries = await store.list(prefix);
  const listed = await Promise.all(
    entries.map(async (e) => {
      const name = e.key.slice(prefix.length);
      // Gone between the listing and its hash (a merge removing parts/): not an artifact any more.
      const hashed = await hashes.sha256(e.key).catch((err: unknown) => {
        if (err instanceof ArtifactNotFound) return undefined;
        throw err;
      });
      return hashed && { name, size: hashed.size, sha256: hashed.sha256, stage: owner.writerOf(name) };
    }),
  );
  return listed.filter((a): a is ArtifactListing => a !== undefined);
}

type Handler = (req: Request, res: Response) => Promise<void>;

function handlers(store: ArtifactStore, hashes: HashCache, owner: Owner): { list: Handler; get: Handler } {
  return {
    async list(req, res) {
      const id = String(req.params.id);
      if (!owner.validId(id)) return void notFound(res, owner, id);
      const artifacts = await listArtifacts(store, hashes, owner, id);
      if (artifacts.length === 0) return void notFound(res, owner, id);
      res.set('Cache-Control', 'no-store').json({ id, artifacts });
    },
    async get(req, res) {
      const id = String(req.params.id);
      if (!owner.validId(id)) return void notFound(res, owner, id);
      // Express hands over the decoded path segments: one holding "/" was an encoded slash.
      const segments = req.params.name as unknown as string[];
      const name = segments.some((s) => s.includes('/')) ? null : segments.join('/');
      const prefix = `${owner.folder}/${id}/`;
      const listed = name === null ? [] : await store.list(prefix);
      const entry = listed.find((e) => e.key === prefix + name);
      if (entry === undefined) {
        res.status(404).json({ error: `${owner.noun} ${id} has no artifact ${JSON.stringify(name ?? '')}` });
        return;
      }
      const stat = await store.stat(entry.key);
      if (stat === undefined) {
        res.status(404).json({ error: `${owner.noun} ${id} has no artifact ${JSON.stringify(name)}` });
        return;
      }
      const range = parseRange(req.get('Range'), stat.size);
      res.set({
        'Accept-Ranges': 'bytes',
        'Cache-Control': 'no-cache',
        'Content-Type': contentTypeOf(entry.key),
        'Content-Disposition': `attachment; filename="${entry.key.slice(entry.key.lastIndexOf('/') + 1)}"`,
      });
      if (range === 'unsatisfiable') {
        res
          .status(416)
          .set('Content-Range', `bytes */${stat.size}`)
          .json({
            error: `the range ${req.get('Range')} is outside ${name} (${stat.size} bytes)`,
          });
        return;
      }
      const body = await store.openRead(entry.key, range);
      if (range === undefined) res.status(200).set('Content-Length', String(stat.size));
      else
        res
          .status(206)
          .set('Content-Range', `bytes ${range.start}-${range.end}/${stat.size}`)
          .set('Content-Length', String(range.end - range.start + 1));
      await pipeline(body, res);
    },
  };
}

/**
 * The artifact routes of runs and classifications, to be mounted behind the token guard. Like the other
 * data routes they answer 503 while Redis is down, so a client sees one API state.
 */
export function artifactsRouter(side: RedisSide, store: ArtifactStore): Router {
  const hashes = new HashCache(store);
  const router = express.Router();
  for (const owner of [RUN_OWNER, CLASSIFICATION_OWNER]) {
    const { list, get } = handlers(store, hashes, owner);
    const wrap =
      (h: Handler) =>
      (req: Request, res: Response, next: NextFunction): void =>
        void h(req, res).catch((err: unknown) => (res.headersSent ? res.destroy() : next(err)));
    router.get(`/${owner.folder}/:id/artifacts`, redisDeadline(side), wrap(list));
    router.get(`/${owner.folder}/:id/artifacts/*name`, redisDeadline(side), wrap(get));
  }
  return router;
}
