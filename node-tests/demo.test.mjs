// The demo as people use it: starts what `npm start` starts (scripts/start.mjs on a free port, the
// board kept in a temporary directory), opens two Chromium tabs as two people and drives the page:
// an edit in one tab appears in the other, a card the Node processes add appears in both, chat
// arrives, an RPC call answers, the nodes' beacon round verifies (checked again here with
// @noble/curves, and the raffle winner recomputed), the chain height advances. Screenshots of both
// tabs go to build/demo/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, statSync, readFileSync } from 'node:fs';
import { createHash, hkdfSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { bls12_381 as noble } from '@noble/curves/bls12-381.js';
import { chromiumArgs } from './support/browser.mjs';

const root = new URL('..', import.meta.url).pathname;
const kStartTimeoutMs = 60000;
const kWaitMs = 30000;
const shots = join(root, 'build/demo');

let server;
let dataDir;
let browser;
let url;
const tabs = [];

// Starts scripts/start.mjs and resolves with the demo's URL from its output.
function startDemo() {
  dataDir = mkdtempSync(join(tmpdir(), 'nitro-demo-'));
  server = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: root, env: { ...process.env, PORT: '0', NITRO_DEMO_DATA: dataDir }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start printed no URL within ${kStartTimeoutMs} ms:\n${output}`)), kStartTimeoutMs);
    const read = (chunk) => {
      output += chunk;
      const m = /Web demo: (http:\/\/\S+)/.exec(output);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    server.stdout.on('data', read);
    server.stderr.on('data', (c) => { output += c; });
    server.once('exit', (code) => { clearTimeout(timer); reject(new Error(`start.mjs exited (${code}):\n${output}`)); });
  });
}

async function stopDemo() {
  if (!server || server.exitCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(timer);
}

async function openTab(name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.addInitScript((n) => localStorage.setItem('nitro-demo-name', n), name);
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForSelector('body[data-joined="true"]', { timeout: kStartTimeoutMs });
  return { name, page, context, errors };
}

before(async () => {
  url = await startDemo();
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: chromiumArgs });
  tabs.push(await openTab('Ada'), await openTab('Grace'));
});

after(async () => {
  await browser?.close();
  await stopDemo();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const waitIn = (tab, fn, arg) => tab.page.waitForFunction(fn, arg, { timeout: kWaitMs, polling: 100 });

test('demo: an edit in one tab appears in the other, both ways', async (t) => {
  const [a, b] = tabs;
  const t0 = Date.now();
  await a.page.click('#add-card');
  const id = await a.page.evaluate(() => document.activeElement.closest('.card').dataset.id);
  await a.page.keyboard.type('Plan from tab one');
  const typed = Date.now();
  await waitIn(b, (id) => document.querySelector(`.card[data-id="${id}"] .title`)?.value === 'Plan from tab one', id);
  t.diagnostic(`tab one typed in ${typed - t0} ms; tab two had it ${Date.now() - typed} ms later`);
  const c0 = Date.now();
  await b.page.click(`.card[data-id="${id}"] .body`);
  const c1 = Date.now();
  await b.page.keyboard.type('agreed, says tab two');
  const back = Date.now();
  t.diagnostic(`click ${c1 - c0} ms, type ${back - c1} ms`);
  await waitIn(a, (id) => document.querySelector(`.card[data-id="${id}"] .body`)?.value === 'agreed, says tab two', id);
  t.diagnostic(`and tab one had tab two's text ${Date.now() - back} ms after it was typed`);
});

test('demo: a card added by a Node process appears in both tabs', async () => {
  const nodeCard = () => [...document.querySelectorAll('.card')].map((c) => c.dataset.id).find((id) => /^(alpha|beta|gamma|delta)-\d+$/.test(id));
  await waitIn(tabs[0], nodeCard);
  const id = await tabs[0].page.evaluate(nodeCard);
  await waitIn(tabs[1], (id) => !!document.querySelector(`.card[data-id="${id}"]`), id);
  assert.match(await tabs[1].page.inputValue(`.card[data-id="${id}"] .title`), /from (alpha|beta|gamma|delta)/);
});

test('demo: each tab sees the other person, and a chat message arrives', async () => {
  const [a, b] = tabs;
  await waitIn(a, () => document.querySelector('#people').textContent.includes('Grace'));
  await b.page.mouse.move(300, 300);
  await b.page.mouse.move(420, 360);
  await waitIn(a, () => [...document.querySelectorAll('#cursors .cursor span')].some((s) => s.textContent === 'Grace'));
  await a.page.fill('#chat-input', 'hello from Ada');
  await a.page.click('#chat-form button');
  await waitIn(b, () => document.querySelector('#chat-log').textContent.includes('Ada hello from Ada'));
});

test('demo: an RPC call from the playground answers', async () => {
  const page = tabs[1].page;
  await page.waitForSelector('#rpc-call:not([disabled])', { timeout: kWaitMs });
  await page.selectOption('#rpc-method', { index: 0 });
  await page.fill('#rpc-request', '{"name": "playwright"}');
  await page.click('#rpc-call');
  await waitIn(tabs[1], () => /"greeting": "hello playwright"/.test(document.querySelector('#rpc-output').textContent));
  assert.match(await page.textContent('#rpc-output'), /Demo\.Hello answered by (alpha|beta|gamma|delta)/);
});

