// CRDT documents: Nitro (wasm core through js/dist) side by side with Yjs and Automerge in one
// Node process. The automerge-paper editing trace (replay time, encoded size, load time, memory)
// and crdt-benchmarks cases B1.1, B1.4 and B3.1. Medians over runs; ratios against Yjs. Then
// every trace (the two real ones in ../shared/data and the code traces of crdt_traces.mjs):
// Nitro's encoded size against Yjs's v2 (columnar) encoding and replay time against Yjs.
//   npm run bench -- crdt [--runs N] [--trace-runs N] [--no-automerge-trace] [--only-traces]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { gunzipSync } from 'node:zlib';
import * as Y from 'yjs';
import * as A from '@automerge/automerge';
import { init, getModule } from '../js/dist/node.js';
import { Doc } from '../js/dist/node.js';
import { median, table, formatNumber } from './lib.mjs';
import { rng } from '../node-tests/support/rng.mjs';
import { codeTraces } from './crdt_traces.mjs';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

function loadTrace(name) {
  const url = new URL(`../../shared/data/editing-traces/${name}.json.gz`, import.meta.url);
  return JSON.parse(gunzipSync(readFileSync(url)).toString());
}

// One adapter per library: the same operations, each library's idiomatic calls.
const libs = {
  nitro: {
    create: (id) => new Doc({ clientId: id ?? 1 }),
    text: (d) => d.getText('text'),
    insert: (d, t, pos, s) => t.insert(pos, s),
    remove: (d, t, pos, n) => t.delete(pos, n),
    content: (d) => d.getText('text').toString(),
    length: (d, t) => t.length,
    encode: (d) => d.encodeState(),
    load: (bytes) => { const d = new Doc({ clientId: 2 }); d.applyUpdate(bytes); return d; },
    setKey: (d, k, v) => d.getMap('map').set(k, v),
    merge: (updates) => { const d = new Doc({ clientId: 1 }); for (const u of updates) d.applyUpdate(u); return d; },
    mapSize: (d) => d.getMap('map').keys().length,
    free: (d) => d.destroy(),
  },
  yjs: {
    create: (id) => { const d = new Y.Doc(); if (id !== undefined) d.clientID = id; return d; },
    text: (d) => d.getText('text'),
    insert: (d, t, pos, s) => t.insert(pos, s),
    remove: (d, t, pos, n) => t.delete(pos, n),
    content: (d) => d.getText('text').toString(),
    length: (d, t) => t.length,
    encode: (d) => Y.encodeStateAsUpdate(d),
    load: (bytes) => { const d = new Y.Doc(); Y.applyUpdate(d, bytes); return d; },
    setKey: (d, k, v) => d.getMap('map').set(k, v),
    merge: (updates) => { const d = new Y.Doc(); Y.transact(d, () => { for (const u of updates) Y.applyUpdate(d, u); }); return d; },
    mapSize: (d) => d.getMap('map').size,
    free: (d) => d.destroy(),
  },
  automerge: {
    create: () => ({ doc: A.from({ text: '' }) }),
    text: () => null,
    insert: (h, t, pos, s) => { h.doc = A.change(h.doc, (x) => A.splice(x, ['text'], pos, 0, s)); },
    remove: (h, t, pos, n) => { h.doc = A.change(h.doc, (x) => A.splice(x, ['text'], pos, n)); },
    content: (h) => h.doc.text,
    length: (h) => h.doc.text.length,
    encode: (h) => A.save(h.doc),
    load: (bytes) => ({ doc: A.load(bytes) }),
    setKey: (h, k, v) => { h.doc = A.change(h.doc, (x) => { x[k] = v; }); },
    createMap: () => ({ doc: A.init() }),
    merge: (changes) => ({ doc: A.applyChanges(A.init(), changes.flat())[0] }),
    mapSize: (h) => Object.keys(h.doc).length,
    free: () => {},
  },
};

function time(fn) {
  const t0 = performance.now();
  const out = fn();
  return [performance.now() - t0, out];
}

