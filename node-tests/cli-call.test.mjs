// `nitro call` against a running `nitro node start` (separate processes, the node's WebSocket
// transport with secure links): unary, server stream, metadata and deadline reaching the handler,
// error codes of the call (UNIMPLEMENTED, DEADLINE_EXCEEDED, NOT_FOUND) with exit 1, usage and
// network errors (no node at --peer) with exit 2. The calls run concurrently (one process each) against one node to keep the suite short.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { cliRunner as runner, nodeStart } from './support/node-start.mjs';
import { within } from './support/wait.mjs';

const nitro = fileURLToPath(new URL('../js/dist/cli.js', import.meta.url));

/** Runs a command to completion: { code, stdout, stderr, ms }. */
function exec(script, args) {
  const startedAt = Date.now();
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - startedAt })));
  return within(done, 20000, `nitro ${args.join(' ')}`);
}

const call = (...args) => exec(runner, ['call', ...args]);

/** A port nothing listens on (bound, then released). */
async function closedPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const node = nodeStart();  // `nitro node start --listen 0 --name svc --echo`

test('node start prints the exact call line for its address and name', () => {
  assert.match(node.ready.address, /^ws:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(node.ready.name, 'svc');
  assert.equal(node.ready.call, `nitro call svc Node.Info '{}' --peer ${node.ready.address}`);
  assert.deepEqual(node.ready.methods, ['Echo.Context', 'Echo.Count', 'Echo.Echo', 'Echo.Sleep', 'Node.Info']);
});

test('nitro call against the node: results, errors (exit 1), usage (exit 2)', { concurrency: true }, async (t) => {
  const peer = ['--peer', node.ready.address];
  await Promise.all([
    t.test('unary Node.Info: the node answers with its identity, exit 0', async () => {
      const r = await call('svc', 'Node.Info', '{}', ...peer);
      assert.equal(r.code, 0, r.stderr);
      const info = JSON.parse(r.stdout);
      assert.equal(info.id, node.ready.id);
      assert.equal(info.name, 'svc');
      assert.equal(info.address, node.ready.address);
      assert.ok(info.peers.length >= 1, 'the caller is linked');
    }),
    t.test('unary Echo.Echo round-trips JSON, bytes included', async () => {
      const request = { s: 'x', n: [1, 2.5, null], nested: { ok: true }, b: { $bytes: '00ff' } };
      const r = await call('svc', 'Echo.Echo', JSON.stringify(request), ...peer);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, JSON.stringify(request) + '\n');
    }),
    t.test('metadata and the deadline reach the handler', async () => {
      const r = await call('svc', 'Echo.Context', '{}', ...peer, '--metadata', 'trace=abc', '--metadata', 'k==v', '--timeout-ms', '8000');
      assert.equal(r.code, 0, r.stderr);
      const ctx = JSON.parse(r.stdout);
      assert.deepEqual(ctx.metadata, { trace: 'abc', k: '=v' });
      assert.equal(ctx.method, 'Echo.Context');
      assert.ok(ctx.deadlineInMs > 0 && ctx.deadlineInMs <= 8000, `deadline ${ctx.deadlineInMs}`);
    }),
    t.test('--stream prints one JSON line per message', async () => {
      const r = await call('svc', 'Echo.Count', '{"to":4}', '--stream', ...peer);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l)), [0, 1, 2, 3]);
    }),
    t.test('an unknown method exits 1 with UNIMPLEMENTED', async () => {
      const r = await call('svc', 'Echo.Nope', '{}', ...peer);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^error: UNIMPLEMENTED: unknown method 'Echo.Nope'\n$/);
    }),
    t.test('a streaming method called without --stream exits 1 with a hint', async () => {
      const r = await call('svc', 'Echo.Count', '{}', ...peer);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: UNIMPLEMENTED: .*\(use --stream\)\n$/);
    }),
    t.test('a handler slower than --timeout-ms exits 1 with DEADLINE_EXCEEDED', async () => {
      const r = await call('svc', 'Echo.Sleep', '{"ms":30000}', '--timeout-ms', '3000', ...peer);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: DEADLINE_EXCEEDED: /);
      assert.ok(r.ms < 15000, `waited ${r.ms} ms for a 3000 ms deadline`);
    }),
    t.test('a handler error keeps its code and message', async () => {
      const r = await call('svc', 'Echo.Sleep', '{"ms":-1}', ...peer);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: INVALID_ARGUMENT: ms must be a number/);
    }),
    t.test('a service nobody serves exits 1 with NOT_FOUND', async () => {
      const r = await call('nobody', 'Node.Info', '{}', ...peer);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: NOT_FOUND: no node serving 'nobody'/);
    }),
    t.test('a peer address where nothing listens exits 2 (network) with UNAVAILABLE', async () => {
      const r = await call('svc', 'Node.Info', '{}', '--peer', `ws://127.0.0.1:${await closedPort()}`);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^error: UNAVAILABLE: cannot reach a nitro node at ws:\/\/127\.0\.0\.1:\d+\n$/);
    }),
    t.test('a peer that accepts but never answers exits 2 (network) with DEADLINE_EXCEEDED', async () => {
      const sockets = new Set();
      const silent = createServer((socket) => sockets.add(socket));
      await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const r = await call('svc', 'Node.Info', '{}', '--timeout-ms', '500', '--peer', `ws://127.0.0.1:${silent.address().port}`);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /^error: DEADLINE_EXCEEDED: no secure link to ws:/);
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    }),
    t.test('bad JSON exits 2 without calling', async () => {
      const r = await call('svc', 'Echo.Echo', '{"a":', ...peer);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^nitro call: bad JSON request: .*\nusage: nitro call /);
    }),
    t.test('--help prints the usage, exit 0', async () => {
      const r = await exec(nitro, ['call', '--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^usage: nitro call /);
    }),
    t.test('a missing Method exits 2, through the nitro binary', async () => {
      const r = await exec(nitro, ['call', 'svc']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /missing <service> or <Method>\nusage: nitro call /);
    }),
    ...[['--timeout-ms', '0'], ['--metadata', 'novalue'], ['--peer', 'http://x'], ['--bogus'], ['{}', 'extra']].map((args) =>
      t.test(`usage error exits 2: ${args.join(' ')}`, async () => {
        const r = await call('svc', 'Node.Info', ...(args[0] === '{}' ? args : ['{}', ...args]));
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /usage: nitro call /);
      })),
  ]);
});
