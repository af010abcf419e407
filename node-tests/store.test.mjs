// The key/value Store: the conformance suite over memoryStore and fileStore, and fileStore's crash
// safety (torn journals, stray temporary files, SIGKILL mid-write). Needs no wasm core.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryStore } from '../js/dist/store.js';
import { fileStore, fileNameOf, decodeEntry, decodeJournal } from '../js/dist/store-file.js';
import { storeCases, fakeClock } from './support/store-conformance.mjs';
import { crashRounds } from './support/store-crash.mjs';

const tempDir = () => mkdtempSync(join(tmpdir(), 'nitro-store-'));
const dirs = [];
test.after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const engines = {
  memoryStore: () => {
    const clock = fakeClock();
    const store = memoryStore({ now: clock.now });
    return { clock, open: () => store };
  },
  fileStore: () => {
    const clock = fakeClock();
    const dir = tempDir();
    dirs.push(dir);
    return { clock, open: () => fileStore(dir, { now: clock.now }) };
  },
};

for (const [engine, harness] of Object.entries(engines)) {
  for (const [name, run] of storeCases) test(`${engine} conformance: ${name}`, () => run(harness()));
}

test('fileStore: file names are a fixed-length hash, whatever the key', async () => {
  const dir = tempDir();
  dirs.push(dir);
  const store = fileStore(dir);
  const long = 'k'.repeat(5000); // hex of this (10000 chars) was over the 255-byte name limit
  await store.write(long, new Uint8Array([1]));
  await store.write('short', new Uint8Array([2]));
  await store.close();
  assert.deepEqual(readdirSync(dir).sort(), [fileNameOf(long), fileNameOf('short')].sort());
  for (const name of readdirSync(dir)) assert.match(name, /^[0-9a-f]{64}\.kv$/);
  assert.deepEqual(await fileStore(dir).read(long), new Uint8Array([1]));
});

test('fileStore: a whole journal is replayed, a torn one dropped, stray and corrupt files ignored', async () => {
  const dir = tempDir();
  dirs.push(dir);
  const store = fileStore(dir);
  await store.write('keep', new Uint8Array([1]));
  await store.batch([{ key: 'a', value: new Uint8Array([2]) }, { key: 'b', value: new Uint8Array([3]) }]);
  await store.close();
  // Journal bytes (format in store-file.ts): "NKJ1" | crc | count | per op: kind, key len, value len, key, value.
  const { crc32 } = await import('../js/dist/store-file.js');
  const journal = (ops) => {
    const parts = ops.map(([k, v]) => {
      const key = Buffer.from(k);
      const head = Buffer.alloc(9);
      head.writeUInt8(v ? 1 : 0, 0);
      head.writeUInt32LE(key.length, 1);
      head.writeUInt32LE(v ? v.length : 0, 5);
      return Buffer.concat([head, key, v ?? Buffer.alloc(0)]);
    });
    const body = Buffer.concat([Buffer.from([ops.length, 0, 0, 0]), ...parts]);
    const head = Buffer.alloc(8);
    head.write('NKJ1', 0, 'latin1');
    head.writeUInt32LE(crc32(body), 4);
    return Buffer.concat([head, body]);
  };
  const whole = journal([['a'], ['c', Buffer.from([4])], ['keep', Buffer.from([5])]]);
  writeFileSync(join(dir, 'batch.journal'), whole); // a crash after the commit point
  writeFileSync(join(dir, `${fileNameOf('x').slice(0, -3)}.tmp`), 'half a write');
  writeFileSync(join(dir, fileNameOf('corrupt')), 'NKV1 not a record');
  let again = fileStore(dir);
  const all = async (s) => (await s.list('')).entries.map(([k, v]) => [k, [...v]]);
  assert.deepEqual(await all(again), [['b', [3]], ['c', [4]], ['keep', [5]]]);
  await again.close();
  assert.deepEqual(readdirSync(dir).filter((n) => !n.endsWith('.kv')), []);
  const torn = journal([['b'], ['keep']]); // a crash before the commit point: never acknowledged
  writeFileSync(join(dir, 'batch.journal'), torn.subarray(0, torn.length - 1));
  again = fileStore(dir);
  assert.deepEqual(await all(again), [['b', [3]], ['c', [4]], ['keep', [5]]]);
  await again.close();
});

test('fileStore: SIGKILL mid-write loses no acknowledged write and tears no batch', { timeout: 300_000 }, async () => {
  const dir = tempDir();
  dirs.push(dir);
  const last = await crashRounds('file', dir, () => fileStore(dir), [[5, 0], [12, 0.1], [9, 0.2], [15, 0.3], [7, 0.4], [11, 0.5], [6, 0.6], [10, 0.7], [8, 0.8], [9, 0.9], [7, 1], [6, 1.3]]);
  assert.ok(last > 60);
});

test('fileStore: its decoders are total — random and mutated bytes never throw', async () => {
  // Valid files to mutate, written by the store itself.
  const dir = tempDir();
  dirs.push(dir);
  const store = fileStore(dir);
  await store.write('seed-key', Uint8Array.from({ length: 40 }, (_, i) => i));
  await store.close();
  const entryFile = readFileSync(join(dir, fileNameOf('seed-key')));
  let state = 0x9e3779b9;
  const rand = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  let decoded = 0;
  for (let i = 0; i < 20000; i++) {
    let bytes;
    if (i % 2) {
      bytes = Uint8Array.from(entryFile);
      for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      if (rand() < 0.3) bytes = bytes.subarray(0, Math.floor(rand() * bytes.length));
    } else {
      bytes = Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
    }
    const e = decodeEntry(bytes);
    const j = decodeJournal(bytes);
    if (e) decoded++;
    assert.ok(e === undefined || typeof e.key === 'string');
    assert.ok(j === undefined || Array.isArray(j));
  }
  assert.ok(decoded < 20000 / 2, 'mutations are caught by the checksum');
  assert.equal(decodeEntry(entryFile).key, 'seed-key');
});

test('fileStore: a document log of the previous format (hex-named .nlog) is converted on open', async () => {
  const dir = tempDir();
  dirs.push(dir);
  const { crc32 } = await import('../js/dist/store-file.js');
  const record = (list) => {
    const bytes = Uint8Array.from(list);
    const head = Buffer.alloc(8);
    head.writeUInt32LE(bytes.length, 0);
    head.writeUInt32LE(crc32(bytes), 4);
    return Buffer.concat([head, Buffer.from(bytes)]);
  };
  const name = 'nitro.node/disk/identity';
  const log = Buffer.concat([record([1, 2, 3]), record([4, 5]), Buffer.from([9, 0, 0, 0, 1])]); // and a torn tail
  writeFileSync(join(dir, `${Buffer.from(name).toString('hex')}.nlog`), log);
  const store = fileStore(dir);
  assert.deepEqual((await store.load(name)).map((u) => [...u]), [[1, 2, 3], [4, 5]]);
  await store.append(name, new Uint8Array([6]));
  await store.close();
  assert.deepEqual(readdirSync(dir).filter((n) => !n.endsWith('.kv')), []);
  assert.deepEqual((await fileStore(dir).load(name)).map((u) => [...u]), [[1, 2, 3], [4, 5], [6]]);
});