function replayTrace(lib, trace) {
  const d = lib.create();
  const t = lib.text(d);
  if (lib === libs.automerge) {  // one change per transaction of the trace, like the others
    for (const txn of trace.txns) {
      d.doc = A.change(d.doc, (x) => { for (const [pos, del, ins] of txn.patches) A.splice(x, ['text'], pos, del, ins); });
    }
    return d;
  }
  for (const txn of trace.txns) {
    for (const [pos, del, ins] of txn.patches) {
      if (del) lib.remove(d, t, pos, del);
      if (ins) lib.insert(d, t, pos, ins);
    }
  }
  return d;
}

function memoryOf(lib, build) {
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const wasm0 = lib === libs.nitro ? getModule().crdtMallocBytes() : 0;
  const d = build();
  gc();
  const heap = process.memoryUsage().heapUsed - heap0;
  const wasm = lib === libs.nitro ? getModule().crdtMallocBytes() - wasm0 : 0;
  lib.free(d);
  return heap + wasm;
}

function traceRows(trace, names, runs) {
  const res = {};
  for (const name of names) {
    const lib = libs[name];
    const n = name === 'automerge' ? 1 : runs;
    const replay = [], load = [];
    let bytes;
    for (let r = 0; r < n; r++) {
      const [ms, d] = time(() => replayTrace(lib, trace));
      if (lib.content(d) !== trace.endContent) throw new Error(`${name}: trace replay diverged`);
      replay.push(ms);
      bytes = lib.encode(d);
      const [lms, loaded] = time(() => lib.load(bytes));
      if (lib.content(loaded) !== trace.endContent) throw new Error(`${name}: load diverged`);
      load.push(lms);
      lib.free(d);
      lib.free(loaded);
    }
    const memory = name === 'automerge' ? NaN : memoryOf(lib, () => replayTrace(lib, trace));
    res[name] = { replay: median(replay), bytes: bytes.length, load: median(load), memory, runs: n };
    console.error(`crdt: trace ${name} done`);
  }
  return res;
}

function b1(lib, n, random) {
  const d = lib.create();
  const t = lib.text(d);
  const next = rng(42);
  for (let i = 0; i < n; i++) {
    const pos = random ? Math.floor(next() * (lib.length(d, t) + 1)) : lib.length(d, t);
    lib.insert(d, t, pos, String.fromCharCode(97 + (i % 26)));
  }
  return d;
}

function b31(lib, replicas) {
  const updates = [];
  for (let i = 0; i < replicas; i++) {
    if (lib === libs.automerge) {
      const h = { doc: A.init() };
      lib.setKey(h, 'v', i);
      updates.push(A.getAllChanges(h.doc));
      continue;
    }
    const d = lib.create(1000 + i);
    lib.setKey(d, 'v', i);
    updates.push(lib.encode(d));
    lib.free(d);
  }
  return lib.merge(updates);
}

function caseRows(label, names, runs, make, check) {
  const res = {};
  for (const name of names) {
    const lib = libs[name];
    const times = [], loads = [];
    let bytes;
    for (let r = 0; r < runs; r++) {
      const [ms, d] = time(() => make(lib));
      check(lib, d);
      times.push(ms);
      bytes = lib.encode(d);
      const [lms, loaded] = time(() => lib.load(bytes));
      loads.push(lms);
      lib.free(d);
      lib.free(loaded);
    }
    res[name] = { time: median(times), bytes: bytes.length, load: median(loads) };
  }
  console.error(`crdt: ${label} done`);
  return res;
}

function nativeTrace() {
  const exe = new URL('../build/native/crdt_bench', import.meta.url).pathname;
  if (!existsSync(exe)) return null;
  return JSON.parse(execFileSync(exe, ['automerge-paper', '5']).toString());
}

const ratio = (x, base) => `${(x / base).toFixed(2)}×`;

// CPU ms per call of fn over `calls` calls after two warm-up calls (each result handed to done):
// on a shared machine wall time also counts other processes' turns, CPU time mostly does not.
function cpuTime(calls, fn, done = () => {}) {
  for (let r = 0; r < 2; r++) done(fn());
  const t0 = process.cpuUsage();
  for (let r = 0; r < calls; r++) done(fn());
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / 1000 / calls;
}

