// RPC through the JS API over in-process links: unary, every streaming kind, deadlines,
// cancellation reaching the handler, error mapping, retries, round-robin, interceptors, JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { init, NitroError } from '../js/dist/node.js';
import { Rpc, MemoryNetwork } from '../js/dist/rpc.js';

await init();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A client node "cli" and server nodes serving `service`, all registered as its instances.
function cluster(servers = ['srv'], service = 'greeter', options = {}) {
  const net = new MemoryNetwork();
  const nodes = {};
  for (const id of servers) nodes[id] = new Rpc(net.link(id), { name: service, seed: 1, ...options });
  const cli = new Rpc(net.link('cli'), { seed: 2, ...options });
  for (const id of servers) cli.registry.add(service, id);
  const close = () => { cli.close(); for (const n of Object.values(nodes)) n.close(); };
  return { net, nodes, cli, close };
}

test('unary call with metadata and propagated deadline', async () => {
  const { nodes, cli, close } = cluster();
  let seen;
  nodes.srv.handle('Greeter.Hello', async (req, ctx) => {
    seen = ctx;
    return { msg: 'hi ' + req.name };
  });
  const before = Date.now();
  const rsp = await cli.call('greeter', 'Greeter.Hello', { name: 'x' }, { timeoutMs: 1000, metadata: { trace: 't1' } });
  assert.deepEqual(rsp, { msg: 'hi x' });
  assert.equal(seen.metadata.trace, 't1');
  assert.equal(seen.peer, 'cli');
  assert.equal(seen.method, 'Greeter.Hello');
  assert.ok(seen.deadline >= before + 900 && seen.deadline <= Date.now() + 1000);
  assert.equal(cli.activeCalls, 0);
  close();
});

test('server streaming: an async generator handler, for await on the caller (with flow control)', async () => {
  const { nodes, cli, close } = cluster(['srv'], 'greeter', { window: 4 });
  nodes.srv.handle('Greeter.Count', async function* (req) {
    for (let i = 0; i < req.to; i++) yield { i };
  });
  const got = [];
  for await (const item of cli.stream('greeter', 'Greeter.Count', { to: 50 })) got.push(item.i);
  assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => i));
  close();
});

test('client streaming: many requests, one response', async () => {
  const { nodes, cli, close } = cluster(['srv'], 'greeter', { window: 4 });
  nodes.srv.handle('Math.Sum', async (reqs) => {
    let sum = 0;
    for await (const r of reqs) sum += r.n;
    return { sum };
  }, { kind: 'client' });
  const call = cli.clientStream('greeter', 'Math.Sum');
  for (let n = 1; n <= 40; n++) await call.send({ n });
  assert.deepEqual(await call.end(), { sum: 820 });
  close();
});

test('bidi streaming: echo both ways', async () => {
  const { nodes, cli, close } = cluster(['srv'], 'greeter', { window: 4 });
  nodes.srv.handle('Chat.Echo', async function* (reqs) {
    for await (const r of reqs) yield r.toUpperCase();
  }, { kind: 'bidi' });
  const chat = cli.bidi('greeter', 'Chat.Echo');
  const words = Array.from({ length: 30 }, (_, i) => 'w' + i);
  const reader = (async () => {
    const out = [];
    for await (const w of chat) out.push(w);
    return out;
  })();
  for (const w of words) await chat.send(w);
  await chat.end();
  assert.deepEqual(await reader, words.map((w) => w.toUpperCase()));
  close();
});

test('deadline exceeded: the caller gets DEADLINE_EXCEEDED and the handler is signalled', async () => {
  const { nodes, cli, close } = cluster();
  let handlerReason;
  nodes.srv.handle('Slow.Op', (req, ctx) => new Promise((resolve) => {
    ctx.signal.addEventListener('abort', () => { handlerReason = ctx.signal.reason; resolve('late'); });
  }));
  await assert.rejects(cli.call('greeter', 'Slow.Op', {}, { timeoutMs: 60 }), (err) => {
    assert.ok(err instanceof NitroError);
    assert.equal(err.code, 'DEADLINE_EXCEEDED');
    assert.equal(err.name, 'DeadlineExceededError');
    return true;
  });
  await sleep(30);
  assert.equal(handlerReason?.code, 'DEADLINE_EXCEEDED');
  close();
});

