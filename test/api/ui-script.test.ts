/**
 * The `/ui` page's script is compiled from TypeScript (producers/api/ui/browser, tsconfig.browser.json) and
 * read from dist/ when the API starts: served as it was compiled, runnable as a classic script, and a build
 * without it stops the API with a message naming the file instead of a page that silently does nothing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { LIFECYCLE_SCRIPT_FILE, UI_SCRIPT_FILE, uiPageRouter } from '../../producers/api/ui/routes';
import { tempDir } from '../helpers/env';

describe('the /ui page script', () => {
  it('is served as compiled, as one classic script that loads nothing', async () => {
    const compiled = fs.readFileSync(UI_SCRIPT_FILE, 'utf8');
    const server = express().use(uiPageRouter()).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/ui/app.js`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/javascript/);
      assert.equal(await res.text(), compiled);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    // A module's output (import/export, or CommonJS's exports and require) would not run in the page.
    assert.doesNotThrow(
      () => new vm.Script(compiled, { filename: UI_SCRIPT_FILE }),
      'parses as a classic script',
    );
    assert.doesNotMatch(compiled, /\bexports\b|\brequire\(/);
  });

  it('serves the lifecycle views as compiled, a classic script whose one global the page script calls', async () => {
    const compiled = fs.readFileSync(LIFECYCLE_SCRIPT_FILE, 'utf8');
    const server = express().use(uiPageRouter()).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/ui/lifecycle.js`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/javascript/);
      assert.equal(await res.text(), compiled);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const context = vm.createContext({});
    new vm.Script(compiled, { filename: LIFECYCLE_SCRIPT_FILE }).runInContext(context);
    assert.equal(typeof context.lifecycleViews, 'function', 'a global function for runs-page.js');
    assert.doesNotMatch(compiled, /\bexports\b|\brequire\(/);
  });

  it('stops the API at start-up, naming the file and the build, when the compiled script is missing', () => {
    const dir = tempDir('ui-script');
    try {
      const missing = path.join(dir, 'runs-page.js');
      assert.throws(
        () => uiPageRouter(missing),
        (err: Error) => err.message.includes(missing) && err.message.includes('npm run build'),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
