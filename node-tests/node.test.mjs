// The node host over the memory() transport: nodes in one process find each other, pub/sub reaches
// every subscriber in per-publisher order, unsubscribe stops delivery, membership events fire,
// backpressure rejects, the identity persists through a store, and close() cleans up (this file's
// process must exit by itself when the tests end).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNode as create, memory, MemoryNetwork, NitroError, init } from '../js/dist/node.js';
import { memoryStore } from '../js/dist/store.js';
import { fileStore } from '../js/dist/store-file.js';
import { nodeRecords } from '../js/dist/host/records.js';
import { waitFor, overlayConnected, within } from './support/wait.mjs';
import { testSeed, seededRandom } from './support/seed.mjs';

const faultSeed = testSeed('node-faults');

await init();

// Every node made here is closed at the end even if a test fails half-way, so the process exits.
const made = [];
async function createNode(options) {
  const node = await create(options);
  made.push(node);
  return node;
}
after(() => Promise.all(made.map((n) => n.close())));
const limit = { timeout: 30000 };

async function cluster(count, { network = new MemoryNetwork(), prefix = 'n', ...options } = {}) {
  const nodes = [];
  for (let i = 0; i < count; i++) {
    nodes.push(await createNode({ name: `${prefix}${i}`, transport: memory({ network }), ...options }));
  }
  await waitFor(() => nodes.every((n) => n.neighbors().length > 0) && overlayConnected(nodes), {
    what: `a connected overlay of ${count} nodes`,
  });
  return { nodes, network, close: () => Promise.all(nodes.map((n) => n.close())) };
}

function collect(node, topic) {
  const got = [];
  const off = node.subscribe(topic, (msg, meta) => got.push({ msg, meta }));
  return { got, off };
}

test('node: createNode gives an id, a name and a mem: address; names are unique per network', limit, async () => {
  const network = new MemoryNetwork();
  const a = await createNode({ name: 'alpha', transport: memory({ network }) });
  assert.match(a.id, /^[a-z2-7]{52}$/);
  assert.equal(a.name, 'alpha');
  assert.equal(a.address, 'mem:alpha');
  await assert.rejects(createNode({ name: 'alpha', transport: memory({ network }) }), { code: 'ALREADY_EXISTS' });
  await a.close();
  const again = await createNode({ name: 'alpha', transport: memory({ network }) });  // the name is free again
  assert.notEqual(again.id, a.id);
  await again.close();
});

test('node: the DESIGN example — publish right after createNode reaches the other node', limit, async () => {
  const network = new MemoryNetwork();
  for (let run = 0; run < 5; run++) {
    const a = await createNode({ name: `greeter${run}`, transport: memory({ network }) });
    const got = [];
    a.subscribe('orders.created', (msg, meta) => got.push({ msg, meta }));
    const b = await createNode({ name: `client${run}`, transport: memory({ network, bootstrapCount: 1 }) });
    assert.ok(b.neighbors().length > 0, 'createNode resolved after joining');
    await b.publish('orders.created', { id: run });
    await waitFor(() => got.length === 1, { timeoutMs: 5000, what: 'the first message' });
    assert.deepEqual(got[0].msg, { id: run });
    assert.equal(got[0].meta.from, b.id);
    assert.equal(got[0].meta.topic, 'orders.created');
    await Promise.all([a.close(), b.close()]);
  }
  // Without contacts there is nothing to wait for; with joinTimeoutMs: 0 createNode does not wait.
  const lone = await createNode({ name: 'lone', transport: memory({ network: new MemoryNetwork() }) });
  assert.equal(await lone.joined(10), false);
  await lone.close();
});

test('node: nodes on the default memory network find each other without configuration', limit, async () => {
  const a = await createNode();
  const b = await createNode();
  const c = await createNode();
  await waitFor(() => [a, b, c].every((n) => n.peers().length >= 2), { what: 'three default nodes linked' });
  const ids = new Set(a.peers().map((p) => p.id));
  assert.ok(ids.has(b.id) && ids.has(c.id));
  await Promise.all([a.close(), b.close(), c.close()]);
});

