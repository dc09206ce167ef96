import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { STAGES } from '../../shared/config/stages';
import { STAGE_ARTIFACTS } from '../../shared/runs/stage-cache';
import { runDir } from '../../shared/storage';

/** Every artifact a completed run leaves, in flow order. */
export const ALL_ARTIFACTS = STAGES.flatMap((s) => [...STAGE_ARTIFACTS[s]]);

export function artifactHashes(storageDir: string, runId: string): Record<string, string> {
  const dir = runDir(storageDir, runId);
  return Object.fromEntries(
    ALL_ARTIFACTS.map((a) => [
      a,
      createHash('sha256')
        .update(fs.readFileSync(path.join(dir, a)))
        .digest('hex'),
    ]),
  );
}

/** inode and mtime of the files present: a file left alone keeps both. */
export function fileIdentities(storageDir: string, runId: string): Record<string, string> {
  const dir = runDir(storageDir, runId);
  const out: Record<string, string> = {};
  for (const a of ALL_ARTIFACTS) {
    const p = path.join(dir, a);
    if (fs.existsSync(p)) {
      const st = fs.statSync(p);
      out[a] = `${st.ino}:${st.mtimeMs}`;
    }
  }
  return out;
}
