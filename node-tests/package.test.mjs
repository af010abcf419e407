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

const root = fileURLToPath(new URL('..', import.meta.url));
const dts = (file) => readFileSync(join(root, 'js/dist', file), 'utf8');

test('package: exports list types first in every condition and every target exists', () => {
  // No top-level `types` under '.': TypeScript would take it before `node` or `browser`.
  const main = pkg.exports['.'];
  assert.deepEqual(Object.keys(main), ['node', 'browser', 'worker', 'workerd', 'default']);
  for (const cond of ['node', 'browser', 'worker', 'workerd', 'default']) {
    assert.equal(Object.keys(main[cond])[0], 'types', cond);
    for (const target of Object.values(main[cond])) assert.ok(existsSync(join(root, target)), `${cond}: ${target}`);
  }
  for (const sub of ['./nitro.wasm', './nitro-bls.wasm']) assert.ok(existsSync(join(root, pkg.exports[sub])), sub);
  assert.ok(existsSync(join(root, pkg.exports['./slim'].default)));
  assert.ok(existsSync(join(root, pkg.exports['./slim'].types)));
});

test('package: types per condition, internals stripped', () => {
  assert.match(dts('node.d.ts'), /fileStore/);
  assert.doesNotMatch(dts('node.d.ts'), /indexedDbStore/);
  assert.match(dts('browser.d.ts'), /indexedDbStore/);
  assert.doesNotMatch(dts('browser.d.ts'), /fileStore/);
  assert.doesNotMatch(dts('wasm.d.ts'), /setLoader/);
  assert.match(dts('wasm.d.ts'), /wasmModule\?: WebAssembly\.Module/);
  assert.match(dts('wasm.d.ts'), /instantiateWasm\?: InstantiateWasm/);
});

test('package: metadata — sideEffects are the loader entries, engines, LICENSE, optional ws, source maps', () => {
  assert.deepEqual([...pkg.sideEffects].sort(), ['./js/dist/browser.js', './js/dist/node.js']);
  for (const f of pkg.sideEffects) assert.match(readFileSync(join(root, f), 'utf8'), /setLoader\(/, f);
  assert.equal(pkg.engines.node, '>=20');
  assert.equal(pkg.license, 'Apache-2.0');
  assert.match(readFileSync(join(root, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0, January 2004/);
  assert.ok(pkg.files.includes('LICENSE'));
  assert.equal(pkg.dependencies?.ws, undefined);
  assert.equal(pkg.peerDependenciesMeta.ws.optional, true);
  assert.ok(pkg.peerDependencies.ws);
  for (const f of ['node.js', 'browser.js', 'wasm.js']) {
    assert.match(readFileSync(join(root, 'js/dist', f), 'utf8'), new RegExp(`//# sourceMappingURL=${f}\\.map`));
    const map = JSON.parse(readFileSync(join(root, 'js/dist', `${f}.map`), 'utf8'));
    assert.equal(map.sourcesContent.length, map.sources.length, f);  // maps carry their sources
  }
  assert.equal(pkg.scripts.prepack, 'scripts/build package');
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
