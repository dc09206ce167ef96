/**
 * Artifacts (runs/, classifications/, cache/) are read and written through the ArtifactStore only, so that
 * every backend sees every artifact. The rule this test keeps, over the application code (shared/, workers/,
 * producers/, board/; test/ and tools/ inspect storage folders on purpose):
 *
 * 1. Only the files in FS_ALLOWED import `fs`, `fs/promises` (with or without `node:`), by import, export,
 *    require or import(): each entry says why its file system use is not artifact I/O (the local backend
 *    itself, the input data root, files shipped with the code, the local Redis folder, a user's --out).
 *    A new importer fails here by name; an entry whose file no longer imports fs fails too (a stale
 *    entry would let its file start doing artifact I/O unnoticed).
 * 2. The local backend's path-taking write helpers in shared/core/storage.ts are imported by the local
 *    backend only: they are fs under another name.
 *
 * Files are parsed with the TypeScript compiler, not searched by pattern: comments and strings do not count,
 * and no spelling of an import slips through.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as ts from 'typescript';
import { PROJECT_ROOT } from '../../shared/core/config/config';

const APP_FOLDERS = ['shared', 'workers', 'producers', 'board'];
const SOURCE = /\.(ts|tsx|js|mjs|cjs)$/;
const FS_MODULES = new Set(['fs', 'node:fs', 'fs/promises', 'node:fs/promises']);

/** Files of the application that may use the file system, each with why that is not artifact I/O. */
const FS_ALLOWED: Readonly<Record<string, string>> = {
  'shared/core/store/file-store.ts': 'the local backend of the artifact store',
  'shared/core/storage.ts':
    "the local backend's atomic writes (temporary name, rename), used by file-store.ts",
  'shared/core/piecewise-writes.ts':
    "the local backend's writes in pieces the kernel takes fast, used by storage.ts and file-store.ts",
  'shared/core/dataset/data-root.ts':
    'resolves dataset names inside the input data root (TICKETFLOW_DATA_DIR)',
  'shared/core/dataset/file-datasets.ts':
    'datasets as files in the input data root (TICKETFLOW_DATA_DIR): names, checks, hashing',
  'shared/core/dataset/hash-cache.ts': "caches input datasets' SHA-256 by their file's identity",
  'shared/core/dataset/open-dataset.ts': 'opens input datasets (regular-file checks, ranged reads)',
  'shared/core/dataset/write-dataset.ts':
    'writes exported datasets (reviewed tickets) into the input data root, where runs read them',
  'shared/core/nlp/brill-tagger.ts': "reads the tagger's lexicon and rules, shipped with the code",
  'shared/pipeline/warm-up.ts':
    'reads the bundled sample and runs stages on it in a temporary folder of its own, removed after',
  'shared/pipeline/model/load-model.ts':
    "reads model.json at the path the store's localPath gives: loadRunModel's off-thread load on the local backend only",
  'shared/runtime/redis/durable-redis.ts':
    "the local redis-server's folder and pidfile (TICKETFLOW_REDIS_DIR)",
  'shared/runtime/redis/local-redis.ts': "the local redis-server's folder (TICKETFLOW_REDIS_DIR)",
  'shared/runtime/runs/code-identity.ts':
    "hashes the stages' source files for the stage cache's code identity",
  'shared/runtime/runs/code-version.ts': 'reads package.json and .git/HEAD for the code version',
  'producers/api/ui/routes.ts': 'serves the built page script shipped with the code',
  'producers/cli/classify-command.ts':
    'writes the --out file the user names (predictions read from the store)',
  'producers/cli/session.ts': 'checks the --data file the user names (an input dataset)',
};

/** Exports of shared/core/storage.ts that write or read a file by path, and who may import them. */
const STORAGE_MODULE = 'shared/core/storage.ts';
const PATH_IO_EXPORTS = new Set(['writeFileAtomic', 'writeJsonAtomic', 'readJson', 'openAtomicWriter']);
const PATH_IO_ALLOWED = new Set(['shared/core/store/file-store.ts']);

