/**
 * Where a dataset name lies relative to a data root — the one check the API (before submitting), the CLI
 * (before handing a file to running workers) and workers (before opening) all make. Callers word the
 * outcome for their audience; the rules are here: a relative name resolves in the root's real path, an
 * absolute one must lie in the root (as given or as resolved), and the name's real path — symlinks
 * followed — must lie in the root's real path too.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';

/** `p` is `root` or below it (both absolute and normalised). */
export const insideDir = (root: string, p: string): boolean =>
  p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);

export type DataRootPlace =
  /** the root itself cannot be resolved (it does not exist, or is unreadable) */
  | { kind: 'no-root'; cause: unknown }
  /** the name, or what it links to, lies outside the root */
  | { kind: 'outside' }
  /** the name is inside the root but its real path cannot be resolved (`cause` says why) */
  | { kind: 'unresolved'; file: string; cause: NodeJS.ErrnoException }
  /** inside: `real` is the file's real path, `relative` its path from `realRoot` */
  | { kind: 'inside'; realRoot: string; file: string; real: string; relative: string };

export async function placeInDataRoot(root: string, name: string): Promise<DataRootPlace> {
  let realRoot: string;
  try {
    realRoot = await fsp.realpath(root);
  } catch (cause) {
    return { kind: 'no-root', cause };
  }
  const absolute = path.isAbsolute(name);
  const file = absolute ? path.normalize(name) : path.resolve(realRoot, name);
  // An absolute name may spell the root as configured (through a symlink) rather than as resolved.
  if (!insideDir(realRoot, file) && !(absolute && insideDir(path.resolve(root), file)))
    return { kind: 'outside' };
  let real: string;
  try {
    real = await fsp.realpath(file);
  } catch (cause) {
    return { kind: 'unresolved', file, cause: cause as NodeJS.ErrnoException };
  }
  if (!insideDir(realRoot, real)) return { kind: 'outside' };
  return { kind: 'inside', realRoot, file, real, relative: path.relative(realRoot, real) };
}
