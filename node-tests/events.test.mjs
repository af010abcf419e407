// The one event convention (js/src/events.ts) through the public objects: on/off/once, once with
// an AbortSignal and a filter, once settling when its object closes, Symbol.asyncDispose, and a
// class per error code (checked against gRPC's published code list, plus DECODE_ERROR).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nitro from '../js/dist/node.js';
import { createNode, Doc, NitroError, init, memoryNetwork, memory, errorFor } from '../js/dist/node.js';

await init();

test('node: once resolves with the payload, honours a filter and rejects with CANCELLED on abort', async () => {
  const net = memoryNetwork();
  const a = await createNode({ name: 'ev-a', transport: memory({ network: net }) });
  const b = await createNode({ name: 'ev-b', transport: memory({ network: net }), contacts: ['mem:ev-a'] });
  try {
    const aborted = new AbortController();
    const never = a.once('direct', { signal: aborted.signal });
    aborted.abort();
    await assert.rejects(never, (e) => e instanceof nitro.CancelledError && e.code === 'CANCELLED');

    const reason = new NitroError('DEADLINE_EXCEEDED', 'took too long');
    const timedOut = new AbortController();
    const waited = a.once('direct', { signal: timedOut.signal });
    timedOut.abort(reason);
    await assert.rejects(waited, (e) => e === reason);

    const got = a.once('direct', { filter: (m) => m.channel === 'two' });
    await b.sendDirect(a.id, 'one', new Uint8Array([1]));
    await b.sendDirect(a.id, 'two', new Uint8Array([2]));
    const m = await got;
    assert.equal(m.channel, 'two');
    assert.deepEqual([...m.bytes], [2]);
  } finally {
    await b.close();
    await a.close();
  }
});

test('node: a pending once rejects with UNAVAILABLE on close, later ones at once; asyncDispose closes', async () => {
  const net = memoryNetwork();
  const node = await createNode({ name: 'ev-close', transport: memory({ network: net }) });
  const pending = node.once('peer:up');
  pending.catch(() => {});
  await node[Symbol.asyncDispose]();  // what `await using` calls (Node 20 lacks the syntax)
  assert.equal(node.closed, true);
  await assert.rejects(pending, (e) => e instanceof nitro.UnavailableError && e.code === 'UNAVAILABLE');
  await assert.rejects(node.once('peer:up'), (e) => e.code === 'UNAVAILABLE');
});

test('node: on returns off, off is idempotent, a throwing listener becomes an error event', async () => {
  const net = memoryNetwork();
  const a = await createNode({ name: 'ev-on-a', transport: memory({ network: net }) });
  const b = await createNode({ name: 'ev-on-b', transport: memory({ network: net }), contacts: ['mem:ev-on-a'] });
  try {
    const seen = [];
    const fn = (m) => seen.push(m.channel);
    const off = a.on('direct', fn);
    const errors = [];
    a.on('error', (e) => errors.push(e.message));
    const offThrow = a.on('direct', () => { throw new Error('listener broke'); });
    const first = a.once('direct');
    await b.sendDirect(a.id, 'x', new Uint8Array([1]));
    await first;
    off();
    off();
    a.off('direct', fn);
    offThrow();
    const second = a.once('direct');
    await b.sendDirect(a.id, 'y', new Uint8Array([1]));
    await second;
    assert.deepEqual(seen, ['x']);
    assert.deepEqual(errors, ['listener broke']);
    assert.equal(a.listenerCount('direct'), 0);
  } finally {
    await b.close();
    await a.close();
  }
});

test('doc: once(update) resolves with [update, origin]; destroy rejects pending waits', async () => {
  const doc = new Doc();
  const first = doc.once('update');
  const next = doc.once('update', { filter: (_u, origin) => origin === 'me' });
  doc.transact(() => doc.getText('t').insert(0, 'one'), 'other');
  doc.transact(() => doc.getText('t').insert(3, ' two'), 'me');
  const [update1, origin1] = await first;
  const [update, origin] = await next;
  assert.equal(origin1, 'other');
  assert.equal(origin, 'me');
  const replica = new Doc();
  replica.applyUpdate(update1);
  assert.equal(replica.getText('t').toString(), 'one');
  const only = new Doc();
  only.applyUpdate(update1);
  only.applyUpdate(update);
  assert.equal(only.getText('t').toString(), 'one two');
  const waiting = doc.once('update');
  doc.destroy();
  await assert.rejects(waiting, (e) => e.code === 'UNAVAILABLE');
  replica.destroy();
  only.destroy();
});

test('config: change and error events, once rejects after close, asyncDispose closes', async () => {
  let value = 1;
  let reload;
  const source = { open: (ctx) => { reload = ctx.changed; return { read: () => ({ n: value }) }; } };
  const config = await nitro.openConfig({ sources: [source], validate: (c) => c.n < 10 || 'too big' });
  const changed = config.once('change');
  value = 2;
  reload();
  assert.deepEqual(await changed, { n: 2 });
  const failed = config.once('error');
  value = 11;
  reload();
  assert.match((await failed).message, /too big/);
  const pending = config.once('change');
  await config[Symbol.asyncDispose]();
  await assert.rejects(pending, (e) => e.code === 'UNAVAILABLE');
});

// gRPC's status codes (grpc/doc/statuscodes.md) in order, and Nitro's DECODE_ERROR.
const grpcCodes = ['CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED',
  'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

test('errors: one exported subclass per code, errorFor builds it', () => {
  const codes = [...grpcCodes, 'DECODE_ERROR'];
  assert.equal(codes.length, 17);
  const classes = new Set();
  for (const code of codes) {
    const name = code === 'DECODE_ERROR' ? 'DecodeError'
      : code.toLowerCase().replace(/(^|_)([a-z])/g, (_, __, c) => c.toUpperCase()) + 'Error';
    const Cls = nitro[name];
    assert.equal(typeof Cls, 'function', `${name} is exported`);
    const e = errorFor(code, 'm', { d: 1 });
    assert.ok(e instanceof Cls && e instanceof NitroError && e instanceof Error, code);
    assert.equal(e.code, code);
    assert.equal(e.name, name);
    assert.deepEqual(e.details, { d: 1 });
    assert.equal(new Cls('x').code, code);
    classes.add(Cls);
  }
  assert.equal(classes.size, 17);
});