test('cancellation through an AbortSignal reaches the handler', async () => {
  const { nodes, cli, close } = cluster();
  let started;
  const startedP = new Promise((r) => (started = r));
  let aborted;
  const abortedP = new Promise((r) => (aborted = r));
  nodes.srv.handle('Slow.Op', (req, ctx) => new Promise(() => {
    started();
    ctx.signal.addEventListener('abort', () => aborted(ctx.signal.reason));
  }));
  const ac = new AbortController();
  const p = cli.call('greeter', 'Slow.Op', {}, { signal: ac.signal, timeoutMs: 5000 });
  await startedP;
  ac.abort();
  await assert.rejects(p, (err) => err.code === 'CANCELLED');
  const reason = await abortedP;
  assert.equal(reason.code, 'CANCELLED');
  close();
});

test('breaking out of a server stream cancels the handler', async () => {
  const { nodes, cli, close } = cluster();
  let finished;
  const finishedP = new Promise((r) => (finished = r));
  nodes.srv.handle('Feed.Forever', async function* (req, ctx) {
    try {
      for (let i = 0; ; i++) {
        yield i;
        if (ctx.signal.aborted) return;
      }
    } finally {
      finished(ctx.signal.aborted);
    }
  });
  const got = [];
  for await (const i of cli.stream('greeter', 'Feed.Forever', {})) {
    got.push(i);
    if (got.length === 5) break;
  }
  assert.deepEqual(got, [0, 1, 2, 3, 4]);
  assert.equal(await finishedP, true);
  close();
});

test('a request outside the data model is INVALID_ARGUMENT and the calls queued with it still run', async () => {
  const { nodes, cli, close } = cluster();
  nodes.srv.handle('Greeter.Hello', async (req) => ({ msg: 'hi ' + req.name }));
  const first = cli.call('greeter', 'Greeter.Hello', { name: 'a' });
  await assert.rejects(cli.call('greeter', 'Greeter.Hello', { name: 'b', bad: () => 1 }), (err) => err.code === 'INVALID_ARGUMENT');
  const third = cli.call('greeter', 'Greeter.Hello', { name: 'c' });
  assert.deepEqual(await Promise.all([first, third]), [{ msg: 'hi a' }, { msg: 'hi c' }]);
  close();
});

test('bursts beyond framesPerStep are worked through in later steps, in order', async () => {
  const { nodes, cli, close } = cluster(['srv'], 'greeter', { framesPerStep: 3 });
  nodes.srv.handle('Greeter.Hello', async (req) => ({ n: req.n }));
  const replies = await Promise.all(Array.from({ length: 50 }, (_, n) => cli.call('greeter', 'Greeter.Hello', { n })));
  assert.deepEqual(replies.map((r) => r.n), Array.from({ length: 50 }, (_, n) => n));
  nodes.srv.handle('Greeter.Chat', async function* (requests) { for await (const m of requests) yield m; }, { kind: 'bidi' });
  const chat = cli.bidi('greeter', 'Greeter.Chat');
  const echoed = [];
  const reading = (async () => { for await (const m of chat) echoed.push(m); })();  // keeps credit flowing
  for (let i = 0; i < 40; i++) await chat.send(i);
  await chat.end();
  await reading;
  assert.deepEqual(echoed, Array.from({ length: 40 }, (_, i) => i));
  close();
});

test('bursts split by recordsPerStep reach every handler once, in order, with a failed start between', async () => {
  const { nodes, cli, close } = cluster(['srv'], 'greeter', { recordsPerStep: 3 });
  const seen = [];
  nodes.srv.handle('Greeter.Hello', async (req) => {
    seen.push(req.n);
    return { n: req.n };
  });
  const calls = Array.from({ length: 50 }, (_, n) => cli.call('greeter', 'Greeter.Hello', { n }));
  // A request the encoder refuses is taken out of the queue again; the calls around it are intact.
  await assert.rejects(cli.call('greeter', 'Greeter.Hello', { bad: () => 1 }), (err) => err.code === 'INVALID_ARGUMENT');
  calls.push(...Array.from({ length: 10 }, (_, i) => cli.call('greeter', 'Greeter.Hello', { n: 50 + i })));
  const replies = await Promise.all(calls);
  const expected = Array.from({ length: 60 }, (_, n) => n);
  assert.deepEqual(replies.map((r) => r.n), expected);
  assert.deepEqual(seen, expected);
  close();
});

