// The package as users get it: `npm pack`, installed into a temporary consumer project (never the
// source tree), then used from every target for real — Node ESM with `tsc --strict` over every
// entry, an esbuild bundle and a Vite bundle in Chromium, a module Web Worker, and Cloudflare's
// workerd. Each browser-side consumer joins a Node node over WebSocket and gets a pub/sub reply,
// then loads the BLS half on first use and verifies a drand round; the worker also merges CRDT
// updates and calls an RPC service over an outbound WebSocket.
// The consumer's dependencies are installed once per run; the tarball goes to build/packaging.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { encode as msgpackEncode } from '@msgpack/msgpack';
import { init, createNode, websocket, Doc } from '../../js/dist/node.js';
import { launchBrowser } from '../support/browser.mjs';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const here = fileURLToPath(new URL('.', import.meta.url));
const bin = (name) => join(root, 'node_modules', '.bin', name);
const vectors = JSON.parse(await readFile(join(root, '..', 'shared', 'vectors', 'drand.json'), 'utf8'));
const quicknet = vectors.chains.quicknet;
const round = quicknet.rounds[0];
const beacon = { scheme: quicknet.scheme, publicKey: quicknet.public_key, round: round.round, signature: round.signature };
const expectedBeacon = { valid: true, randomness: round.randomness };
const toHex = (b) => Buffer.from(b).toString('hex');

let consumer;   // the temporary consumer project
let server;     // the Node node every consumer talks to
let browser;
let workerd;

async function installConsumer() {
  const cache = join(root, 'build', 'packaging');
  await mkdir(cache, { recursive: true });
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', cache], { cwd: root, maxBuffer: 1 << 24 });
  const tarball = join(cache, JSON.parse(stdout)[0].filename);
  const dir = await mkdtemp(join(tmpdir(), 'nitro-consumer-'));
  for (const sub of ['node', 'browser-types', 'web', 'workerd']) await cp(join(here, sub), join(dir, sub), { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'nitro-consumer', private: true, type: 'module' }));
  const version = async (pkg) => JSON.parse(await readFile(join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  // ws: the optional peer a Node user installs; @types/node for the strict type check.
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball,
    `ws@${await version('ws')}`, `@types/node@${await version('@types/node')}`], { cwd: dir, maxBuffer: 1 << 24 });
  return dir;
}

async function startServer() {
  await init();
  const node = await createNode({ name: 'adder', transport: websocket({ listen: 0 }) });
  node.handle('Pkg.Add', async (req) => ({ sum: req.a + req.b }));
  node.subscribe('pkg.ping', (msg, meta) => { void node.publish('pkg.pong', { nonce: msg.nonce, to: meta.from, by: node.id }); });
  return node;
}

