// A Nitro node in real Chromium (the browser entry, global WebSocket) joins a Node.js node over
// websocket({ url }); pub/sub flows both ways and the browser's close() is seen as peer:down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve } from '../scripts/serve.mjs';
import { launchBrowser } from './support/browser.mjs';
import { createNode, websocket, init } from '../js/dist/node.js';
import { waitFor, within } from './support/wait.mjs';

let site;
let browser;
let page;
let server;

const blank = (req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>nitro node</title>');

before(async () => {
  await init();
  server = await createNode({ name: 'server', transport: websocket({ listen: 0 }) });
  site = await serve({ routes: { '/node.html': blank } });
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e));
  await page.goto(site.url + 'node.html');
});

after(async () => {
  await browser?.close();
  await site?.close();
  await server?.close();
});

test('browser node: joins a Node process over WebSocket and exchanges pub/sub messages', async () => {
  const fromBrowser = [];
  server.subscribe('room', (msg, meta) => fromBrowser.push({ msg, meta }));
  const joined = server.once('neighbor:up');
  const browserId = await page.evaluate(async (url) => {
    const { init, createNode, websocket } = await import('/nitro/browser.js');
    await init();
    const node = await createNode({ name: 'browser', transport: websocket({ url }) });
    window.nitroNode = node;
    window.got = [];
    node.subscribe('room', (msg, meta) => window.got.push({ msg, from: meta.from, hops: meta.hops }));
    return node.id;
  }, server.address);
  assert.equal((await within(joined, 10000, 'the browser as a neighbor')).id, browserId);
  assert.equal(await page.evaluate(() => window.nitroNode.address), '');  // a browser only dials

  await server.publish('room', { text: 'from node', n: 1 });
  await page.waitForFunction(() => window.got.length === 1, null, { timeout: 10000 });
  const got = await page.evaluate(() => window.got);
  assert.deepEqual(got[0].msg, { text: 'from node', n: 1 });
  assert.equal(got[0].from, server.id);
  assert.equal(got[0].hops, 1);

  await page.evaluate(() => window.nitroNode.publish('room', { text: 'from browser', bytes: new Uint8Array([9]) }));
  await waitFor(() => fromBrowser.some((d) => d.meta.from === browserId), { what: 'the browser message at the server' });
  const d = fromBrowser.find((x) => x.meta.from === browserId);
  assert.equal(d.msg.text, 'from browser');
  assert.deepEqual(d.msg.bytes, new Uint8Array([9]));

  const down = server.once('peer:down', (e) => e.id === browserId);
  await page.evaluate(() => window.nitroNode.close());
  await within(down, 10000, 'peer:down of the closed browser node');
});

test('browser node: memory() nodes in one page find each other and deliver in order', async () => {
  const result = await page.evaluate(async () => {
    const { createNode } = await import('/nitro/browser.js');
    const nodes = [];
    for (let i = 0; i < 4; i++) nodes.push(await createNode({ name: `page${i}` }));
    const got = nodes.map(() => []);
    nodes.forEach((n, i) => n.subscribe('local', (msg, meta) => got[i].push([meta.seq, msg])));
    const start = performance.now();
    while (!nodes.every((n) => n.neighbors().length > 0)) {
      if (performance.now() - start > 10000) throw new Error('no overlay in the page');
      await new Promise((r) => setTimeout(r, 10));
    }
    for (let i = 0; i < 10; i++) await nodes[0].publish('local', { i });
    while (!got.every((g) => g.length === 10)) {
      if (performance.now() - start > 15000) throw new Error(`deliveries: ${got.map((g) => g.length)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.all(nodes.map((n) => n.close()));
    return got;
  });
  for (const g of result) assert.deepEqual(g, Array.from({ length: 10 }, (_, i) => [i + 1, { i }]));
});
