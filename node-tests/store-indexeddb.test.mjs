// indexedDbStore in real Chromium: the Store conformance suite run inside the page, data kept
// across a page reload, and concurrent document appends each kept (none overwrites another).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { serve } from '../scripts/serve.mjs';
import { launchBrowser } from './support/browser.mjs';
import { storeCases } from './support/store-conformance.mjs';

let site;
let browser;
let page;

const file = (path, type) => async (_req, res) => {
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' });
  res.end(await readFile(new URL(path, import.meta.url)));
};

before(async () => {
  site = await serve({
    routes: {
      '/store-conformance.mjs': file('./support/store-conformance.mjs', 'text/javascript'),
      '/blank.html': (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>store</title>'),
    },
  });
  browser = await launchBrowser();
  page = await browser.newPage();
  await page.goto(`${site.url}blank.html`);
});

after(async () => {
  await browser?.close();
  await site?.close();
});

for (const [index, [name]] of storeCases.entries()) {
  test(`indexedDbStore conformance: ${name}`, async () => {
    const failure = await page.evaluate(async (i) => {
      const { storeCases: cases, fakeClock } = await import('/store-conformance.mjs');
      const { indexedDbStore } = await import('/nitro/store-indexeddb.js');
      const clock = fakeClock();
      const db = `conformance-${i}-${Math.random()}`;
      try {
        await cases[i][1]({ clock, open: () => indexedDbStore(db, { now: clock.now }) });
        return null;
      } catch (e) {
        return `${e?.name}: ${e?.message}`;
      }
    }, index);
    assert.equal(failure, null);
  });
}

test('indexedDbStore: entries and document logs survive a page reload', async () => {
  await page.evaluate(async () => {
    const { indexedDbStore } = await import('/nitro/store-indexeddb.js');
    const s = indexedDbStore('reload');
    await s.write('k', new Uint8Array([1, 2]));
    await Promise.all([1, 2, 3, 4, 5].map((x) => s.append('doc', new Uint8Array([x]))));
    await s.close();
  });
  await page.reload();
  const after = await page.evaluate(async () => {
    const { indexedDbStore } = await import('/nitro/store-indexeddb.js');
    const s = indexedDbStore('reload');
    const out = { k: [...(await s.read('k'))], doc: (await s.load('doc')).map((u) => u[0]) };
    await s.close();
    return out;
  });
  assert.deepEqual(after, { k: [1, 2], doc: [1, 2, 3, 4, 5] });
});

test('indexedDbStore: document logs of the previous database version are converted', async () => {
  const loaded = await page.evaluate(async () => {
    const wait = (req) => new Promise((resolve, reject) => { req.onsuccess = () => resolve(req.result); req.onerror = () => reject(req.error); });
    // The version 1 layout: object store `updates`, keys [document, sequence], ArrayBuffer values.
    const open = indexedDB.open('old-layout', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('updates');
    const db = await wait(open);
    const tx = db.transaction('updates', 'readwrite');
    tx.objectStore('updates').put(new Uint8Array([1, 2]).buffer, ['notes', 0]);
    tx.objectStore('updates').put(new Uint8Array([3]).buffer, ['notes', 1]);
    tx.objectStore('updates').put(new Uint8Array([9]).buffer, ['other', 0]);
    await new Promise((resolve) => { tx.oncomplete = resolve; });
    db.close();
    const { indexedDbStore } = await import('/nitro/store-indexeddb.js');
    const s = indexedDbStore('old-layout');
    const out = { notes: (await s.load('notes')).map((u) => [...u]), other: (await s.load('other')).map((u) => [...u]) };
    await s.append('notes', new Uint8Array([4]));
    out.after = (await s.load('notes')).map((u) => [...u]);
    await s.close();
    return out;
  });
  assert.deepEqual(loaded, { notes: [[1, 2], [3]], other: [[9]], after: [[1, 2], [3], [4]] });
});

test('indexedDbStore: expired rows are deleted by the sweep that rides on writes', async () => {
  const keys = await page.evaluate(async () => {
    const { indexedDbStore } = await import('/nitro/store-indexeddb.js');
    let t = 1_700_000_000_000;
    const s = indexedDbStore('sweep', { now: () => t });
    await s.write('old', new Uint8Array([1]), { ttlMs: 1000 });
    await s.write('keep', new Uint8Array([2]));
    t += 61_000;
    await s.write('new', new Uint8Array([3]));
    await s.close();
    // Read the object store directly: the expired row is gone, not only hidden.
    const open = indexedDB.open('sweep');
    const db = await new Promise((resolve) => { open.onsuccess = () => resolve(open.result); });
    const all = db.transaction('kv').objectStore('kv').getAllKeys();
    const result = await new Promise((resolve) => { all.onsuccess = () => resolve(all.result); });
    db.close();
    return result;
  });
  assert.deepEqual(keys, ['keep', 'new']);
});