test('node: 8 nodes — every subscriber gets every message, per publisher in order', limit, async () => {
  const { nodes, close } = await cluster(8);
  const subscribers = nodes.slice(0, 6).map((n) => collect(n, 'orders'));
  const bystander = collect(nodes[7], 'other');
  const [p1, p2] = [nodes[3], nodes[7]];
  const count = 25;
  for (let i = 0; i < count; i++) {
    await p1.publish('orders', { by: 'p1', i });
    await p2.publish('orders', { by: 'p2', i, blob: new Uint8Array([i, 255]) });
  }
  await waitFor(() => subscribers.every((s) => s.got.length === 2 * count), { what: 'all deliveries' });
  for (const [k, sub] of subscribers.entries()) {
    for (const [origin, tag] of [[p1.id, 'p1'], [p2.id, 'p2']]) {
      const mine = sub.got.filter((d) => d.meta.from === origin);
      assert.deepEqual(mine.map((d) => d.meta.seq), Array.from({ length: count }, (_, i) => i + 1), `subscriber ${k} order`);
      assert.deepEqual(mine.map((d) => d.msg.i), Array.from({ length: count }, (_, i) => i));
      assert.ok(mine.every((d) => d.msg.by === tag && d.meta.topic === 'orders'));
    }
    const fromP2 = sub.got.find((d) => d.meta.from === p2.id);
    assert.deepEqual(fromP2.msg.blob, new Uint8Array([0, 255]));
  }
  // The publisher's own subscription sees its message with 0 hops; others at least one.
  assert.ok(subscribers[3].got.filter((d) => d.meta.from === p1.id).every((d) => d.meta.hops === 0));
  assert.ok(subscribers[0].got.every((d) => d.meta.hops >= 1));
  assert.equal(bystander.got.length, 0);
  // Honest peers are never struck, refused or budgeted (the Byzantine cases are native sims).
  for (const n of nodes) {
    const { strikes, peersRefused, membershipRefused } = n.stats();
    assert.deepEqual({ strikes, peersRefused, membershipRefused }, { strikes: 0, peersRefused: 0, membershipRefused: 0 });
  }
  await close();
});

test('node: unsubscribe stops delivery; other handlers and nodes keep receiving', limit, async () => {
  const { nodes, close } = await cluster(5);
  const a = collect(nodes[1], 'news');
  const a2 = collect(nodes[1], 'news');
  const b = collect(nodes[2], 'news');
  await nodes[0].publish('news', 1);
  await waitFor(() => a.got.length === 1 && a2.got.length === 1 && b.got.length === 1, { what: 'first delivery' });
  a.off();
  a.off();  // idempotent
  await nodes[0].publish('news', 2);
  await waitFor(() => b.got.length === 2 && a2.got.length === 2, { what: 'second delivery' });
  assert.equal(a.got.length, 1);
  a2.off();  // the last handler: the node unsubscribes in the core
  await nodes[0].publish('news', 3);
  await waitFor(() => b.got.length === 3, { what: 'third delivery' });
  assert.equal(a2.got.length, 2);
  await close();
});

test('node: membership events — peer and neighbor up on join, down when a node closes', limit, async () => {
  const { nodes, network, close } = await cluster(5);
  // joinTimeoutMs: 0 so createNode returns before the first neighbor:up and the test can watch it.
  const late = await createNode({ name: 'late', transport: memory({ network }), joinTimeoutMs: 0 });
  const up = await within(late.once('neighbor:up'), 10000, 'neighbor:up on the late node');
  assert.match(up.id, /^[a-z2-7]{52}$/);
  assert.ok(late.peers().some((p) => p.id === up.id && p.neighbor));
  const victim = nodes.find((n) => n.id === up.id);
  const rest = nodes.filter((n) => n !== victim);
  const linked = rest.filter((n) => n.peers().some((p) => p.id === victim.id));
  const downs = linked.map((n) => n.once('peer:down', (e) => e.id === victim.id));
  const lateDown = late.once('neighbor:down', (e) => e.id === victim.id);
  await victim.close();
  await within(Promise.all([lateDown, ...downs]), 5000, 'peer:down and neighbor:down for the closed node');
  assert.ok(rest.every((n) => !n.peers().some((p) => p.id === victim.id)));
  await waitFor(() => overlayConnected([late, ...rest]), { what: 'overlay repaired' });
  await Promise.all([close(), late.close()]);
});