/** Every source file under the application folders, as a "/"-separated path from the project root. */
function appFiles(): string[] {
  const out: string[] = [];
  for (const folder of APP_FOLDERS) {
    for (const entry of fs.readdirSync(path.join(PROJECT_ROOT, folder), {
      recursive: true,
      withFileTypes: true,
    })) {
      if (!entry.isFile() || !SOURCE.test(entry.name) || entry.name.endsWith('.d.ts')) continue;
      out.push(
        path.relative(PROJECT_ROOT, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'),
      );
    }
  }
  return out.sort();
}

interface ModuleUse {
  module: string;
  /** the names imported by `import { a, b } from`, when that is how it is imported */
  names: string[];
  line: number;
}

/** Every module `file` imports, exports from, requires or import()s, with a string literal. */
function moduleUses(file: string): ModuleUse[] {
  const text = fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const uses: ModuleUse[] = [];
  const add = (spec: ts.Node | undefined, names: string[] = []) => {
    if (spec && (ts.isStringLiteral(spec) || ts.isNoSubstitutionTemplateLiteral(spec)))
      uses.push({
        module: spec.text,
        names,
        line: source.getLineAndCharacterOfPosition(spec.getStart()).line + 1,
      });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      // A type-only import does no I/O.
      if (node.importClause?.isTypeOnly) return;
      const bindings = node.importClause?.namedBindings;
      const names =
        bindings && ts.isNamedImports(bindings)
          ? bindings.elements.map((e) => (e.propertyName ?? e.name).text)
          : [];
      add(node.moduleSpecifier, names);
    } else if (ts.isExportDeclaration(node)) {
      const clause = node.exportClause;
      add(
        node.moduleSpecifier,
        clause && ts.isNamedExports(clause)
          ? clause.elements.map((e) => (e.propertyName ?? e.name).text)
          : [],
      );
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression);
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
    ) {
      add(node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return uses;
}

/** The project file a relative import of `file` names (without extension), or null for packages. */
function resolveLocal(file: string, module: string): string | null {
  if (!module.startsWith('.')) return null;
  return path.posix.join(path.posix.dirname(file), module);
}

describe('artifact I/O goes through the artifact store, not fs', () => {
  const files = appFiles();

  it('only the files listed, each for a stated reason, import fs', () => {
    assert.ok(files.length > 100, `found ${files.length} application files: the walk is broken`);
    const importers = new Map<string, string>();
    for (const file of files)
      for (const use of moduleUses(file))
        if (FS_MODULES.has(use.module)) importers.set(file, `${file}:${use.line} imports ${use.module}`);
    const unlisted = [...importers.keys()].filter((f) => !(f in FS_ALLOWED)).map((f) => importers.get(f)!);
    assert.deepEqual(
      unlisted,
      [],
      'read and write artifacts through the ArtifactStore (ctx.store in stages, processStore() in workers, ' +
        'RunsContext.artifacts in run control); a file system use that is not artifact I/O goes into FS_ALLOWED ' +
        'with its reason',
    );
    const stale = Object.keys(FS_ALLOWED).filter((f) => !importers.has(f));
    assert.deepEqual(stale, [], 'these no longer import fs: remove them from FS_ALLOWED');
  });

  it("only the local backend imports storage.ts's path-taking file helpers", () => {
    const storage = STORAGE_MODULE.replace(/\.ts$/, '');
    const offenders: string[] = [];
    for (const file of files) {
      if (PATH_IO_ALLOWED.has(file)) continue;
      for (const use of moduleUses(file)) {
        if (resolveLocal(file, use.module) !== storage) continue;
        const named = use.names.filter((n) => PATH_IO_EXPORTS.has(n));
        // `import * as` or require(): every export is within reach.
        const whole = use.names.length === 0;
        if (named.length > 0 || whole)
          offenders.push(
            `${file}:${use.line} imports ${named.length > 0 ? named.join(', ') : 'the whole module'}`,
          );
      }
    }
    assert.deepEqual(offenders, [], 'artifacts are written through the ArtifactStore, not by path');
  });
});
