// WebRTC in real Chromium: two pages in separate browser contexts join through a Node WebSocket
// node, upgrade to a direct data channel signalled through that node, and keep exchanging pub/sub,
// an RPC call and document edits after the WebSocket node is stopped. Then a Node node
// (node-datachannel) and a page connect the same way. Chromium runs with its defaults (host
// candidates hidden behind `<uuid>.local` mDNS names): that works here (docs/notes/webrtc.md);
// NITRO_RTC_SHOW_IPS=1 adds --disable-features=WebRtcHideLocalIpsWithMdns for hosts where it does not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { serve } from '../scripts/serve.mjs';
import { chromiumArgs } from './support/browser.mjs';
import { createNode, websocket, webrtc, init, signalStats } from '../js/dist/node.js';
import { waitFor, within } from './support/wait.mjs';

let site;
let browser;
const nodes = [];

const blank = (req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>nitro rtc</title>');
const timers = { probeIntervalMs: 300, probeTimeoutMs: 200, suspicionTimeoutMs: 1500 };

before(async () => {
  await init();
  site = await serve({ routes: { '/rtc.html': blank } });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [...chromiumArgs, ...(process.env.NITRO_RTC_SHOW_IPS ? ['--disable-features=WebRtcHideLocalIpsWithMdns'] : [])],
  });
});

after(async () => {
  for (const n of nodes) await n.close();
  await browser?.close();
  await site?.close();
});

// A page in its own browser context running a node over [websocket({ url }), webrtc()].
async function pageNode(name, url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`${name} page error:`, e));
  await page.goto(site.url + 'rtc.html');
  const id = await page.evaluate(async ({ name, url, timers }) => {
    const { init, createNode, websocket, webrtc } = await import('/nitro/browser.js');
    await init();
    const node = await createNode({ name, timers, transport: [websocket({ url }), webrtc()] });
    window.node = node;
    window.got = [];
    node.subscribe('room', (msg, meta) => window.got.push({ msg, from: meta.from }));
    node.handle('Echo.Say', (req) => ({ echo: req.text, by: name }));
    window.doc = node.doc('board');
    return node.id;
  }, { name, url, timers });
  return { name, page, context, id };
}

const rtcPeers = (p) => p.page.evaluate(() => window.node.peers().filter((x) => x.address.startsWith('rtc')).map((x) => x.id));

test('webrtc: two Chromium pages connect directly and outlive the WebSocket node they met through', async (t) => {
  const server = await createNode({ name: 'rendezvous', timers, transport: websocket({ listen: 0 }) });
  const a = await pageNode('page-a', server.address);
  const b = await pageNode('page-b', server.address);
  assert.equal(await a.page.evaluate(() => window.node.address), `rtc:${a.id}`);
  const started = Date.now();
  await waitFor(async () => (await rtcPeers(a)).includes(b.id) && (await rtcPeers(b)).includes(a.id),
    { timeoutMs: 20000, intervalMs: 100, what: 'a direct WebRTC link between the pages' });
  t.diagnostic(`direct link up ${Date.now() - started} ms after both joined`);
  assert.ok(signalStats(server).relayed >= 2, 'the offer and answer went through the WebSocket node');

  await server.close();
  await waitFor(async () => (await a.page.evaluate(() => window.node.neighbors())).includes(b.id) &&
    !(await a.page.evaluate((sid) => window.node.peers().some((p) => p.id === sid), server.id)),
    { timeoutMs: 15000, intervalMs: 100, what: 'the pages as neighbors without the server' });

  // pub/sub
  await a.page.evaluate(() => window.node.publish('room', { text: 'direct', n: 1 }));
  await b.page.waitForFunction(() => window.got.some((g) => g.msg.text === 'direct'), null, { timeout: 10000 });
  // RPC: b calls the service of page-a
  const rsp = await b.page.evaluate(() => window.node.call('page-a', 'Echo.Say', { text: 'hello' }, { timeoutMs: 8000 }));
  assert.deepEqual(rsp, { echo: 'hello', by: 'page-a' });
  // document edits both ways
  await a.page.evaluate(() => window.doc.getMap('cards').set('c1', { title: 'from a' }));
  await b.page.waitForFunction(() => window.doc.getMap('cards').get('c1')?.title === 'from a', null, { timeout: 10000 });
  await b.page.evaluate(() => window.doc.getText('notes').insert(0, 'from b'));
  await a.page.waitForFunction(() => window.doc.getText('notes').toString() === 'from b', null, { timeout: 10000 });

  const stats = await a.page.evaluate(async () => (await import('/nitro/browser.js')).signalStats(window.node));
  assert.ok(stats.open >= 1 && stats.open <= 16, `open sessions within the cap: ${JSON.stringify(stats)}`);
  for (const p of [a, b]) {
    await p.page.evaluate(() => window.node.close());
    await p.context.close();
  }
});

test('webrtc: a Node process (node-datachannel) and a Chromium page connect directly', async () => {
  const server = await createNode({ name: 'rendezvous2', timers, transport: websocket({ listen: 0 }) });
  const local = await createNode({ name: 'node-side', timers, transport: [websocket({ url: server.address }), webrtc()] });
  nodes.push(local);
  const got = [];
  local.subscribe('room', (msg) => got.push(msg));
  const p = await pageNode('page-c', server.address);
  const rtc = () => local.peers().filter((x) => x.address.startsWith('rtc')).map((x) => x.id);
  await waitFor(() => rtc().includes(p.id), { timeoutMs: 20000, intervalMs: 100, what: 'node <-> page WebRTC link' });
  await server.close();
  await waitFor(() => local.neighbors().includes(p.id) && !local.peers().some((x) => x.id === server.id),
    { timeoutMs: 15000, intervalMs: 100, what: 'node and page as neighbors without the server' });
  await p.page.evaluate(() => window.node.publish('room', { text: 'from page' }));
  await waitFor(() => got.some((m) => m.text === 'from page'), { timeoutMs: 10000, what: 'the page message at the node' });
  await local.publish('room', { text: 'from node' });
  await p.page.waitForFunction(() => window.got.some((g) => g.msg.text === 'from node'), null, { timeout: 10000 });
  const rsp = await within(local.call('page-c', 'Echo.Say', { text: 'x' }, { timeoutMs: 8000 }), 10000, 'rpc to the page');
  assert.deepEqual(rsp, { echo: 'x', by: 'page-c' });
  await p.page.evaluate(() => window.node.close());
  await p.context.close();
});
