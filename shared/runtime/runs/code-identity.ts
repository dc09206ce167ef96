import fs from 'node:fs';
import path from 'node:path';
import { isBuiltin } from 'node:module';
import { createHash } from 'node:crypto';
import { STAGES, StageName, stageDefinition } from '../../pipeline/stages/definitions';

/**
 * A stage's code identity: a hash of the compiled files its code can run, so that a stage's cache key
 * changes whenever its code does — no number to remember to raise.
 *
 * The rule, over the compiled CommonJS tree (dist/):
 *  - start from the stage's entry modules (`code` in its definition, shared/pipeline/stages/<stage>/
 *    definition.ts: its function and the worker processors, inline and sandboxed, that run it and its
 *    child jobs);
 *  - follow every `require('<literal>')` whose specifier is relative ('./', '../'), resolved as Node does
 *    (the file, `.js`, `.json`, or the folder's `index.js`): each file reached enters the hash by its
 *    path relative to dist/ and its bytes;
 *  - a bare specifier (`require('natural/…')`, `require.resolve('natural/…')`) is a package: its name and
 *    installed version (node_modules/<name>/package.json) enter the hash, its files do not; Node's
 *    built-in modules are left out;
 *  - a `require` whose argument is not a string literal cannot be followed: test/runs/code-identity.test.ts
 *    fails on one in any stage's closure.
 *  - the runtime the files run on (RUNTIME: Node's version, whose V8 and ICU compute Math.exp or
 *    toLowerCase, and the processor architecture its C++ was compiled for) enters the hash too: two
 *    machines on two Node versions may write other bits from the same files.
 * Files every stage imports (config, logger, storage) are in every closure: a change there reruns all
 * stages, the safe side. So are, for the stages that fan out, the stage definitions (their processors
 * reach them through the flow's job ids): a change to any definition reruns from stage 1.
 */

/** The compiled tree this module belongs to: dist/ (this file is dist/shared/runtime/runs/code-identity.js). */
export const DIST_ROOT = path.resolve(__dirname, '..', '..', '..');

/** What a stage's code consists of: its files (relative to the root) and packages, sorted. */
export interface ModuleClosure {
  files: string[];
  /** "<name>@<version>" of every package a file requires */
  packages: string[];
  /** "<file>: <call>" for every require whose argument is not a string literal */
  unfollowed: string[];
}

const REQUIRE = /\brequire(\.resolve)?\s*\(\s*(?:(['"])((?:(?!\2)[^\\\n])+)\2\s*\)|([^)'"]))/g;

/** The files and packages reachable from `entries` (paths relative to `root`) by the rule above. */
export function moduleClosure(root: string, entries: readonly string[]): ModuleClosure {
  const files = new Set<string>();
  const packages = new Set<string>();
  const unfollowed: string[] = [];
  const pending = entries.map((e) => path.resolve(root, e));
  for (const entry of pending) {
    if (!isFile(entry)) throw new Error(`stage code entry ${entry} does not exist: is the build complete?`);
  }
  while (pending.length > 0) {
    const file = pending.pop()!;
    const rel = path.relative(root, file).split(path.sep).join('/');
    if (files.has(rel)) continue;
    files.add(rel);
    if (!file.endsWith('.js')) continue;
    const source = fs.readFileSync(file, 'utf8');
    for (const m of source.matchAll(REQUIRE)) {
      const specifier = m[3];
      if (specifier === undefined) {
        unfollowed.push(`${rel}: ${m[0]}`);
      } else if (specifier.startsWith('./') || specifier.startsWith('../')) {
        const target = resolveLocal(path.dirname(file), specifier);
        if (!target) throw new Error(`${rel}: cannot resolve require('${specifier}')`);
        pending.push(target);
      } else if (!isBuiltin(specifier)) {
        packages.add(packageVersion(path.dirname(file), specifier));
      }
    }
  }
  return { files: [...files].sort(), packages: [...packages].sort(), unfollowed };
}

function isFile(p: string): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
}

function resolveLocal(dir: string, specifier: string): string | undefined {
  const base = path.resolve(dir, specifier);
  return [base, `${base}.js`, `${base}.json`, path.join(base, 'index.js')].find(isFile);
}

/** "<name>@<version>" of the package a bare specifier names, as installed where `dir` would find it. */
function packageVersion(dir: string, specifier: string): string {
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  for (let d = dir; ; d = path.dirname(d)) {
    const manifest = path.join(d, 'node_modules', name, 'package.json');
    if (isFile(manifest)) {
      const { version } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version?: string };
      return `${name}@${version ?? 'unversioned'}`;
    }
    if (path.dirname(d) === d) return `${name}@not-installed`;
  }
}

/** The runtime this process runs stage code on: part of every code identity (closureHash). */
export const RUNTIME = `node ${process.versions.node} ${process.arch}`;

/** The hash of a closure: every file's path and bytes, every package's version, and the runtime. */
export function closureHash(root: string, closure: ModuleClosure, runtime = RUNTIME): string {
  const hash = createHash('sha256');
  hash.update(`runtime ${runtime}\n`);
  for (const rel of closure.files) {
    const digest = createHash('sha256')
      .update(fs.readFileSync(path.join(root, rel)))
      .digest('hex');
    hash.update(`file ${rel} ${digest}\n`);
  }
  for (const p of closure.packages) hash.update(`package ${p}\n`);
  return hash.digest('hex');
}

/** A stage's code identity in the compiled tree at `root`. */
function stageIdentityIn(root: string, stage: StageName): string {
  return closureHash(root, moduleClosure(root, stageDefinition(stage).code));
}

/** Each stage's code identity in the compiled tree at `root`. */
export function computeStageCodeIdentities(root: string): Record<StageName, string> {
  return Object.fromEntries(STAGES.map((stage) => [stage, stageIdentityIn(root, stage)])) as Record<
    StageName,
    string
  >;
}

/**
 * This process's identities, each computed on first use (a few dozen small files) and kept, since a
 * process runs the code it loaded at start whatever the files on disk become.
 */
const identityOf = new Map<StageName, string>();

/** One stage's code identity in this process: a sandbox that serves one stage computes only its own. */
export function stageCodeIdentity(stage: StageName): string {
  let id = identityOf.get(stage);
  if (id === undefined) {
    id = stageIdentityIn(DIST_ROOT, stage);
    identityOf.set(stage, id);
  }
  return id;
}

let identities: Record<StageName, string> | undefined;

/** The code identities of this process's stages (stageCodeIdentity of each), one record kept. */
export function stageCodeIdentities(): Record<StageName, string> {
  return (identities ??= Object.fromEntries(
    STAGES.map((stage) => [stage, stageCodeIdentity(stage)]),
  ) as Record<StageName, string>);
}

/**
 * The compiled entry of batch classification's chunk jobs: what turns a ticket into a prediction row
 * (the model loader, the text function, the vectorizer), the code a classification's parts must share.
 */
export const CLASSIFICATION_CODE = ['workers/processors/sandboxed/classification-chunk.js'] as const;

let classificationIdentity: string | undefined;

/** Batch classification's code identity in this process (computed once, as a stage's). */
export function classificationCodeIdentity(): string {
  return (classificationIdentity ??= closureHash(DIST_ROOT, moduleClosure(DIST_ROOT, CLASSIFICATION_CODE)));
}
