// Packaging as its own layer: the exports map resolves per condition, the browser/worker graph
// imports no Node built-ins, the wasm file is exported on its own subpath, versions are recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url)));

test('package: self-import under the node condition loads and inits', async () => {
  const nitro = await import('@gonitro/nitro');
  await nitro.init();
  assert.equal(typeof nitro.codec.encode, 'function');
  assert.match(nitro.versions.emscripten, /^\d+\.\d+\.\d+/);
  assert.match(nitro.versions.libsodium, /^\d+\.\d+\.\d+/);
});

test('package: exports list types first and every target exists', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const main = pkg.exports['.'];
  assert.equal(Object.keys(main)[0], 'types');
  for (const cond of ['node', 'browser', 'worker', 'default', 'types']) assert.ok(existsSync(join(root, main[cond])), cond);
  assert.ok(existsSync(join(root, pkg.exports['./nitro.wasm'])));
  assert.ok(existsSync(join(root, pkg.exports['./slim'].default)));
});

test('package: the browser entry graph uses no Node built-ins', () => {
  const root = fileURLToPath(new URL('../js/dist/', import.meta.url));
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    assert.doesNotMatch(src, /from ['"]node:|require\(['"](fs|path|crypto)['"]\)|import\(['"]node:/, file);
    for (const [, spec] of src.matchAll(/(?:from|import\()\s*['"](\.[^'"]+)['"]/g)) {
      const next = join(dirname(file), spec);
      if (existsSync(next) && next.endsWith('.js')) visit(next);
    }
  };
  visit(join(root, 'browser.js'));
  assert.ok(seen.size >= 3);
});