test('demo: the nodes\' beacon round verifies in the page, and again with @noble/curves', async () => {
  const page = tabs[0].page;
  await waitIn(tabs[0], () => document.querySelector('#beacon-round').dataset.valid === 'true');
  await page.click('#raffle-draw');
  const drawn = await page.evaluate(() => window.nitroRaffle);
  const b = drawn.beacon;
  const hex = (s) => Uint8Array.from(Buffer.from(s, 'hex'));
  const round = Buffer.alloc(8);
  round.writeBigUInt64BE(BigInt(b.round));
  const msg = createHash('sha256').update(Buffer.concat([hex(b.previousSignature), round])).digest();
  const point = noble.longSignatures.hash(msg, 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_');
  assert.equal(noble.longSignatures.verify(hex(b.signature), point, hex(b.groupPublicKey)), true, 'pedersen-bls-chained round');
  assert.equal(b.randomness, createHash('sha256').update(hex(b.signature)).digest('hex'));

  // The raffle: HKDF-SHA256 token of the round, modulo the people present in peer-id order.
  const info = Buffer.concat([round, Buffer.from('raffle')]);
  const token = Buffer.from(hkdfSync('sha256', hex(b.randomness), 'nitro-beacon-token-v1', info, 32)).toString('hex');
  assert.equal(drawn.people.length, 2);
  assert.equal(drawn.winner, drawn.people[Number(BigInt(`0x${token}`) % 2n)].name);

  // The drand rounds the page ships verify, and the forged one does not.
  await page.click('#beacon-panel summary');
  await page.click('#beacon-verify');
  await waitIn(tabs[0], () => document.querySelector('#beacon-output').textContent.includes('forged'));
  const out = await page.textContent('#beacon-output');
  assert.match(out, /quicknet round 1: valid/);
  assert.match(out, /default round 2: valid/);
  assert.match(out, /forged round 3 .*: rejected/);
  assert.doesNotMatch(out, /INVALID|ACCEPTED/);
});

test('demo: the chain height advances, the curator lock has a holder, a like commits', async () => {
  const page = tabs[1].page;
  await waitIn(tabs[1], () => Number(document.querySelector('#chain-panel').dataset.height) > 0);
  const h = Number(await page.getAttribute('#chain-panel', 'data-height'));
  await waitIn(tabs[1], (h) => Number(document.querySelector('#chain-panel').dataset.height) >= h + 3, h);
  await waitIn(tabs[1], () => /^(alpha|beta|gamma|delta) · #\d+$/.test(document.querySelector('#chain-lock').textContent));
  // ♥ on a card: an RPC to a node that submits a chain transaction and answers at its commit.
  await page.click('.card[data-id="welcome"] .like');
  await waitIn(tabs[1], () => document.querySelector('.card[data-id="welcome"] .likes').textContent === '1');
  await waitIn(tabs[0], () => document.querySelector('.card[data-id="welcome"] .likes').textContent === '1');
});

test('demo: screenshots of both tabs, and no page errors', async () => {
  mkdirSync(shots, { recursive: true });
  for (const [i, tab] of tabs.entries()) {
    await tab.page.evaluate(() => window.scrollTo(0, 0));
    await tab.page.mouse.move(400 + 300 * i, 420);  // over the board: each tab shows the other's cursor
  }
  await waitIn(tabs[0], () => document.querySelectorAll('#cursors .cursor').length === 1);
  for (const [i, tab] of tabs.entries()) {
    const file = join(shots, `tab${i + 1}.png`);
    await tab.page.screenshot({ path: file });
    assert.ok(statSync(file).size > 10000, `${file} has content`);
    assert.deepEqual(tab.errors.map((e) => e.message), []);
  }
  await sideBySide(join(shots, 'tab1.png'), join(shots, 'tab2.png'), join(shots, 'tabs.png'));
});

// Both screenshots side by side at half size (the README's picture, docs/demo.png).
async function sideBySide(left, right, out) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 400 } });
  const img = (f) => `data:image/png;base64,${readFileSync(f).toString('base64')}`;
  await page.setContent(`<body style="margin:0;background:#111827;display:flex;gap:8px;padding:8px">
    <img style="width:calc(50% - 4px)" src="${img(left)}"><img style="width:calc(50% - 4px)" src="${img(right)}"></body>`);
  await page.screenshot({ path: out, fullPage: true });
  await page.close();
}

test('demo: at phone width the page fits the screen (no sideways scrolling)', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForSelector('body[data-joined="true"]', { timeout: kStartTimeoutMs });
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth }));
  assert.ok(scrollWidth <= innerWidth, `page is ${scrollWidth} px wide in a ${innerWidth} px viewport`);
  await page.screenshot({ path: join(shots, 'phone.png') });
  await context.close();
});

test('demo: the board is durable — in each tab\'s IndexedDB, and on disk after npm start stops', async () => {
  const [a] = tabs;
  const id = await a.page.evaluate(() => [...document.querySelectorAll('.card')].find((c) => c.querySelector('.title').value === 'Plan from tab one').dataset.id);
  const inTab = await a.page.evaluate(async (id) => {
    const { Doc, indexedDbStore } = await import('/nitro/browser.js');
    const store = indexedDbStore('nitro-demo-board-0');
    const doc = new Doc();
    for (const u of await store.load('board')) doc.applyUpdate(u);
    await store.close();
    return doc.getText(`body/${id}`).toString();
  }, id);
  assert.equal(inTab, 'agreed, says tab two');

  await stopDemo();
  const { init, Doc, fileStore } = await import('../js/dist/node.js');
  await init();
  const store = fileStore(join(dataDir, 'alpha'));
  const doc = new Doc();
  for (const u of await store.load('board')) doc.applyUpdate(u);
  await store.close();
  assert.equal(doc.getText(`title/${id}`).toString(), 'Plan from tab one');
  assert.equal(doc.getText(`body/${id}`).toString(), 'agreed, says tab two');
});
