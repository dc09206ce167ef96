import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../core/config/config';

/** The code that made a run: the package version and, in a git checkout, the commit. */
export const CODE_VERSION = ((): string => {
  const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  return commit() ? `${pkg.version}+${commit()}` : pkg.version;
})();

function commit(): string | null {
  try {
    const head = fs.readFileSync(path.join(PROJECT_ROOT, '.git', 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head.slice(0, 12);
    const ref = head.slice(5);
    const loose = path.join(PROJECT_ROOT, '.git', ref);
    if (fs.existsSync(loose)) return fs.readFileSync(loose, 'utf8').trim().slice(0, 12);
    const packed = fs.readFileSync(path.join(PROJECT_ROOT, '.git', 'packed-refs'), 'utf8');
    const line = packed.split('\n').find((l) => l.endsWith(` ${ref}`));
    return line ? line.slice(0, 12) : null;
  } catch {
    return null;
  }
}
