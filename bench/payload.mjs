// What a browser downloads (gzip -9), per entry: each app below is bundled with esbuild (minified,
// as a production build would) and its JS is added to the wasm it fetches. Peers are bundled the
// same way from node_modules; a peer not installed here is skipped, not guessed.
import { build } from 'esbuild';
import { readFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'js', 'dist');
const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

async function bundle(contents, resolveDir = root) {
  const out = await build({
    stdin: { contents, resolveDir, loader: 'js' }, bundle: true, minify: true, format: 'esm',
    platform: 'browser', target: 'es2022', write: false, outdir: '/tmp/nitro-payload', logLevel: 'silent',
    external: ['*.wasm'],
  });
  return out.outputFiles.filter((f) => f.path.endsWith('.js')).reduce((n, f) => n + gz(f.contents), 0);
}

const wasm = (file) => gz(readFileSync(join(dist, 'wasm', file)));

const apps = [
  ['browser entry: node + pub/sub + RPC + documents', `import { init, createNode, websocket, Doc } from './js/dist/browser.js';
    await init(); const n = await createNode({ transport: websocket({ url: 'ws://x' }) });
    n.subscribe('t', () => {}); await n.publish('t', 1); await n.call('s', 'M', {}); n.doc('d'); new Doc();`, ['nitro.wasm']],
  ['browser entry + BLS on first use (Beacon.verify, node.beacon)', `import { init, loadBls, Beacon, createNode } from './js/dist/browser.js';
    await init(); await loadBls(); Beacon.verify({}); (await createNode()).beacon({});`, ['nitro.wasm', 'nitro-bls.wasm']],
  ['browser entry + simulator on first use (the web demo\'s Simulation)', `import { init, loadBls, Simulation } from './js/dist/browser.js';
    await init(); await loadBls(); new Simulation();`, ['nitro.wasm', 'nitro-bls.wasm']],
  ['slim entry: codec + standalone Doc', `import { init, codec, Doc } from './js/dist/slim.js';
    await init({ locateFile: (f) => f }); codec.encode(1); new Doc();`, ['nitro.wasm']],
];

export async function run() {
  console.log('| app | JS (gz) | wasm (gz) | total (gz) |');
  console.log('|---|---:|---:|---:|');
  for (const [name, source, files] of apps) {
    const js = await bundle(source);
    const w = files.reduce((n, f) => n + wasm(f), 0);
    console.log(`| ${name} | ${kb(js)} | ${kb(w)} (${files.join(' + ')}) | **${kb(js + w)}** |`);
  }
  const peers = [
    ['Yjs (Y.Doc, text, map, update encoding)', 'yjs', `import * as Y from 'yjs'; const d = new Y.Doc(); d.getText('t').insert(0, 'x'); Y.encodeStateAsUpdate(d);`, []],
    ['Automerge (JS + wasm)', '@automerge/automerge', `import * as A from '@automerge/automerge'; A.change(A.init(), (d) => { d.x = 1; });`,
      ['@automerge/automerge/dist/automerge.wasm']],
    ['js-libp2p + WebRTC + gossipsub', 'libp2p', `import { createLibp2p } from 'libp2p'; createLibp2p({});`, []],
  ];
  for (const [name, pkg, source, wasmFiles] of peers) {
    if (!existsSync(join(root, 'node_modules', pkg))) {
      console.log(`| ${name} | not installed here | | |`);
      continue;
    }
    const js = await bundle(source).catch(() => undefined);
    if (js === undefined) { console.log(`| ${name} | bundling failed | | |`); continue; }
    const w = wasmFiles.map((f) => join(root, 'node_modules', f)).filter(existsSync).reduce((n, f) => n + gz(readFileSync(f)), 0);
    console.log(`| ${name} | ${kb(js)} | ${w ? kb(w) : '—'} | **${kb(js + w)}** |`);
  }
}
