// The browser entry in real Chromium: the demo page loads the wasm core through /nitro/browser.js,
// and the codec gives the same bytes and typed errors as under Node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '../scripts/serve.mjs';
import { launchBrowser } from './support/browser.mjs';

let site;
let network;
let browser;
let page;
const dataDir = mkdtempSync(join(tmpdir(), 'nitro-browser-'));

before(async () => {
  const { startNetwork } = await import('../scripts/network.mjs');
  network = await startNetwork({ dataDir });
  site = await serve({ routes: network.routes });
  browser = await launchBrowser();
  page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(site.url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
  assert.deepEqual(errors, []);
});

after(async () => {
  await browser?.close();
  await site?.close();
  await network?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('browser: the demo page loads the wasm core', async () => {
  assert.match(await page.textContent('#status'), /wasm core ready/);
});

test('browser: codec matches the golden bytes and throws typed errors', async () => {
  const result = await page.evaluate(async () => {
    const { codec } = await import('/nitro/browser.js');
    const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    let error;
    try { codec.decode(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff])); } catch (e) { error = { name: e.name, code: e.code }; }
    return { nested: hex(codec.encode({ a: 1, b: [true] })), error };
  });
  assert.equal(result.nested, '82a16101a16291c3');  // golden frame map_nested
  assert.deepEqual(result.error, { name: 'DecodeError', code: 'DECODE_ERROR' });
});

test('browser: two CRDT replicas converge after an offline edit on each', async () => {
  const [a, b] = await page.evaluate(async () => {
    const { Doc } = await import('/nitro/browser.js');
    const [x, y] = [new Doc(), new Doc()];
    x.getText('notes').insert(0, 'Alpha ');
    y.getText('notes').insert(0, 'Beta ');
    x.applyUpdate(y.encodeStateAsUpdate(x.encodeStateVector()));
    y.applyUpdate(x.encodeStateAsUpdate(y.encodeStateVector()));
    return [x.getText('notes').toString(), y.getText('notes').toString()];
  });
  assert.equal(a, b);
  assert.match(a, /Alpha/);
  assert.match(a, /Beta/);
});

test('browser: drand beacons verify in wasm', async () => {
  await page.click('#beacon-panel summary');
  await page.click('#beacon-verify');
  await page.waitForFunction(() => document.querySelector('#beacon-output').textContent.length > 0);
  const out = await page.textContent('#beacon-output');
  assert.match(out, /quicknet round 1: valid/);
  assert.doesNotMatch(out, /INVALID/);
});

test('browser: the page joins the local network over WebSocket and chats by gossip', async () => {
  await page.waitForSelector('body[data-joined="true"]', { timeout: 20000 });
  await page.waitForFunction(() => window.nitroNode.neighbors().length > 0, null, { timeout: 20000 });
  await page.fill('#chat-input', 'hello from chromium');
  await page.click('#chat-form button');
  // alpha (a Node.js node) acknowledges every chat line: the ack proves the round trip.
  await page.waitForFunction(() => document.querySelector('#chat-log').textContent.includes('alpha heard "hello from chromium"'), null, { timeout: 20000 });
});

test('browser: the page calls the demo service and verifies the nodes\' threshold beacon in wasm', async () => {
  await page.waitForSelector('#rpc-call:not([disabled])', { timeout: 20000 });
  await page.selectOption('#rpc-method', { index: 0 });
  await page.fill('#rpc-request', '{"name": "browser #1"}');
  await page.click('#rpc-call');
  await page.waitForFunction(() => /Demo.Hello answered by (alpha|beta|gamma|delta)[^]*hello browser #1/.test(document.querySelector('#rpc-output').textContent), null, { timeout: 20000 });
  // The 2-of-3 beacon needs its DKG and genesis: the page polls for rounds, and the first must verify.
  await page.waitForSelector('#beacon-round[data-valid]', { timeout: 30000 });
  assert.equal(await page.getAttribute('#beacon-round', 'data-valid'), 'true');
});

test('browser: the simulated network delivers a publish to every live node', async () => {
  await page.click('#sim-publish');
  await page.waitForFunction(() => Number(document.querySelector('#sim-info').dataset.delivered) === 64, null, { timeout: 20000 });
});

test('browser: indexedDbStore keeps a document across a reload, and compaction keeps its state', async () => {
  const write = await page.evaluate(async () => {
    const { Doc, persist, indexedDbStore } = await import('/nitro/browser.js');
    const store = indexedDbStore('nitro-test');
    const doc = new Doc();
    const p = await persist(doc, store, 'notes');
    for (let i = 0; i < 20; i++) doc.getText('t').insert(i, String(i % 10));
    doc.getMap('m').set('k', { v: 1 });
    await p.flush();
    const text = doc.getText('t').toString();
    await p.close();
    await store.close();
    return text;
  });
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  const read = await page.evaluate(async () => {
    const { Doc, persist, indexedDbStore } = await import('/nitro/browser.js');
    const store = indexedDbStore('nitro-test');
    const doc = new Doc();
    const p = await persist(doc, store, 'notes');
    const before = { text: doc.getText('t').toString(), m: doc.getMap('m').toJSON(), records: (await store.load('notes')).length };
    await p.compact();
    const after = (await store.load('notes')).length;
    const again = new Doc();
    for (const u of await store.load('notes')) again.applyUpdate(u);
    await p.close();
    await store.close();
    return { ...before, after, againText: again.getText('t').toString() };
  });
  assert.equal(read.text, write);
  assert.deepEqual(read.m, { k: { v: 1 } });
  assert.ok(read.records > 1);
  assert.equal(read.after, 1);
  assert.equal(read.againText, write);
});
