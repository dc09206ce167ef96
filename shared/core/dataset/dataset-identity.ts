/**
 * What identifies a dataset's contents without reading them, for the checks that a run reads the bytes
 * its record names (verify-dataset.ts). A file: size, mtime, ctime and inode (ctime because no one can set
 * it back: a rewrite that restores size and mtime still moves ctime; no device number, as the same file
 * over NFS has another one on each machine). An object in a bucket: size, ETag and Last-Modified (a PUT
 * of other bytes changes the ETag; one of the same bytes still moves Last-Modified).
 */
import type fs from 'node:fs';

export interface FileIdentity {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

export interface ObjectIdentity {
  size: number;
  etag: string;
  modifiedMs: number;
}

export type DatasetIdentity = FileIdentity | ObjectIdentity;

const isObject = (id: DatasetIdentity): id is ObjectIdentity => 'etag' in id;

export function identityOf(st: fs.Stats): FileIdentity {
  return { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
}

export function sameIdentity(a: DatasetIdentity, b: DatasetIdentity): boolean {
  if (isObject(a) || isObject(b))
    return (
      isObject(a) && isObject(b) && a.size === b.size && a.etag === b.etag && a.modifiedMs === b.modifiedMs
    );
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Which fields of an identity differ, in words: "size 120 → 64, mtime …". */
export function identityChange(was: DatasetIdentity, now: DatasetIdentity): string {
  const parts: string[] = [];
  if (was.size !== now.size) parts.push(`size ${was.size} → ${now.size} bytes`);
  if (isObject(was) || isObject(now)) {
    if (!isObject(was) || !isObject(now)) return parts.concat('another kind of source').join(', ');
    if (was.etag !== now.etag) parts.push(`ETag ${was.etag} → ${now.etag} (replaced)`);
    if (was.modifiedMs !== now.modifiedMs)
      parts.push(`modified ${iso(was.modifiedMs)} → ${iso(now.modifiedMs)}`);
    return parts.join(', ');
  }
  if (was.ino !== now.ino) parts.push(`inode ${was.ino} → ${now.ino} (replaced)`);
  if (was.mtimeMs !== now.mtimeMs) parts.push(`modified ${iso(was.mtimeMs)} → ${iso(now.mtimeMs)}`);
  else if (was.ctimeMs !== now.ctimeMs) parts.push('status changed');
  return parts.join(', ');
}
