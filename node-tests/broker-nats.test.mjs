// The NATS broker: three node processes with createNode({ broker: nats({ servers }) }) and a real
// nats-server pass the pub/sub conformance suite (the same cases that pass over the gossip mesh,
// run below over WebSocket processes too), plus what only a broker offers: wildcards and queue
// groups. NATS is not trusted: forged, replayed and misrouted messages are dropped and reported.
// A server restart loses no subscription: the clients reconnect and re-subscribe.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ChildProcess } from './support/child.mjs';
import { waitFor, within } from './support/wait.mjs';
import { natsMissing, startNats } from './support/nats.mjs';
import { pubsubCases, subscribe, got } from './support/pubsub-conformance.mjs';

const script = fileURLToPath(new URL('./support/pubsub-node.mjs', import.meta.url));
const spawned = [];

async function startProc(name, config) {
  const p = new ChildProcess(name, script, [JSON.stringify({ name, ...config })], { replyTimeoutMs: 20000 });
  spawned.push(p);
  const ready = await p.next((e) => e.ev === 'ready', 20000, 'ready');
  p.id = ready.id;
  p.address = ready.address;
  return p;
}

async function closeAll(procs) {
  await Promise.all(procs.map((p) => p.request('close')));
  const exits = await within(Promise.all(procs.map((p) => p.exited)), 10000, 'processes exiting after close()');
  for (const e of exits) assert.deepEqual(e, { code: 0, signal: null });
}

after(() => {
  for (const p of spawned) if (p.child.exitCode === null) p.child.kill('SIGKILL'); // only after a failure
});

const skip = natsMissing();

describe('broker: NATS', { skip }, () => {
  let server;
  let procs = [];
  before(async () => {
    server = await startNats();
    for (let i = 0; i < 3; i++) procs.push(await startProc(`n${i}`, { mode: 'nats', servers: [server.url] }));
  });
  after(async () => {
    if (procs.length) await closeAll(procs);
    await server?.stop();
  });

  for (const [name, , run] of pubsubCases) test(`nats conformance: ${name}`, () => run(procs));

  test('nats: forged, replayed and misrouted messages are dropped and reported', async () => {
    const { connect } = await import('@nats-io/transport-node');
    const raw = await connect({ servers: server.url });
    try {
      const [a, b] = procs;
      const captured = [];
      raw.subscribe('nitro.conf.forge', { callback: (_err, m) => captured.push(m.data) });
      await raw.flush();
      const sub = await subscribe(b, 'conf.forge');
      await subscribe(b, 'conf.other');
      await a.request('publish', { topic: 'conf.forge', value: 'genuine' });
      await waitFor(() => captured.length === 1 && got(b, sub).length === 1, { timeoutMs: 15000, what: 'the genuine message' });
      const mark = b.events.length;
      const errors = () => b.events.slice(mark).filter((e) => e.ev === 'error');
      const tampered = captured[0].slice();
      tampered[tampered.length - 1] ^= 1;
      raw.publish('nitro.conf.forge', new Uint8Array([1, 2, 3]));     // garbage
      raw.publish('nitro.conf.forge', tampered);                      // a bad signature
      raw.publish('nitro.conf.forge', captured[0]);                   // a replay
      raw.publish('nitro.conf.other', captured[0]);                   // signed for another topic
      await raw.flush();
      await waitFor(() => errors().length === 4, { timeoutMs: 15000, what: 'four errors reported' });
      assert.deepEqual(got(b, sub).map((m) => m.msg), ['genuine'], 'only the genuine message is delivered');
    } finally {
      await raw.close();
    }
  });

  test('nats: a server restart loses no subscription (clients reconnect and re-subscribe)', async () => {
    const subs = [];
    for (const p of procs) subs.push(await subscribe(p, 'conf.restart'));
    await procs[0].request('publish', { topic: 'conf.restart', value: 'before' });
    await waitFor(() => procs.every((p, k) => got(p, subs[k]).length === 1), { timeoutMs: 15000, what: 'the message before the restart' });
    // The new server knows no subscription until the clients send theirs again. A publish made while
    // it is down resolves only once the new server has it.
    let during;
    await server.restart(async () => {
      during = procs[2].request('publish', { topic: 'conf.restart', value: 'during' });
      await new Promise((r) => setTimeout(r, 300)); // the server stays down a while
    });
    await during;
    await Promise.all(procs.map((p) => p.request('flush'))); // each is reconnected
    await procs[1].request('publish', { topic: 'conf.restart', value: 'after' });
    await waitFor(() => procs.every((p, k) => got(p, subs[k]).some((m) => m.msg === 'after')), { timeoutMs: 15000, what: 'the message after the restart' });
    for (const [k, p] of procs.entries()) {
      const msgs = got(p, subs[k]).map((m) => m.msg);
      assert.deepEqual(msgs.filter((m) => m !== 'during'), ['before', 'after'], `${p.name}: before and after`);
    }
  });
});

describe('broker: the same suite over the gossip mesh (WebSocket processes, no broker)', () => {
  let procs = [];
  before(async () => {
    const first = await startProc('g0', { mode: 'ws' });
    procs = [first, await startProc('g1', { mode: 'ws', bootstrap: [first.address] }), await startProc('g2', { mode: 'ws', bootstrap: [first.address] })];
    await waitFor(async () => {
      const states = await Promise.all(procs.map((p) => p.request('state')));
      return states.every((s) => s.neighbors.length > 0);
    }, { timeoutMs: 15000, intervalMs: 100, what: 'an overlay of 3 processes' });
  });
  after(async () => {
    if (procs.length) await closeAll(procs);
  });

  for (const [name, { broker }, run] of pubsubCases) test(`gossip conformance: ${name}`, { skip: broker && 'needs a broker' }, () => run(procs));
});