// One trace, Nitro and Yjs: replay medians, Nitro's encoded state (which must load back to the
// same text) against Yjs's v1 and v2 encodings, and the encode and load (decode into a fresh
// document) of Nitro's state against Yjs's v2 (encodeStateAsUpdateV2 / applyUpdateV2) in CPU time.
function sizeRow(name, trace, runs) {
  const out = {};
  const codecCalls = 4 * Math.max(runs, 5);
  for (const lib of ['nitro', 'yjs']) {
    const times = [];
    let d;
    for (let r = 0; r < runs; r++) {
      if (d) libs[lib].free(d);
      const [ms, doc] = time(() => replayTrace(libs[lib], trace));
      if (libs[lib].content(doc) !== trace.endContent) throw new Error(`${lib}: ${name} replay diverged`);
      times.push(ms);
      d = doc;
    }
    out[lib] = { replay: median(times) };
    if (lib === 'nitro') {
      const bytes = d.encodeState();
      const loaded = libs.nitro.load(bytes);
      if (libs.nitro.content(loaded) !== trace.endContent) throw new Error(`nitro: ${name} load diverged`);
      libs.nitro.free(loaded);
      const encode = cpuTime(codecCalls, () => d.encodeState());
      const load = cpuTime(codecCalls, () => libs.nitro.load(bytes), (x) => libs.nitro.free(x));
      Object.assign(out.nitro, { bytes: bytes.length, encode, load, frame: bytes[0] });
    } else {
      const v2 = Y.encodeStateAsUpdateV2(d);
      const check = new Y.Doc();
      Y.applyUpdateV2(check, v2);
      if (check.getText('text').toString() !== trace.endContent) throw new Error(`yjs: ${name} v2 load diverged`);
      check.destroy();
      const encode = cpuTime(codecCalls, () => Y.encodeStateAsUpdateV2(d));
      const load = cpuTime(codecCalls, () => { const x = new Y.Doc(); Y.applyUpdateV2(x, v2); return x; }, (x) => x.destroy());
      Object.assign(out.yjs, { v1: Y.encodeStateAsUpdate(d).length, v2: v2.length, encode, load });
    }
    libs[lib].free(d);
  }
  const n = out.nitro, y = out.yjs;
  return [name, trace.txns.length, trace.endContent.length, n.bytes, `0x${n.frame.toString(16)}`, y.v2, ratio(n.bytes, y.v2),
    y.v1, n.replay, y.replay, ratio(n.replay, y.replay), n.encode, y.encode, ratio(n.encode, y.encode),
    n.load, y.load, ratio(n.load, y.load)];
}

// The text coder's own cost, natively, on the two real traces' final text: the Huffman coder
// that writes frame 0x15 and, for comparison, the context-mixing coder of frame 0x14.
function coderRows() {
  const exe = new URL('../build/native/crdt_bench', import.meta.url).pathname;
  if (!existsSync(exe)) return null;
  return ['automerge-paper', 'seph-blog1'].map((t) => {
    const r = JSON.parse(execFileSync(exe, [t, '5', '20']).toString());
    return [t, r.bytes, r.encode_ms, r.pack_ms, `${Math.round((100 * r.pack_ms) / r.encode_ms)}%`, r.load_ms, r.unpack_ms,
      `${Math.round((100 * r.unpack_ms) / r.load_ms)}%`, `${r.text_bytes} → ${r.coded_bytes}`,
      `${r.cm_bytes} (${r.cm_pack_ms} / ${r.cm_unpack_ms} ms)`];
  });
}

function traceSizeTable(runs) {
  const traces = [['automerge-paper', loadTrace('automerge-paper')], ['seph-blog1', loadTrace('seph-blog1')],
    ...codeTraces().map(({ name, trace }) => [name, trace])];
  const rows = traces.map(([name, trace]) => { const r = sizeRow(name, trace, runs); console.error(`crdt: ${name} done`); return r; });
  console.log(table(['trace', 'edits', 'final chars', 'nitro bytes', 'frame', 'Yjs v2 bytes', 'nitro / Yjs v2', 'Yjs v1 bytes',
    'nitro replay ms', 'Yjs replay ms', 'nitro / Yjs time', 'nitro encode CPU ms', 'Yjs v2 encode CPU ms', 'encode vs Yjs',
    'nitro load CPU ms', 'Yjs v2 load CPU ms', 'load vs Yjs'], rows));
  console.log(`\nEncoded size: Nitro's encodeState() against Yjs's encodeStateAsUpdateV2 (and v1) of the same replayed document; replay: medians of ${runs} runs (wall time), every edit its own transaction; encode and load (into a fresh document): CPU time per call over ${4 * Math.max(runs, 5)} calls after 2 warm-up calls.`);
  const coder = coderRows();
  if (coder) {
    console.log('');
    console.log(table(['trace (native)', 'bytes', 'encode ms', 'of which 0x15 coder ms', 'share', 'load ms', 'of which 0x15 decoder ms', 'share',
      'text → coded bytes', '0x14 coder: bytes (pack / unpack ms)'], coder));
    console.log('\nNative (build/native/crdt_bench <trace> 5 20): CPU time, medians of 5 runs of 20 calls; the text coder alone on the final text.');
  }
}