test('unknown service and unknown method are UNIMPLEMENTED', async () => {
  const { nodes, cli, close } = cluster();
  nodes.srv.handle('Greeter.Hello', async () => 'hi');
  await assert.rejects(cli.call('greeter', 'Greeter.Nope', {}), (err) => err.code === 'UNIMPLEMENTED' && /unknown method/.test(err.message));
  cli.registry.add('billing', 'srv');
  await assert.rejects(cli.call('billing', 'Greeter.Hello', {}), (err) => err.code === 'UNIMPLEMENTED' && /unknown service/.test(err.message));
  await assert.rejects(cli.call('nowhere', 'Greeter.Hello', {}), (err) => err.code === 'UNAVAILABLE');
  close();
});

test('handler exceptions map to error codes with messages and details', async () => {
  const { nodes, cli, close } = cluster();
  nodes.srv.handle('Users.Get', async (req) => {
    if (req.id === 1) throw new NitroError('NOT_FOUND', 'no user 1', { id: 1 });
    if (req.id === 2) throw Object.assign(new Error('go away'), { code: 'PERMISSION_DENIED' });
    throw new Error('boom');
  });
  await assert.rejects(cli.call('greeter', 'Users.Get', { id: 1 }), (err) => {
    assert.equal(err.code, 'NOT_FOUND');
    assert.equal(err.name, 'NotFoundError');
    assert.equal(err.message, 'no user 1');
    assert.deepEqual(err.details, { id: 1 });
    return true;
  });
  await assert.rejects(cli.call('greeter', 'Users.Get', { id: 2 }), (err) => err.code === 'PERMISSION_DENIED' && err.message === 'go away');
  await assert.rejects(cli.call('greeter', 'Users.Get', { id: 3 }), (err) => err.code === 'UNKNOWN' && err.message === 'boom');
  close();
});

test('idempotent calls retry on another instance; non-idempotent ones do not', async () => {
  const { nodes, cli, close } = cluster(['s1', 's2', 's3']);
  const served = [];
  for (const [id, node] of Object.entries(nodes)) {
    node.handle('Greeter.Hello', async () => {
      served.push(id);
      if (id === 's1') throw new NitroError('UNAVAILABLE', 's1 is draining');
      return id;
    });
  }
  const rsp = await cli.call('greeter', 'Greeter.Hello', {}, { idempotent: true, retries: 2 });
  assert.notEqual(rsp, 's1');
  assert.equal(served[0], 's1');
  assert.equal(served.length, 2);
  served.length = 0;
  await assert.rejects(cli.call('greeter', 'Greeter.Hello', {}, { retries: 2, peer: 's1' }), (err) => err.code === 'UNAVAILABLE');
  assert.deepEqual(served, ['s1']);
  close();
});

test('round-robin spreads load evenly over 3 instances', async () => {
  const { nodes, cli, close } = cluster(['s1', 's2', 's3']);
  const counts = { s1: 0, s2: 0, s3: 0 };
  for (const [id, node] of Object.entries(nodes)) node.handle('Greeter.Hello', async () => { counts[id]++; return id; });
  await Promise.all(Array.from({ length: 300 }, () => cli.call('greeter', 'Greeter.Hello', {})));
  assert.deepEqual(counts, { s1: 100, s2: 100, s3: 100 });
  close();
});

test('consistent hashing keeps one key on one instance', async () => {
  const { nodes, cli, close } = cluster(['s1', 's2', 's3']);
  for (const [id, node] of Object.entries(nodes)) node.handle('Cart.Get', async () => id);
  for (const key of ['alice', 'bob', 'carol']) {
    const owners = new Set();
    for (let i = 0; i < 10; i++) owners.add(await cli.call('greeter', 'Cart.Get', {}, { strategy: 'hash', key }));
    assert.equal(owners.size, 1);
  }
  close();
});

test('interceptors on client and server (auth and metrics)', async () => {
  const { nodes, cli, close } = cluster();
  const log = [];
  nodes.srv.use({
    server: async (req, ctx, next) => {
      if (ctx.metadata.authorization !== 'Bearer good') throw new NitroError('UNAUTHENTICATED', 'bad token');
      log.push('server:' + ctx.method);
      return next(req, ctx);
    },
  });
  nodes.srv.handle('Greeter.Hello', async (req) => 'hi ' + req);
  cli.use({
    client: async (call, next) => {
      call.metadata.authorization = call.options.token ?? 'Bearer good';
      const started = Date.now();
      try {
        return await next(call);
      } finally {
        log.push(`client:${call.method}:${Date.now() - started >= 0}`);
      }
    },
  });
  assert.equal(await cli.call('greeter', 'Greeter.Hello', 'x'), 'hi x');
  await assert.rejects(cli.call('greeter', 'Greeter.Hello', 'x', { token: 'Bearer bad' }), (err) => err.code === 'UNAUTHENTICATED');
  assert.deepEqual(log, ['server:Greeter.Hello', 'client:Greeter.Hello:true', 'client:Greeter.Hello:true']);
  close();
});

