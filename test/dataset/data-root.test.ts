/**
 * The one data-root check the API, the CLI and workers share: the same name gets the same verdict in
 * each, whether it is relative, absolute through a symlinked root, escapes by "..", or links out.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { placeInDataRoot } from '../../shared/core/dataset/data-root';
import { tempDir } from '../helpers/env';

const dir = tempDir('data-root');
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const real = path.join(dir, 'real-root');
const linked = path.join(dir, 'linked-root');
fs.mkdirSync(path.join(real, 'sub'), { recursive: true });
fs.writeFileSync(path.join(real, 'sub', 'a.json'), '[]');
fs.writeFileSync(path.join(dir, 'secret.json'), '[]');
fs.symlinkSync(real, linked);
fs.symlinkSync(path.join(dir, 'secret.json'), path.join(real, 'out.json'));
fs.symlinkSync(path.join(real, 'sub', 'a.json'), path.join(real, 'in.json'));

describe('placeInDataRoot', () => {
  it('a relative name, an absolute one through the configured (symlinked) root, and a link inside: inside', async () => {
    const realRoot = fs.realpathSync(real);
    for (const name of ['sub/a.json', path.join(linked, 'sub', 'a.json'), 'in.json', 'sub/../sub/a.json']) {
      const place = await placeInDataRoot(linked, name);
      assert.equal(place.kind, 'inside', name);
      if (place.kind === 'inside') {
        assert.equal(place.realRoot, realRoot);
        assert.equal(place.relative, path.join('sub', 'a.json'), name);
      }
    }
  });

  it('"..", an absolute path elsewhere, a link out of the root and a sibling with the root as prefix: outside', async () => {
    fs.writeFileSync(`${real}-evil.json`, '[]');
    for (const name of ['../secret.json', path.join(dir, 'secret.json'), 'out.json', `${real}-evil.json`]) {
      assert.equal((await placeInDataRoot(linked, name)).kind, 'outside', name);
    }
  });

  it('a missing file inside the root is unresolved (with its errno); a missing root is no-root', async () => {
    const missing = await placeInDataRoot(real, 'nope.json');
    assert.equal(missing.kind, 'unresolved');
    if (missing.kind === 'unresolved') assert.equal(missing.cause.code, 'ENOENT');
    assert.equal((await placeInDataRoot(path.join(dir, 'no-such-root'), 'a.json')).kind, 'no-root');
  });
});
