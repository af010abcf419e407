// Presence (awareness) through the public API: node.presence(doc) and doc.awareness between nodes
// on the memory transport (states appear, update, disappear on close, and time out when a peer
// goes silent), then between two Chromium pages joined through a Node.js WebSocket node.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, memory, websocket, MemoryNetwork, init } from '../js/dist/node.js';
import { serve } from '../scripts/serve.mjs';
import { launchBrowser } from './support/browser.mjs';
import { waitFor, overlayConnected } from './support/wait.mjs';

await init();

const cleanup = [];
after(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => {});
});

let silent = '';  // frames from this address are dropped: a peer that went quiet without a goodbye
const faults = { drop: (frame) => frame.from === silent };

async function cluster(count, prefix) {
  const network = new MemoryNetwork();
  const nodes = [];
  for (let i = 0; i < count; i++) nodes.push(await createNode({ name: `${prefix}${i}`, transport: memory({ network, faults }) }));
  await waitFor(() => nodes.every((n) => n.neighbors().length > 0) && overlayConnected(nodes), { what: 'overlay' });
  return nodes;
}

const statesOf = (p) => Object.fromEntries([...p.getStates()].map(([id, s]) => [id, s]));

test('presence: states appear, update and go on close; a silent peer times out', async () => {
  const [a, b, c] = await cluster(3, 'pr');
  const opts = { renewMs: 300, timeoutMs: 1200 };
  const pa = a.presence('board', opts), pb = b.doc('board').awareness, pc = c.presence('board', opts);
  assert.equal(b.presence('board'), pb);  // doc.awareness is node.presence(name)
  const changes = [];
  pa.on('change', (ev) => changes.push(ev));
  pa.setLocalState({ name: 'ann', cursor: 0 });
  pb.setLocalState({ name: 'bob', cursor: 3 });
  pc.setLocalState({ name: 'cat' });
  await waitFor(() => [pa, pb, pc].every((p) => p.getStates().size === 3), { what: 'three states everywhere', timeoutMs: 5000 });
  assert.deepEqual(statesOf(pb)[a.id], { name: 'ann', cursor: 0 });
  assert.ok(changes.some((e) => e.origin === 'local' && e.added.includes(a.id)));
  assert.ok(changes.some((e) => e.origin === 'remote' && e.added.includes(b.id)));

  pb.setLocalStateField('cursor', 7);
  await waitFor(() => statesOf(pa)[b.id]?.cursor === 7, { what: 'the update at a' });
  assert.equal(pb.getLocalState().name, 'bob');

  // close: removed at once (not after a timeout)
  const removed = pa.once('change');
  pc.close();
  await waitFor(() => !pa.getStates().has(c.id), { what: 'c gone at a', timeoutMs: 1000 });
  assert.deepEqual((await removed).removed, [c.id]);
  await assert.rejects(pc.once('change'), { code: 'UNAVAILABLE' });  // a closed presence settles waits

  // a peer that goes quiet without a goodbye times out
  const tStart = Date.now();
  silent = b.address;
  await waitFor(() => !pa.getStates().has(b.id), { what: 'b timed out at a', timeoutMs: 6000 });
  assert.ok(Date.now() - tStart >= 1200 - 300, 'not before the timeout');
  assert.ok(Date.now() - tStart < 1200 + 300 + 3000, 'within the timeout bound');
  silent = '';
  await Promise.all([a.close(), b.close(), c.close()]);
});

test('presence between two Chromium pages through a Node.js node', async () => {
  const server = await createNode({ name: 'hub', transport: websocket({ listen: 0 }) });
  cleanup.push(() => server.close());
  server.doc('board');  // the hub relays the document's gossip
  server.presence('board');
  const site = await serve({ routes: { '/p.html': (req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>p</title>') } });
  cleanup.push(() => site.close());
  const browser = await launchBrowser();
  cleanup.push(() => browser.close());
  const pages = [await browser.newPage(), await browser.newPage()];
  const ids = [];
  for (const [i, page] of pages.entries()) {
    page.on('pageerror', (e) => console.error('page error:', e));
    await page.goto(site.url + 'p.html');
    ids.push(await page.evaluate(async ({ url, name }) => {
      const { init, createNode, websocket } = await import('/nitro/browser.js');
      await init();
      const node = await createNode({ name, transport: websocket({ url }) });
      const doc = node.doc('board');
      window.node = node;
      window.aw = doc.awareness;
      window.aw.setLocalState({ name, cursor: name.length });
      return node.id;
    }, { url: server.address, name: `page${i}` }));
  }
  for (const [i, page] of pages.entries()) {
    const other = ids[1 - i];
    await page.waitForFunction((id) => window.aw.getStates().has(id), other, { timeout: 15000 });
    const state = await page.evaluate((id) => window.aw.getStates().get(id), other);
    assert.deepEqual(state, { name: `page${1 - i}`, cursor: 5 });
  }
  await pages[1].evaluate(() => window.node.close());
  await pages[0].waitForFunction((id) => !window.aw.getStates().has(id), ids[1], { timeout: 15000 });
  await pages[0].evaluate(() => window.node.close());
});