const mime = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
async function serveDir(dir) {
  const http = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    const body = await readFile(file).catch(() => null);
    if (!body) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': mime[extname(file)] ?? 'application/octet-stream' }).end(body);
  });
  await new Promise((ok) => http.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${http.address().port}/`, close: () => new Promise((ok) => http.close(ok)) };
}

async function wasmFiles() {
  const dir = join(consumer, 'node_modules', '@gonitro', 'nitro', 'js', 'dist', 'wasm');
  return (await readdir(dir)).filter((f) => f.endsWith('.wasm')).map((f) => join(dir, f));
}

/** Opens a built page; returns it with the URLs it requested so far. */
async function openPage(dir) {
  const site = await serveDir(dir);
  const page = await browser.newPage();
  const requests = [];
  const errors = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(site.url);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 20000 }).catch((e) => { throw new Error(`${e.message}; page errors: ${errors}`); });
  return { page, requests, close: async () => { await page.close(); await site.close(); } };
}

/** The page's round trip, then BLS on first use: nitro-bls.wasm is fetched only for the beacon. */
async function checkPage(dir) {
  const { page, requests, close } = await openPage(dir);
  try {
    const trip = await page.evaluate((url) => window.consumer.roundTrip(url), server.address);
    assert.equal(trip.reply.nonce, trip.id);
    assert.equal(trip.reply.by, server.id);
    assert.equal(trip.blsBefore, false);
    assert.equal(trip.doc, 'docs work');
    assert.ok(requests.some((u) => /nitro[^/]*\.wasm$/.test(u) && !/bls/.test(u)), 'nitro.wasm fetched');
    assert.ok(!requests.some((u) => /bls[^/]*\.wasm$/.test(u)), 'nitro-bls.wasm not fetched before first use');
    assert.deepEqual(await page.evaluate((b) => window.consumer.verifyBeacon(b), beacon), expectedBeacon);
    assert.ok(requests.some((u) => /bls[^/]*\.wasm$/.test(u)), 'nitro-bls.wasm fetched on first use');
  } finally {
    await close();
  }
}

async function freePort() {
  const probe = createNetServer();
  await new Promise((ok) => probe.listen(0, '127.0.0.1', ok));
  const { port } = probe.address();
  await new Promise((ok) => probe.close(ok));
  return port;
}

before(async () => {
  consumer = await installConsumer();
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  workerd?.kill('SIGTERM');
  await browser?.close();
  await server?.close();
  if (consumer) await rm(consumer, { recursive: true, force: true });
});

test('consumer: tsc --strict accepts every entry, with fileStore under node and indexedDbStore under browser', async () => {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const project of ['node', 'browser-types']) {
    const r = await run(process.execPath, [tsc, '-p', join(consumer, project)]).catch((e) => e);
    assert.equal(r.code ?? 0, 0, `tsc -p ${project}:\n${r.stdout}${r.stderr}`);
  }
});

test('consumer: Node ESM (node entry) verifies drand, keeps a doc in fileStore, calls RPC over WebSocket', async () => {
  await stat(join(consumer, 'node', 'out', 'app.js'));  // compiled by the tsc test above
  const { stdout } = await run(process.execPath, [join(consumer, 'node', 'out', 'app.js'), server.address, JSON.stringify(beacon)], { cwd: consumer });
  const got = JSON.parse(stdout);
  assert.deepEqual(got.verified, expectedBeacon);
  assert.equal(got.bls, true);
  assert.equal(got.persisted, 'kept on disk');
  assert.deepEqual(got.sum, { sum: 42 });
  assert.match(got.code, /^(UNIMPLEMENTED|NOT_FOUND)$/);
  assert.deepEqual(got.codec, Array.from(msgpackEncode({ a: 1 })));  // an independent encoder
});

test('consumer: slim entry with init({ wasmModule }) and loadBls(module); BLS before loading fails typed', async () => {
  const { stdout } = await run(process.execPath, [join(consumer, 'node', 'out', 'slim-module.js'), JSON.stringify(beacon)], { cwd: consumer });
  const got = JSON.parse(stdout);
  assert.equal(got.before, 'FAILED_PRECONDITION');
  assert.deepEqual(got.verified, expectedBeacon);
  assert.deepEqual(got.map, { k: 1 });
});

test('consumer: slim entry with init({ instantiateWasm }) instantiates once', async () => {
  const { stdout } = await run(process.execPath, [join(consumer, 'node', 'out', 'slim-instantiate.js')], { cwd: consumer });
  assert.deepEqual(JSON.parse(stdout), { calls: 1, decoded: [1, 'two'] });
});

test('consumer: esbuild bundle in Chromium: page and module Web Worker join over WebSocket, pub/sub round trip, lazy BLS', async () => {
  const esbuild = await import(join(root, 'node_modules', 'esbuild', 'lib', 'main.js'));
  const out = join(consumer, 'esbuild-dist');
  await esbuild.build({
    absWorkingDir: join(consumer, 'web'), entryPoints: ['main.js', 'worker.js'], bundle: true, format: 'esm',
    platform: 'browser', target: 'es2022', outdir: out, logLevel: 'error', minify: true,
  });
  // esbuild leaves new URL(..., import.meta.url) alone: the wasm files go beside the bundle.
  await mkdir(join(out, 'wasm'), { recursive: true });
  for (const f of await wasmFiles()) await cp(f, join(out, 'wasm', f.split('/').pop()));
  await cp(join(consumer, 'web', 'index.html'), join(out, 'index.html'));
  // The payload budget (BENCHMARKS.md): a page running a node with pub/sub, RPC and documents
  // loads at most 300 KB gz of JS and wasm (docs/notes/packaging.md, "Payload").
  await esbuild.build({
    absWorkingDir: join(consumer, 'web'), entryPoints: ['budget.js'], bundle: true, format: 'esm',
    platform: 'browser', target: 'es2022', outdir: join(out, 'budget'), logLevel: 'error', minify: true,
  });
  const gz = async (f) => gzipSync(await readFile(join(out, f)), { level: 9 }).length;
  const payload = await gz('budget/budget.js') + await gz('wasm/nitro.wasm');
  assert.ok(payload <= 300 * 1024, `browser payload ${(payload / 1024).toFixed(1)} KB gz > 300 KB`);
  await checkPage(out);

  const { page, requests, close } = await openPage(out);
  try {
    const got = await page.evaluate(([url, b]) => window.consumer.inWorker(url, b), [server.address, beacon]);
    assert.equal(got.reply.nonce, got.id);
    assert.equal(got.reply.by, server.id);
    assert.equal(got.blsBefore, false);
    assert.deepEqual(got.beacon, expectedBeacon);
    assert.ok(requests.some((u) => u.endsWith('/worker.js')), 'the worker bundle ran');
  } finally {
    await close();
  }
});

test('consumer: Vite bundle in Chromium joins over WebSocket, pub/sub round trip, lazy BLS', async () => {
  const { build } = await import(join(root, 'node_modules', 'vite', 'dist', 'node', 'index.js'));
  const out = join(consumer, 'vite-dist');
  await build({ root: join(consumer, 'web'), configFile: join(consumer, 'web', 'vite.config.js'), build: { outDir: out } });
  const assets = await readdir(join(out, 'assets'));
  assert.ok(assets.some((f) => /^nitro-bls.*\.wasm$/.test(f)), `Vite emitted nitro-bls.wasm: ${assets}`);
  await checkPage(out);
});

test('consumer: workerd verifies drand, merges CRDT updates from the request, calls RPC over an outbound WebSocket', async () => {
  const esbuild = await import(join(root, 'node_modules', 'esbuild', 'lib', 'main.js'));
  const dir = join(consumer, 'workerd', 'dist');
  // As wrangler does: wasm imports stay imports, each becomes a wasm module in the config.
  const wasmModules = {
    name: 'wasm-modules',
    setup(b) { b.onResolve({ filter: /\.wasm$/ }, (a) => ({ path: `./${a.path.split('/').pop()}`, external: true })); },
  };
  await esbuild.build({
    absWorkingDir: join(consumer, 'workerd'), entryPoints: ['worker.js'], bundle: true, format: 'esm',
    platform: 'neutral', conditions: ['workerd', 'worker', 'browser'], mainFields: ['module', 'main'],
    target: 'es2022', outfile: join(dir, 'worker.js'), plugins: [wasmModules], logLevel: 'error',
  });
  for (const f of await wasmFiles()) await cp(f, join(dir, f.split('/').pop()));
  const port = await freePort();
  await writeFile(join(dir, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "nitro.wasm", wasm = embed "nitro.wasm"),
    (name = "nitro-bls.wasm", wasm = embed "nitro-bls.wasm"),
  ],
  compatibilityDate = "2025-06-01",
  globalOutbound = "internet",
);
`);
  let log = '';
  workerd = spawn(bin('workerd'), ['serve', join(dir, 'config.capnp')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  workerd.stdout.on('data', (d) => { log += d; });
  workerd.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((ok) => workerd.once('exit', ok));

  const a = new Doc();
  a.getText('t').insert(0, 'hello ');
  a.getMap('m').set('a', 1);
  a.getCounter('c').increment(2);
  const b = new Doc();
  b.getText('t').insert(0, 'world');
  b.getMap('m').set('b', 2);
  b.getCounter('c').increment(3);
  const body = JSON.stringify({ beacon, updates: [toHex(a.encodeStateAsUpdate()), toHex(b.encodeStateAsUpdate())], url: server.address });

  const deadline = Date.now() + 30000;
  let response;
  while (!response) {
    if (workerd.exitCode !== null) assert.fail(`workerd exited ${workerd.exitCode}:\n${log}`);
    if (Date.now() > deadline) assert.fail(`workerd did not answer within 30 s:\n${log}`);
    response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body }).catch(() => undefined);
    if (!response) await Promise.race([exited, new Promise((ok) => setTimeout(ok, 200))]);
  }
  const got = await response.json();
  assert.equal(response.status, 200, `${JSON.stringify(got)}\n${log}`);
  assert.deepEqual(got.verified, expectedBeacon);
  assert.deepEqual(got.doc.map, { a: 1, b: 2 });
  assert.equal(got.doc.counter, 5);
  assert.ok(['hello world', 'worldhello '].includes(got.doc.text), got.doc.text);
  assert.deepEqual(got.sum, { sum: 42 });
  workerd.kill('SIGTERM');
  await exited;
  workerd = undefined;
});
