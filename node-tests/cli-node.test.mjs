// The shell face of the node: `nitro node start`, `nitro publish`, `nitro subscribe` over
// WebSocket, each its own process speaking JSON lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { within } from './support/wait.mjs';

const runner = fileURLToPath(new URL('./support/cli-run.mjs', import.meta.url));

function run(args) {
  const child = spawn(process.execPath, [runner, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const waiters = new Set();
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  createInterface({ input: child.stdout }).on('line', (l) => {
    lines.push(JSON.parse(l));
    for (const w of [...waiters]) w();
  });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
  const next = (pred, what) => within(new Promise((resolve) => {
    const w = () => {
      const hit = lines.find(pred);
      if (hit) { waiters.delete(w); resolve(hit); }
    };
    waiters.add(w);
    w();
  }), 15000, what);
  return { child, lines, exited, next };
}

test('cli: node start, subscribe --count 1 and publish talk over WebSocket; all exit cleanly', async () => {
  const server = run(['node', 'start', '--listen', '0', '--name', 'hub', '--subscribe', 'news']);
  const ready = await server.next((l) => l.event === 'ready', 'server ready');
  assert.match(ready.address, /^ws:\/\/127\.0\.0\.1:\d+$/);

  const sub = run(['subscribe', '--bootstrap', ready.address, '--count', '1', 'news']);
  await sub.next((l) => l.event === 'subscribed', 'subscriber joined');

  const pub = run(['publish', '--bootstrap', ready.address, 'news', '{"headline":"hi","n":[1,2]}']);
  const published = await pub.next((l) => l.event === 'published', 'published');
  assert.equal(published.seq, 1);
  assert.deepEqual(await pub.exited, { code: 0, stderr: '' });

  const got = await sub.next((l) => l.event === 'message', 'message at the subscriber');
  assert.deepEqual(got.msg, { headline: 'hi', n: [1, 2] });
  assert.equal(got.from, published.from);
  assert.equal((await within(sub.exited, 10000, 'subscriber exit')).code, 0);
  await server.next((l) => l.event === 'message' && l.from === published.from, 'message at the server');

  server.child.kill('SIGTERM');
  await server.next((l) => l.event === 'closed', 'server closed');
  assert.equal((await within(server.exited, 10000, 'server exit')).code, 0);
});

test('cli: usage errors exit with code 2', async () => {
  const bad = run(['publish', 'news']);
  const { code, stderr } = await bad.exited;
  assert.equal(code, 2);
  assert.match(stderr, /usage: nitro publish/);
});