test('node: sendDirect reaches one peer as a direct event', limit, async () => {
  const { nodes, close } = await cluster(4);
  const [a, b] = nodes;
  await waitFor(() => a.peers().some((p) => p.id === b.id) && b.peers().some((p) => p.id === a.id), { what: 'a and b linked' });
  const got = b.once('direct', (m) => m.channel === 'chat');  // other channels (rpc.ad) may arrive too
  await a.sendDirect(b.id, 'chat', new Uint8Array([1, 2, 3]));
  const msg = await within(got, 5000, 'the direct message');
  assert.equal(msg.from, a.id);
  assert.equal(msg.channel, 'chat');
  assert.deepEqual([...msg.bytes], [1, 2, 3]);
  await assert.rejects(a.sendDirect(b.id, '', new Uint8Array(1)), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(a.sendDirect('not-a-peer', 'chat', new Uint8Array(1)), { code: 'INVALID_ARGUMENT' });
  await close();
});

test('node: publish rejects with typed errors (bad topic, bad value, backpressure)', limit, async () => {
  const network = new MemoryNetwork();
  const slow = memory({ network, faults: { delayMs: 200 } });
  const a = await createNode({ name: 'a', transport: slow, sendBufferBytesMax: 2000 });
  const b = await createNode({ name: 'b', transport: memory({ network }) });
  await waitFor(() => a.neighbors().length === 1, { what: 'a and b neighbors' });
  await assert.rejects(a.publish('', 1), (e) => e instanceof NitroError && e.code === 'INVALID_ARGUMENT');
  await assert.rejects(a.publish('t', () => 1), { code: 'INVALID_ARGUMENT' });
  let refused;
  for (let i = 0; i < 100 && !refused; i++) {
    await a.publish('t', { i, pad: 'x'.repeat(200) }).catch((e) => { refused = e; });
  }
  assert.equal(refused?.code, 'RESOURCE_EXHAUSTED');
  await waitFor(() => a.publish('t', 'again').then(() => true, () => false), { what: 'the buffer drained' });
  await Promise.all([a.close(), b.close()]);
});

test(`node: delivery survives frame loss and reordering delays (fault injector, seed ${faultSeed}; replay with NITRO_SEED=${faultSeed})`, limit, async () => {
  const network = new MemoryNetwork();
  let lossy = false;
  const random = seededRandom(faultSeed);  // the fault decisions replay; the timing of the host does not
  const faults = {
    drop: () => lossy && random() < 0.05,
    delayMs: () => (lossy ? Math.floor(random() * 15) : 0),
  };
  const nodes = [];
  for (let i = 0; i < 6; i++) nodes.push(await createNode({ name: `f${i}`, transport: memory({ network, faults }) }));
  await waitFor(() => overlayConnected(nodes), { what: 'connected overlay' });
  const subs = nodes.map((n) => collect(n, 'lossy'));
  lossy = true;
  for (let i = 0; i < 20; i++) await nodes[0].publish('lossy', i);
  // Lost frames are repaired (IHAVE/GRAFT, digest anti-entropy): every delivery, in order.
  await waitFor(() => subs.every((s) => s.got.length === 20), { timeoutMs: 20000, what: 'all 20 through loss' });
  for (const s of subs) assert.deepEqual(s.got.map((d) => d.msg), Array.from({ length: 20 }, (_, i) => i));
  lossy = false;
  await Promise.all(nodes.map((n) => n.close()));
});

test('node: a store keeps the node records (identity, sequence numbers, views) across restarts', limit, async () => {
  const network = new MemoryNetwork();
  const store = memoryStore();
  const first = await createNode({ name: 's', transport: memory({ network }), store });
  const id = first.id;
  const peer = await createNode({ name: 'peer', transport: memory({ network }) });
  await waitFor(() => first.neighbors().includes(peer.id), { what: 's and peer linked' });
  const seq = await first.publish('t', 1);
  // Written ahead, no close() needed: the records are in the store as soon as they are flushed.
  await first.flushed();
  const records = new Map(await nodeRecords(store, 's').list());
  assert.equal(records.get('node/identity')?.length, 32);
  assert.ok(records.has('node/seq/t'), 'the sequence block is reserved before the publish is sent');
  await waitFor(async () => (await nodeRecords(store, 's').list()).some(([k]) => k === 'node/peers'), { what: 'views written' });
  await first.close();
  const second = await createNode({ name: 's', transport: memory({ network, bootstrapCount: 0 }), store });
  assert.equal(second.id, id);
  assert.ok(await second.publish('t', 2) > seq, 'a restarted node publishes above every number it used');
  // The restored views hold the old neighbor: the node rejoins without any bootstrap contact.
  await waitFor(() => second.neighbors().includes(peer.id), { what: 'rejoin from stored views' });
  await Promise.all([second.close(), peer.close()]);
  const other = await createNode({ name: 'other', transport: memory({ network }), store });
  assert.notEqual(other.id, id);  // records are per node name
  await other.close();
  // An explicit identity that is not the stored one is refused, not silently mixed.
  await assert.rejects(createNode({ name: 's', transport: memory({ network }), store, identity: new Uint8Array(32).fill(3) }),
    { code: 'FAILED_PRECONDITION' });
});

test('node: fileStore keeps the identity on disk; an explicit identity seed fixes the id', limit, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nitro-node-'));
  try {
    const network = new MemoryNetwork();
    const store = fileStore(dir);
    const first = await createNode({ name: 'disk', transport: memory({ network }), store });
    await first.close();
    await store.close();
    const reopened = fileStore(dir);
    const second = await createNode({ name: 'disk', transport: memory({ network }), store: reopened });
    assert.equal(second.id, first.id);
    await second.close();
    await reopened.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const network = new MemoryNetwork();
  const seed = new Uint8Array(32).fill(7);
  // (Separate networks: two nodes with one identity cannot link, so the second would wait to join.)
  const fixed = await createNode({ name: 'fixed', transport: memory({ network }), identity: seed });
  const fixedAgain = await createNode({ name: 'fixed', transport: memory({ network: new MemoryNetwork() }), identity: seed });
  assert.equal(fixed.id, fixedAgain.id);
  await Promise.all([fixed.close(), fixedAgain.close()]);
  await assert.rejects(createNode({ identity: new Uint8Array(3) }), { code: 'INVALID_ARGUMENT' });
});

test('node: close() is idempotent, frees the core and refuses later use', limit, async () => {
  const { nodes, close } = await cluster(3);
  const [a] = nodes;
  const got = collect(nodes[1], 't');
  await Promise.all([a.close(), a.close()]);
  await a.close();
  assert.equal(a.closed, true);
  assert.deepEqual(a.peers(), []);
  await assert.rejects(a.publish('t', 1), { code: 'FAILED_PRECONDITION' });
  assert.throws(() => a.subscribe('t', () => {}), { code: 'FAILED_PRECONDITION' });
  got.off();
  await close();
});

test('node: a throwing handler is reported as an error event and does not stop delivery', limit, async () => {
  const { nodes, close } = await cluster(3);
  const errors = [];
  nodes[1].on('error', (e) => errors.push(e));
  nodes[1].subscribe('t', () => { throw new Error('boom'); });
  const ok = collect(nodes[1], 't');
  await nodes[0].publish('t', 'x');
  await waitFor(() => ok.got.length === 1, { what: 'delivery after a throwing handler' });
  assert.equal(errors.length, 1);
  assert.equal(errors[0].message, 'boom');
  await close();
});

test('node: run() is the hook for protocol bindings — calls into the core, then drains its output', limit, async () => {
  const network = new MemoryNetwork();
  const a = await createNode({ name: 'a', transport: memory({ network }) });
  const b = await createNode({ name: 'b', transport: memory({ network, bootstrapCount: 0 }) });  // isolated
  assert.equal(a.peers().length + b.peers().length, 0);
  // A raw core call (what a C++ protocol binding does through node.core) whose output — a kDial —
  // only reaches the transport because run() drains afterwards.
  const result = b.run((core, nowMs) => {
    assert.equal(typeof nowMs, 'number');
    core.join(a.address, nowMs);
    return 'joined';
  });
  assert.equal(result, 'joined');
  await waitFor(() => b.neighbors().includes(a.id) && a.neighbors().includes(b.id), { what: 'a and b joined by run()' });
  assert.throws(() => b.run(() => { throw new RangeError('from the binding'); }), RangeError);
  await Promise.all([a.close(), b.close()]);
  assert.throws(() => b.run(() => 1), { code: 'FAILED_PRECONDITION' });
});

// A crowd publishing while its overlay still churns: Plumtree's digest anti-entropy must repair
// what the tree missed (this lost deliveries before gossip db22d6f).
test('node: 40 nodes publishing right after the overlay connects — no delivery lost', limit, async () => {
  const { nodes, close } = await cluster(40, { prefix: 'c' });
  const subs = nodes.map((n) => collect(n, 'crowd'));
  for (let i = 0; i < 20; i++) await nodes[i].publish('crowd', i);
  try {
    await waitFor(() => subs.every((s) => s.got.length === 20), { timeoutMs: 15000, what: 'all 800 deliveries' });
    for (const s of subs) assert.equal(new Set(s.got.map((d) => d.msg)).size, 20);
  } finally {
    await close();
  }
});

test('node: the core surface — nodeRestore keeps the id; SimCore (bindings/sim.cpp) runs a network', limit, async () => {
  const { getModule } = await import('../js/dist/node.js');
  const m = getModule();
  const seed = new Uint8Array(32).fill(1);
  const core = m.nodeCreate({ identitySeed: seed, entropy: seed, listenAddress: 'mem:x', bootstrap: [] });
  const back = m.nodeRestore({ identitySeed: new Uint8Array(32), entropy: seed, listenAddress: 'mem:x' }, core.saveState());
  assert.equal(back.id(), core.id());
  assert.equal(m.nodeCreate({ identitySeed: new Uint8Array(3), entropy: seed }).code, 'INVALID_ARGUMENT');
  assert.equal(m.nodeRestore({ identitySeed: seed, entropy: seed }, new Uint8Array([1, 2])).code, 'DECODE_ERROR');
  core.delete();
  back.delete();
  const sim = m.simCreate({ seed: 7, nodes: 20 });
  sim.runFor(5000);
  for (let i = 0; i < 20; i++) sim.subscribe(i, 't');
  sim.publish(3, 't', new Uint8Array([1]));
  sim.runFor(2000);
  assert.equal(sim.takeDeliveries().length, 20);
  sim.delete();
});