export async function run(args = []) {
  await init();
  const arg = (flag, dflt) => { const i = args.indexOf(flag); return i >= 0 ? Number(args[i + 1]) : dflt; };
  const runs = arg('--runs', 5);
  const traceRuns = arg('--trace-runs', 3);
  if (args.includes('--only-traces')) return traceSizeTable(traceRuns);
  const traceLibs = args.includes('--no-automerge-trace') ? ['nitro', 'yjs'] : ['nitro', 'yjs', 'automerge'];
  const trace = loadTrace('automerge-paper');

  const tr = traceRows(trace, traceLibs, traceRuns);
  const rows = Object.entries(tr).map(([name, r]) => [name, r.replay, ratio(r.replay, tr.yjs.replay), r.bytes,
    ratio(r.bytes, tr.yjs.bytes), r.load, ratio(r.load, tr.yjs.load),
    Number.isNaN(r.memory) ? 'n/a' : `${formatNumber(r.memory / 1e6)} MB`, String(r.runs)]);
  const native = nativeTrace();
  if (native) rows.push(['nitro native (C++, reference)', native.replay_ms, ratio(native.replay_ms, tr.yjs.replay),
    native.bytes, ratio(native.bytes, tr.yjs.bytes), native.load_ms, ratio(native.load_ms, tr.yjs.load), 'n/a', '5']);
  console.log(`automerge-paper trace: ${trace.txns.length.toLocaleString('en-US')} edits, ${trace.endContent.length.toLocaleString('en-US')} chars at the end\n`);
  console.log(table(['library', 'replay ms', 'vs Yjs', 'encoded bytes', 'vs Yjs', 'load ms', 'vs Yjs', 'memory', 'runs'], rows));
  const yv2 = Y.encodeStateAsUpdateV2(replayTrace(libs.yjs, trace)).length;
  console.log(`\nYjs's encodeStateAsUpdateV2 (columnar, not its default) is ${yv2.toLocaleString('en-US')} bytes for the same trace.`);

  const names = ['nitro', 'yjs', 'automerge'];
  const cases = [
    ['B1.1 append 6,000 chars one at a time', (lib) => b1(lib, 6000, false), (lib, d) => { if (lib.content(d).length !== 6000) throw new Error('B1.1'); }],
    ['B1.4 6,000 single-char inserts at random positions (seed 42)', (lib) => b1(lib, 6000, true), (lib, d) => { if (lib.content(d).length !== 6000) throw new Error('B1.4'); }],
    ['B3.1 1,540 replicas each set map key "v", merged into one', (lib) => b31(lib, 1540), (lib, d) => { if (lib.mapSize(d) !== 1) throw new Error('B3.1'); }],
  ];
  const crows = [];
  for (const [label, make, check] of cases) {
    const r = caseRows(label, names, runs, make, check);
    for (const name of names) {
      crows.push([label, name, r[name].time, ratio(r[name].time, r.yjs.time), r[name].bytes, ratio(r[name].bytes, r.yjs.bytes), r[name].load, ratio(r[name].load, r.yjs.load)]);
    }
  }
  console.log('');
  console.log(table(['case', 'library', 'time ms', 'vs Yjs', 'encoded bytes', 'vs Yjs', 'load ms', 'vs Yjs'], crows));
  console.log('');
  traceSizeTable(traceRuns);
  console.log(`\nMedians of ${traceRuns} trace runs (Automerge: 1 — one change per edit takes ~a minute) and ${runs} runs per case.` +
    ' Every edit is its own transaction in every library. Memory: JS heap delta after GC, plus the wasm heap delta for Nitro.');
}