test('JSON content type is accepted and answered in kind', async () => {
  const { nodes, cli, close } = cluster();
  nodes.srv.handle('Greeter.Hello', async (req) => ({ msg: 'hi ' + req.name, n: [1, 2] }));
  assert.deepEqual(await cli.call('greeter', 'Greeter.Hello', { name: 'j' }, { contentType: 'json' }), { msg: 'hi j', n: [1, 2] });
  close();
});

test('a peer going down fails its calls with UNAVAILABLE', async () => {
  const { net, nodes, cli, close } = cluster();
  nodes.srv.handle('Slow.Op', () => new Promise(() => {}));
  const p = cli.call('greeter', 'Slow.Op', {}, { timeoutMs: 5000 });
  await sleep(5);
  net.down('srv');
  await assert.rejects(p, (err) => err.code === 'UNAVAILABLE');
  close();
});

test('advertisements feed the registry with a TTL', async () => {
  const { nodes, cli, close } = cluster([]);
  const net = new MemoryNetwork();
  const srv = new Rpc(net.link('far'), { name: 'billing' });
  cli.applyAdvertisement(srv.advertisement(60000));
  const inst = cli.registry.instances('billing');
  assert.equal(inst.length, 1);
  assert.equal(inst[0].peer, 'far');
  assert.ok(inst[0].expiresAtMs > 0);
  assert.throws(() => cli.applyAdvertisement(new Uint8Array([1, 2, 3])), (err) => err.code === 'DECODE_ERROR');
  srv.close();
  void nodes;
  close();
});

test('the payload msgpack (js/src/msgpack.ts) is byte-identical to the core codec', async () => {
  const { codec } = await import('../js/dist/node.js');
  const { encode, decode } = await import('../js/dist/msgpack.js');
  const values = [
    null, true, false, 0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER,
    -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, Number.MIN_SAFE_INTEGER,
    2n ** 63n, 2n ** 64n - 1n, -(2n ** 63n), 1.5, -1e300, 0.1, '', 'a', 'héllo ✓', 'x'.repeat(31), 'x'.repeat(32),
    'y'.repeat(300), 'z'.repeat(70000), new Uint8Array([1, 2, 3]), new Uint8Array(300), [], [1, [2, [3]]],
    Array.from({ length: 20 }, (_, i) => i), {}, { a: 1, b: { c: [true, null] } },
    Object.fromEntries(Array.from({ length: 20 }, (_, i) => ['k' + i, i])), new Map([[1, 'one'], ['two', 2]]),
  ];
  for (const v of values) {
    const ours = encode(v);
    assert.deepEqual(Buffer.from(ours).toString('hex'), Buffer.from(codec.encode(v)).toString('hex'), `encode ${String(v).slice(0, 20)}`);
    assert.deepEqual(decode(ours), codec.decode(ours));
  }
  for (const bad of [[], [0xc1], [0xd4, 1, 0], [0x92, 1], [0xc0, 0xc0], [0xdb, 0xff, 0xff, 0xff, 0xff, 0x61], [0xa2, 0xff, 0xfe]]) {
    assert.throws(() => decode(new Uint8Array(bad)), (err) => err.code === 'DECODE_ERROR');
  }
  assert.throws(() => encode(() => 1), (err) => err.code === 'INVALID_ARGUMENT');
  // A map whose keys turn non-string midway becomes a Map of every entry; a "__proto__" key is
  // an own property, never the object's prototype.
  assert.deepEqual(decode(encode(new Map([['a', 1], [2, 'b'], ['c', 3]]))), new Map([['a', 1], [2, 'b'], ['c', 3]]));
  // Invalid UTF-8 decoded leniently (engine text) must not let the strict decoder accept it later.
  const { utf8String } = await import('../js/dist/msgpack.js');
  const badText = new Uint8Array(20).fill(0x61);
  badText[5] = 0xff;
  assert.match(utf8String(badText, true), /\uFFFD/);
  assert.throws(() => decode(new Uint8Array([0xb4, ...badText])), (err) => err.code === 'DECODE_ERROR');
  const tricky = decode(new Uint8Array([0x81, 0xa9, ...Buffer.from('__proto__'), 0x81, 0xa1, 0x78, 0x01]));
  assert.equal(Object.getPrototypeOf(tricky), Object.prototype);
  assert.deepEqual(Object.keys(tricky), ['__proto__']);
  assert.equal(tricky.x, undefined);
});

