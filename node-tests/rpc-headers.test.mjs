// Response headers and trailers on the client (Connect's onHeader/onTrailer) through the public
// API: the handler's ctx.header leaves with its first stream message or its response, so the
// client hears the header before any message, and the trailer when the call ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, init, memory, MemoryNetwork } from '../js/dist/node.js';

await init();

async function pair(t) {
  const network = new MemoryNetwork();
  const server = await createNode({ name: 'hdr', transport: memory({ network }) });
  const caller = await createNode({ name: 'hdr-caller', transport: memory({ network }), bootstrap: ['mem:hdr'] });
  t.after(() => Promise.all([caller.close(), server.close()]));
  return { server, caller };
}

test('rpc headers: unary and error responses carry ctx.header to onHeader, before onTrailer', { timeout: 30000 }, async (t) => {
  const { server, caller } = await pair(t);
  server.handle('H.Unary', (req, ctx) => { ctx.header['x-served-by'] = 'hdr'; ctx.trailer['x-cost'] = '3'; return req; });
  server.handle('H.Fail', (_req, ctx) => { ctx.header['x-tried'] = '1'; throw Object.assign(new Error('no'), { code: 'NOT_FOUND' }); });
  server.handle('H.None', () => 1);
  const order = [];
  const result = await caller.call('hdr', 'H.Unary', 'v', {
    timeoutMs: 5000,
    onHeader: (h) => order.push(['header', h]),
    onTrailer: (tr) => order.push(['trailer', tr]),
  });
  assert.equal(result, 'v');
  assert.deepEqual(order, [['header', { 'x-served-by': 'hdr' }], ['trailer', { 'x-cost': '3' }]]);

  let failedHeader;
  await assert.rejects(caller.call('hdr', 'H.Fail', null, { timeoutMs: 5000, onHeader: (h) => (failedHeader = h) }));
  assert.deepEqual(failedHeader, { 'x-tried': '1' });

  let none;
  await caller.call('hdr', 'H.None', null, { timeoutMs: 5000, onHeader: (h) => (none = h) });
  assert.deepEqual(none, {});  // called once, empty: the server set no header
});

test('rpc headers: a server stream delivers the header before its first message; later entries are not sent', { timeout: 30000 }, async (t) => {
  const { server, caller } = await pair(t);
  server.handle('H.Count', async function* (req, ctx) {
    ctx.header.first = 'yes';
    yield 0;
    ctx.header.late = 'no';  // the header left with message 0
    yield 1;
    ctx.trailer.done = String(req.to);
  });
  const order = [];
  const stream = caller.stream('hdr', 'H.Count', { to: 2 }, {
    timeoutMs: 5000,
    onHeader: (h) => order.push(['header', h]),
    onTrailer: (tr) => order.push(['trailer', tr]),
  });
  for await (const n of stream) order.push(['message', n]);
  // The trailer arrives when the call ends, which may be before the loop has taken the buffered
  // messages; the header comes before any of them.
  assert.deepEqual(order[0], ['header', { first: 'yes' }]);
  assert.deepEqual(order.filter(([k]) => k === 'message'), [['message', 0], ['message', 1]]);
  assert.deepEqual(order.filter(([k]) => k === 'trailer'), [['trailer', { done: '2' }]]);
});

test('rpc headers: bidi and client streams report headers too', { timeout: 30000 }, async (t) => {
  const { server, caller } = await pair(t);
  server.handle('H.Sum', async (reqs, ctx) => { let s = 0; for await (const n of reqs) s += n; ctx.header.sum = String(s); return s; }, { kind: 'client' });
  server.handle('H.Echo', async function* (reqs, ctx) { ctx.header.echo = '1'; for await (const m of reqs) yield m; }, { kind: 'bidi' });
  let sumHeader;
  const up = caller.clientStream('hdr', 'H.Sum', { timeoutMs: 5000, onHeader: (h) => (sumHeader = h) });
  await up.send(2); await up.send(5);
  assert.equal(await up.end(), 7);
  assert.deepEqual(sumHeader, { sum: '7' });
  const order = [];
  const chat = caller.bidi('hdr', 'H.Echo', { timeoutMs: 5000, onHeader: (h) => order.push(['header', h]) });
  await chat.send('a'); await chat.end();
  for await (const m of chat) order.push(['message', m]);
  assert.deepEqual(order, [['header', { echo: '1' }], ['message', 'a']]);
});
