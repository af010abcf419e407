// Typed services (js/src/rpc/service.ts) through the public API: one definition gives a client and
// handlers for all four kinds; validators (zod-compatible `parse`, or functions) refuse bad
// requests with INVALID_ARGUMENT at the server and bad responses at the client. The types are
// checked by node-tests/readme-consumer.test.mjs (tsc --strict).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, init, memory, MemoryNetwork, defineService, createClient, implement, method } from '../js/dist/node.js';

await init();

// A zod-like schema written by hand: { parse } that throws on a mismatch.
const nameSchema = { parse: (x) => { if (typeof x?.name !== 'string') throw new Error('name must be a string'); return { name: x.name }; } };
const isNumber = (x) => { if (typeof x !== 'number') throw new Error('not a number'); return x; };

const Greeter = defineService('Greeter', {
  hello: method.unary({ request: nameSchema }),
  count: method.serverStream({ response: isNumber }),
  sum: method.clientStream({ request: isNumber }),
  echo: method.bidi({}),
  lie: method.unary({ response: isNumber }),
});

test('rpc service: one definition gives typed handlers and a client for every kind', { timeout: 30000 }, async () => {
  const network = new MemoryNetwork();
  const server = await createNode({ name: 'Greeter', transport: memory({ network }) });
  const caller = await createNode({ name: 'caller', transport: memory({ network }), bootstrap: ['mem:Greeter'] });
  try {
    implement(server, Greeter, {
      hello: async (req) => ({ msg: `hi ${req.name}` }),
      count: async function* (req) { for (let i = 0; i < req.to; i++) yield i; },
      sum: async (reqs) => { let s = 0; for await (const n of reqs) s += n; return s; },
      echo: async function* (reqs) { for await (const m of reqs) yield m; },
      lie: async () => 'not a number',
    });
    assert.deepEqual(server.rpc.methods().filter((m) => m.startsWith('Greeter.')).sort(),
      ['Greeter.count', 'Greeter.echo', 'Greeter.hello', 'Greeter.lie', 'Greeter.sum']);
    const client = createClient(caller, Greeter);
    assert.deepEqual(await client.hello({ name: 'x' }, { timeoutMs: 5000 }), { msg: 'hi x' });
    const counted = [];
    for await (const n of client.count({ to: 3 })) counted.push(n);
    assert.deepEqual(counted, [0, 1, 2]);
    const up = client.sum();
    await up.send(1); await up.send(2); await up.send(3);
    assert.equal(await up.end(), 6);
    const chat = client.echo();
    await chat.send('a'); await chat.send('b'); await chat.end();
    const echoed = [];
    for await (const m of chat) echoed.push(m);
    assert.deepEqual(echoed, ['a', 'b']);
    await assert.rejects(client.hello({ name: 7 }), (e) => e.code === 'INVALID_ARGUMENT' && /name must be a string/.test(e.message));
    await assert.rejects(client.lie({}), (e) => e.code === 'INVALID_ARGUMENT' && /Greeter.lie response/.test(e.message));
    const bad = client.sum();
    await bad.send('x');
    await assert.rejects(bad.end(), { code: 'INVALID_ARGUMENT' });
  } finally {
    await caller.close();
    await server.close();
  }
});

test('rpc service: a definition with an unknown kind or a missing handler is refused', () => {
  assert.throws(() => defineService('X', { m: { kind: 'weird' } }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => defineService('', {}), { code: 'INVALID_ARGUMENT' });
});

test('rpc: onTrailer gives the client the trailer the handler set, on success and on error', { timeout: 30000 }, async () => {
  const network = new MemoryNetwork();
  const server = await createNode({ name: 'trailers', transport: memory({ network }) });
  const caller = await createNode({ name: 'trailer-caller', transport: memory({ network }), bootstrap: ['mem:trailers'] });
  try {
    server.handle('T.ok', async (req, ctx) => { ctx.trailer['x-served-by'] = 'trailers'; return req; });
    server.handle('T.fail', async (_req, ctx) => { ctx.trailer['x-reason'] = 'quota'; throw new Error('nope'); });
    server.handle('T.count', async function* (_req, ctx) { ctx.trailer['x-count'] = '2'; yield 1; yield 2; });
    let trailer;
    assert.deepEqual(await caller.call('trailers', 'T.ok', { a: 1 }, { onTrailer: (t) => { trailer = t; } }), { a: 1 });
    assert.deepEqual(trailer, { 'x-served-by': 'trailers' });
    trailer = undefined;
    await assert.rejects(caller.call('trailers', 'T.fail', {}, { onTrailer: (t) => { trailer = t; } }));
    assert.deepEqual(trailer, { 'x-reason': 'quota' });
    trailer = undefined;
    const items = [];
    for await (const n of caller.stream('trailers', 'T.count', {}, { onTrailer: (t) => { trailer = t; } })) items.push(n);
    assert.deepEqual(items, [1, 2]);
    assert.deepEqual(trailer, { 'x-count': '2' });
  } finally {
    await caller.close();
    await server.close();
  }
});

test('rpc: several instances of one service in one process on the memory transport share the load', { timeout: 30000 }, async () => {
  const network = new MemoryNetwork();
  const instances = [];
  for (let i = 0; i < 3; i++) {
    const n = await createNode({ name: `greeter-${i}`, transport: memory({ network }), rpc: { name: 'greeter' } });
    n.handle('Greeter.Who', async () => n.id);
    instances.push(n);
  }
  const caller = await createNode({ name: 'who-caller', transport: memory({ network }), bootstrap: ['mem:greeter-0'] });
  try {
    const ids = new Set(instances.map((n) => n.id));
    const deadline = Date.now() + 10000;
    while (caller.rpc.registry.count('greeter') < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(caller.rpc.registry.count('greeter'), 3);
    const answered = new Set();
    for (let i = 0; i < 9; i++) answered.add(await caller.call('greeter', 'Greeter.Who', {}, { strategy: 'round-robin' }));
    assert.deepEqual([...answered].sort(), [...ids].sort(), 'round-robin reached every instance');
  } finally {
    await caller.close();
    await Promise.all(instances.map((n) => n.close()));
  }
});

test('rpc: clientStream and bidi wait for their service to be discovered, as call does', { timeout: 30000 }, async () => {
  const network = new MemoryNetwork();
  const caller = await createNode({ name: 'early-caller', transport: memory({ network }) });
  let server;
  try {
    assert.equal(caller.rpc.registry.count('adder'), 0);
    const up = caller.clientStream('adder', 'Adder.Sum', { timeoutMs: 10000 });
    const chat = caller.bidi('adder', 'Adder.Echo', { timeoutMs: 10000 });
    // The service appears only now: the streams above were opened before anyone served it.
    server = await createNode({ name: 'adder', transport: memory({ network }), bootstrap: ['mem:early-caller'] });
    server.handle('Adder.Sum', async (reqs) => { let s = 0; for await (const n of reqs) s += n; return s; }, { kind: 'client' });
    server.handle('Adder.Echo', async function* (reqs) { for await (const m of reqs) yield m; }, { kind: 'bidi' });
    await up.send(2); await up.send(3);
    assert.equal(await up.end(), 5);
    await chat.send('x'); await chat.end();
    const got = [];
    for await (const m of chat) got.push(m);
    assert.deepEqual(got, ['x']);
  } finally {
    await caller.close();
    await server?.close();
  }
});
