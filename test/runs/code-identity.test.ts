import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../shared/core/config/config';
import { STAGES, stageDefinition } from '../../shared/pipeline/stages/definitions';
import {
  closureHash,
  computeStageCodeIdentities,
  DIST_ROOT,
  moduleClosure,
  RUNTIME,
  stageCodeIdentities,
} from '../../shared/runtime/runs/code-identity';
import { tempDir } from '../helpers/env';

function write(root: string, rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), text);
}

describe('stage code identity: the require closure of compiled files', () => {
  let tree: string;
  before(() => {
    tree = tempDir('closure');
    write(tree, 'stages/a.js', `const b = require("./b");\nconst nn = require('natural/lib/x');\n`);
    write(tree, 'stages/b.js', `require("../util");\nconst fs = require("node:fs");\nrequire('path');\n`);
    write(tree, 'util/index.js', `exports.x = require("./data.json");\n`);
    write(tree, 'util/data.json', `{"x": 1}`);
    write(tree, 'stages/other.js', `require("../util");\n`);
    write(tree, 'node_modules/natural/package.json', `{"name": "natural", "version": "8.1.1"}`);
  });
  after(() => fs.rmSync(tree, { recursive: true, force: true }));
  const identity = (entry: string) => closureHash(tree, moduleClosure(tree, [entry]));

  it('follows relative requires (file, .js, folder index, .json) and names packages by version', () => {
    assert.deepEqual(moduleClosure(tree, ['stages/a.js']), {
      files: ['stages/a.js', 'stages/b.js', 'util/data.json', 'util/index.js'],
      packages: ['natural@8.1.1'],
      unfollowed: [],
    });
  });

  it('changes when a file the entry imports changes, not when an unrelated entry does', () => {
    const before = identity('stages/a.js');
    write(tree, 'stages/other.js', `require("../util");\nconsole.log('changed');\n`);
    assert.equal(identity('stages/a.js'), before, 'a file outside the closure changes nothing');
    write(tree, 'util/data.json', `{"x": 2}`);
    const changed = identity('stages/a.js');
    assert.notEqual(changed, before, 'a transitively imported file changes the identity');
    write(tree, 'node_modules/natural/package.json', `{"name": "natural", "version": "8.2.0"}`);
    assert.notEqual(identity('stages/a.js'), changed, "an installed package's version changes the identity");
  });

  it('changes with the runtime the code runs on', () => {
    const closure = moduleClosure(tree, ['stages/a.js']);
    assert.equal(closureHash(tree, closure), closureHash(tree, closure, RUNTIME));
    assert.match(RUNTIME, new RegExp(`^node ${process.versions.node} ${process.arch}$`));
    assert.notEqual(
      closureHash(tree, closure, 'node 22.0.0 x64'),
      closureHash(tree, closure, 'node 20.20.2 x64'),
    );
    assert.notEqual(
      closureHash(tree, closure, 'node 20.20.2 arm64'),
      closureHash(tree, closure, 'node 20.20.2 x64'),
    );
  });

  it('reports requires it cannot follow and fails on a missing file', () => {
    write(tree, 'dynamic.js', `const name = "./b";\nrequire(name);\n`);
    assert.deepEqual(moduleClosure(tree, ['dynamic.js']).unfollowed, ['dynamic.js: require(n']);
    write(tree, 'broken.js', `require("./nope");\n`);
    assert.throws(
      () => moduleClosure(tree, ['broken.js']),
      /broken\.js: cannot resolve require\('\.\/nope'\)/,
    );
    assert.throws(() => moduleClosure(tree, ['absent.js']), /absent\.js does not exist/);
  });
});

describe("the built stages' code identities", () => {
  it('follow every require of every stage and include the version of natural the tagger reads', () => {
    const natural = (
      JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'node_modules/natural/package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
    for (const stage of STAGES) {
      const closure = moduleClosure(DIST_ROOT, stageDefinition(stage).code);
      assert.deepEqual(closure.unfollowed, [], `${stage}: every require has a literal argument`);
      assert.ok(closure.files.includes(stageDefinition(stage).code[0]!), stage);
    }
    for (const stage of ['text-processing', 'transform-split'] as const) {
      assert.ok(
        moduleClosure(DIST_ROOT, stageDefinition(stage).code).packages.includes(`natural@${natural}`),
        stage,
      );
    }
    assert.equal(stageCodeIdentities(), stageCodeIdentities(), 'computed once per process');
    assert.deepEqual(stageCodeIdentities(), computeStageCodeIdentities(DIST_ROOT));
  });

  it("a change to one stage's compiled file changes that stage's identity only", () => {
    const copy = tempDir('dist-copy');
    try {
      for (const part of ['shared', 'workers']) {
        fs.cpSync(path.join(DIST_ROOT, part), path.join(copy, part), { recursive: true });
      }
      fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
      const original = computeStageCodeIdentities(copy);
      assert.deepEqual(
        original,
        computeStageCodeIdentities(DIST_ROOT),
        'the identity does not depend on where',
      );
      const changed = (file: string) => {
        fs.appendFileSync(path.join(copy, file), '\n// changed\n');
        const now = computeStageCodeIdentities(copy);
        return STAGES.filter((s) => now[s] !== original[s]);
      };
      assert.deepEqual(changed('shared/pipeline/stages/transform-split/transform-split.js'), [
        'transform-split',
      ]);
      fs.cpSync(path.join(DIST_ROOT, 'shared'), path.join(copy, 'shared'), { recursive: true });
      assert.deepEqual(changed('shared/pipeline/stages/text-processing/merge-chunks.js'), [
        'text-processing',
      ]);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });
});