test('over WebSocket between processes: every call kind, errors, deadlines, cancellation', async () => {
  const { spawn } = await import('node:child_process');
  const { WebSocket } = await import('ws');
  const { SocketLink } = await import('../js/dist/rpc.js');
  const child = spawn(process.execPath, [new URL('./support/rpc_ws_server.mjs', import.meta.url).pathname, 'srv-proc'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise((resolve, reject) => {
      child.stdout.once('data', (d) => resolve(Number(/port (\d+)/.exec(d.toString())[1])));
      child.once('exit', (code) => reject(new Error('server exited ' + code)));
    });
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    const link = new SocketLink('cli-proc');
    const hello = link.add(ws);  // before 'open': the server's hello may come with it
    const cli = new Rpc(link);
    const peer = await hello;
    assert.equal(peer, 'srv-proc');
    cli.registry.add('greeter', peer);

    const rsp = await cli.call('greeter', 'Greeter.Hello', { name: 'ws' }, { metadata: { trace: 't9' } });
    assert.equal(rsp.msg, 'hi ws');
    assert.equal(rsp.trace, 't9');
    assert.equal(rsp.pid, child.pid);

    const got = [];
    for await (const i of cli.stream('greeter', 'Greeter.Count', { to: 100 })) got.push(i);
    assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i));

    const sum = cli.clientStream('greeter', 'Math.Sum');
    for (let n = 1; n <= 50; n++) await sum.send(n);
    assert.equal(await sum.end(), 1275);

    const chat = cli.bidi('greeter', 'Chat.Echo');
    const reader = (async () => { const out = []; for await (const w of chat) out.push(w); return out; })();
    for (const w of ['a', 'b', 'c']) await chat.send(w);
    await chat.end();
    assert.deepEqual(await reader, ['A', 'B', 'C']);

    await assert.rejects(cli.call('greeter', 'Users.Get', {}), (err) => err.code === 'NOT_FOUND' && err.details.id === 7);
    await assert.rejects(cli.call('greeter', 'Nope.Nope', {}), (err) => err.code === 'UNIMPLEMENTED');
    await assert.rejects(cli.call('greeter', 'Slow.Op', {}, { timeoutMs: 50 }), (err) => err.code === 'DEADLINE_EXCEEDED');
    const ac = new AbortController();
    const slow = cli.call('greeter', 'Slow.Op', {}, { signal: ac.signal });
    await sleep(30);
    ac.abort();
    await assert.rejects(slow, (err) => err.code === 'CANCELLED');
    await sleep(30);
    assert.equal(await cli.call('greeter', 'Stats.Cancelled', {}), 2);  // both reached the handler
    cli.close();
    link.close();
  } finally {
    child.kill();
  }
});

test('nitro call (js/src/cli/call.ts) against a server process', async () => {
  const { spawn } = await import('node:child_process');
  const { callCommand } = await import('../js/dist/cli/call.js');
  const child = spawn(process.execPath, [new URL('./support/rpc_ws_server.mjs', import.meta.url).pathname, 'srv-cli'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const out = [];
  const err = [];
  const log = console.log;
  const error = console.error;
  try {
    const port = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(Number(/port (\d+)/.exec(d.toString())[1]))));
    console.log = (line) => out.push(line);
    console.error = (line) => err.push(line);
    const url = `ws://127.0.0.1:${port}`;
    assert.equal(await callCommand(['greeter', 'Greeter.Hello', '{"name":"cli"}', '--url', url, '--metadata', 'trace=x']), 0);
    assert.equal(await callCommand(['greeter', 'Greeter.Count', '{"to":3}', '--url', url, '--stream']), 0);
    assert.equal(await callCommand(['greeter', 'Users.Get', '{}', '--url', url]), 1);
    assert.equal(await callCommand(['greeter']), 2);
  } finally {
    console.log = log;
    console.error = error;
    child.kill();
  }
  const hello = JSON.parse(out[0]);
  assert.equal(hello.msg, 'hi cli');
  assert.equal(hello.trace, 'x');
  assert.deepEqual(out.slice(1), ['0', '1', '2']);
  assert.match(err[0], /NOT_FOUND: no such user/);
  assert.match(err[1], /usage: nitro call/);
});
