import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { STAGES, stageDefinition } from '../../shared/pipeline/stages/definitions';
import { ARTIFACTS } from '../../shared/pipeline/stages/context';
import { ModelFile } from '../../shared/pipeline/model/model-file';
import { SearchFile } from '../../shared/pipeline/stages/training/search-file';
import { runDir } from '../../shared/core/storage';

/** Every artifact a completed run leaves, in flow order. */
export const ALL_ARTIFACTS = STAGES.flatMap((s) => [...stageDefinition(s).artifacts]);

/**
 * An artifact's bytes as runs are compared across run ids and commits: model.json names the run and the
 * build that trained it (`lineage.runId`, `lineage.codeVersion`: the package's version and git commit), so
 * it is compared with those two fields removed, and a change that should not move the model's numbers
 * can be checked across its commit; search.json and metrics.json hold
 * each search candidate's measured `seconds`, compared without them. They must otherwise be
 * byte-identical (re-serialised exactly as writeJsonAtomic writes, so any other difference still shows).
 * Every other artifact is compared as it is.
 */
export function comparableBytes(name: string, bytes: Buffer): Buffer {
  if (name === ARTIFACTS.search || name === ARTIFACTS.metrics) {
    const file = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    const search = (name === ARTIFACTS.search ? file : file.search) as SearchFile | undefined;
    if (search) for (const c of search.candidates) c.seconds = 0;
    return Buffer.from(JSON.stringify(file, null, 2) + '\n', 'utf8');
  }
  if (name !== ARTIFACTS.model) return bytes;
  const model = JSON.parse(bytes.toString('utf8')) as Partial<ModelFile>;
  const {
    runId: _runId,
    codeVersion: _codeVersion,
    ...lineage
  } = model.lineage ?? ({} as Partial<ModelFile['lineage']>);
  const text = JSON.stringify({ ...model, lineage }, null, 2) + '\n';
  return Buffer.from(text, 'utf8');
}

/** SHA-256 of each artifact of a completed run, model.json without its run id and code version (comparableBytes). */
export function artifactHashes(storageDir: string, runId: string): Record<string, string> {
  const dir = runDir(storageDir, runId);
  return Object.fromEntries(
    ALL_ARTIFACTS.map((a) => [
      a,
      createHash('sha256')
        .update(comparableBytes(a, fs.readFileSync(path.join(dir, a))))
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
