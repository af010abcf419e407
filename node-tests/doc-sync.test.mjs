// Replicated documents (node.doc): concurrent random edits on 4 in-process nodes converge (no echo,
// periodic rounds); a doc opened after the edits catches up; a partition heals; updates above one
// gossip payload travel in parts; a burst beyond the publication bound converges; a
// writer-restricted doc refuses a non-writer's and a forged update and stays unchanged; edits made
// while a store loads are stored; 3 processes over WebSocket plus a late-joining process converge;
// a process SIGKILLed mid-editing, restarted from its fileStore, has every acknowledged edit and
// re-syncs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync } from 'node:crypto';
import { createNode, memory, MemoryNetwork, init, replicaOf, docTopic, Doc } from '../js/dist/node.js';
import { memoryStore } from '../js/dist/store.js';
import { waitFor, overlayConnected, within } from './support/wait.mjs';
import { spawnNodes } from './support/child.mjs';
import { rng } from './support/rng.mjs';

await init();

const kConvergeMs = 20000;

async function cluster(count, options = {}) {
  const network = new MemoryNetwork();
  const nodes = [];
  for (let i = 0; i < count; i++) nodes.push(await createNode({ name: `d${i}`, transport: memory({ network }), ...options }));
  await waitFor(() => nodes.every((n) => n.neighbors().length > 0) && overlayConnected(nodes), {
    what: `a connected overlay of ${count} nodes`,
  });
  return nodes;
}

const snapshot = (doc) => JSON.stringify({ text: doc.getText('t').toString(), map: doc.getMap('m').toJSON(), n: doc.getCounter('c').value });
const tick = () => new Promise((resolve) => setImmediate(resolve));

function keypair() {  // Ed25519, libsodium layout: secret key = seed || public key
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const publicKey = new Uint8Array(Buffer.from(jwk.x, 'base64url'));
  const seed = new Uint8Array(Buffer.from(jwk.d, 'base64url'));
  return { publicKey, secretKey: new Uint8Array([...seed, ...publicKey]) };
}

test('doc-sync: 4 memory nodes, concurrent random edits on all converge; a late opener catches up', async () => {
  const nodes = await cluster(4);
  const docs = nodes.map((n) => n.doc('board', { antiEntropyMs: 300 }));
  assert.equal(nodes[0].doc('board'), docs[0], 'the same Doc for the same name');
  await Promise.all(docs.map((d) => replicaOf(d).ready));
  const local = docs.map(() => 0);  // updates each doc emitted for its own edits (origin null)
  docs.forEach((d, i) => d.on('update', (_u, origin) => void (origin === null && local[i]++)));
  const random = rng(6);
  let inserted = 0;
  let deleted = 0;
  for (let step = 0; step < 400; step++) {
    const doc = docs[Math.floor(random() * docs.length)];
    const t = doc.getText('t');
    const r = random();
    if (r < 0.6 || t.length === 0) {
      t.insert(Math.floor(random() * (t.length + 1)), String.fromCharCode(97 + Math.floor(random() * 26)).repeat(1 + Math.floor(random() * 3)));
      inserted++;
    } else if (r < 0.75) {
      const at = Math.floor(random() * t.length);
      t.delete(at, Math.min(2, t.length - at));
      deleted++;
    } else if (r < 0.9) {
      doc.getMap('m').set(`k${Math.floor(random() * 10)}`, step);
    } else {
      doc.transact(() => {
        doc.getCounter('c').increment(1);
        t.insert(0, '#');
      });
    }
    if (step % 5 === 0) await tick();  // let gossip interleave with the edits
  }
  await waitFor(() => docs.every((d) => snapshot(d) === snapshot(docs[0])), { timeoutMs: kConvergeMs, what: '4 replicas converged' });
  const text = docs[0].getText('t').toString();
  assert.ok(text.length > 100 && inserted > 100 && deleted > 10, `a non-trivial history (${text.length} chars)`);
  assert.ok(docs[0].getCounter('c').value > 10 && docs[0].getMap('m').keys().length > 3);
  for (const d of docs) assert.equal(replicaOf(d).stats.rejected, 0);
  assert.ok(docs.every((d) => replicaOf(d).stats.applied > 0));
  // Nothing echoes: each node published exactly its own updates, never the ones it received.
  docs.forEach((d, i) => assert.equal(replicaOf(d).stats.published + replicaOf(d).stats.publishFailed, local[i]));
  // Anti-entropy rounds keep running, each asking at most antiEntropyPeers (2) peers.
  const sent = replicaOf(docs[1]).stats.vectorsSent;
  await waitFor(() => replicaOf(docs[1]).stats.vectorsSent >= sent + 4, { timeoutMs: 5000, what: 'periodic vector exchanges' });

  // A doc opened on one node after another node edited it: the vector exchange brings the state.
  const first = nodes[0].doc('notes');
  first.getText('t').insert(0, 'written before anyone else opened notes');
  await tick();
  const lateDoc = nodes[2].doc('notes', { antiEntropyMs: 300 });
  await waitFor(() => lateDoc.getText('t').toString() === 'written before anyone else opened notes', {
    timeoutMs: kConvergeMs, what: 'late opener caught up',
  });
  await Promise.all(nodes.map((n) => n.close()));
});

test('doc-sync: edits on both sides of a partition converge after it heals', async () => {
  let partitioned = false;
  const side = (address) => (address === 'mem:p0' || address === 'mem:p1' ? 0 : 1);
  const faults = { drop: (frame) => partitioned && side(frame.from) !== side(frame.to) };
  const network = new MemoryNetwork();
  const nodes = [];
  for (let i = 0; i < 4; i++) nodes.push(await createNode({ name: `p${i}`, transport: memory({ network, faults }) }));
  await waitFor(() => nodes.every((n) => n.neighbors().length > 0) && overlayConnected(nodes), { what: 'a connected overlay' });
  const docs = nodes.map((n) => n.doc('split', { antiEntropyMs: 300 }));
  docs[0].getText('t').insert(0, 'shared ');
  await waitFor(() => docs.every((d) => d.getText('t').toString() === 'shared '), { what: 'the first edit everywhere' });
  partitioned = true;
  docs[0].getText('t').insert(7, 'left ');
  docs[3].getMap('m').set('right', true);
  docs[2].getText('t').insert(0, '>');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal(docs[3].getText('t').toString(), '>shared ', 'no edit crossed the partition');
  partitioned = false;
  await waitFor(() => docs.every((d) => snapshot(d) === snapshot(docs[0])), { timeoutMs: kConvergeMs, what: 'convergence after healing' });
  assert.equal(docs[0].getText('t').toString(), '>shared left ');
  assert.equal(docs[1].getMap('m').get('right'), true);
  await Promise.all(nodes.map((n) => n.close()));
});

test('doc-sync: updates larger than one gossip payload travel in parts, to peers and late openers', async () => {
  const nodes = await cluster(3);
  const [a, b] = [nodes[0].doc('big'), nodes[1].doc('big')];
  // ~1.2 MB of text the update's coder cannot shrink below one 448 KiB gossip payload (a repeated
  // character would code to a bit per byte): 64 symbols from a fixed LCG, ~6 bits each after coding.
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .';
  let x = 12345;
  const big = Array.from({ length: 1_200_000 }, () => alphabet[(x = (x * 1103515245 + 12345) >>> 0) >>> 26]).join('');
  a.getText('t').insert(0, big);
  await waitFor(() => b.getText('t').length === big.length, { timeoutMs: kConvergeMs, what: 'the big update at b' });
  assert.equal(replicaOf(a).stats.sentDirect, 1);
  assert.equal(replicaOf(a).stats.published, 0);
  const late = nodes[2].doc('big');  // its delta (the whole doc) comes in parts too
  await waitFor(() => late.getText('t').length === big.length, { timeoutMs: kConvergeMs, what: 'the big doc at a late opener' });
  assert.equal(late.getText('t').toString(), big);
  await Promise.all(nodes.map((n) => n.close()));
});

test('doc-sync: a synchronous burst beyond the publication bound still converges', async () => {
  const nodes = await cluster(2);
  const [a, b] = nodes.map((n) => n.doc('burst', { antiEntropyMs: 60000 }));  // no periodic rounds
  await Promise.all([a, b].map((d) => replicaOf(d).ready));
  for (let i = 0; i < 3000; i++) a.getText('t').insert(i, 'k');  // 3000 updates in one macrotask
  assert.ok(replicaOf(a).stats.publishFailed > 0, 'the outbox bound was hit');
  await waitFor(() => b.getText('t').length === 3000, { timeoutMs: kConvergeMs, what: 'the burst at b' });
  await Promise.all(nodes.map((n) => n.close()));
});

test('doc-sync: a writer-restricted doc refuses a non-writer and a forged update, unchanged', async () => {
  const [na, nr, nm] = await cluster(3);
  const alice = keypair();
  const mallory = keypair();
  const writers = [alice.publicKey];
  const a = na.doc('secure', { signer: alice.secretKey, writers, antiEntropyMs: 300 });
  const reader = nr.doc('secure', { writers, antiEntropyMs: 300 });
  const m = nm.doc('secure', { signer: mallory.secretKey, antiEntropyMs: 300 });  // accepts anyone
  const rejected = [];
  replicaOf(reader).on('rejected', (ev) => rejected.push(ev));
  const signed = [];
  a.on('update', (u) => signed.push(u));
  a.getText('t').insert(0, 'from alice');
  await waitFor(() => reader.getText('t').toString() === 'from alice' && m.getText('t').toString() === 'from alice', {
    timeoutMs: kConvergeMs, what: "alice's edit everywhere",
  });
  const before = reader.encodeState();

  m.getText('t').insert(0, 'evil ');  // gossiped, and offered again by anti-entropy
  const forged = signed[0].slice();
  forged[forged.length - 1] ^= 1;
  await nm.publish(docTopic('secure'), forged);  // raw bytes on the doc's topic
  await waitFor(() => rejected.some((e) => e.code === 'PERMISSION_DENIED') && rejected.some((e) => e.code === 'UNAUTHENTICATED'), {
    timeoutMs: kConvergeMs, what: 'both refusals reported',
  });
  assert.ok(rejected.every((e) => e.from === nm.id), 'refusals name the sender');
  assert.deepEqual(reader.encodeState(), before);
  assert.equal(reader.getText('t').toString(), 'from alice');
  assert.equal(a.getText('t').toString(), 'from alice');
  assert.ok(replicaOf(a).stats.rejected > 0 && replicaOf(reader).stats.rejected >= rejected.length);
  assert.equal(m.getText('t').toString(), 'evil from alice');
  await Promise.all([na, nr, nm].map((n) => n.close()));
});

test('doc-sync: a store-backed doc reloads its state; edits made while loading are stored too', async () => {
  const [n0, n1] = await cluster(2);
  const store = memoryStore();
  const d = n0.doc('stored', { store });
  d.getText('t').insert(0, 'before load ');  // emitted while the (empty) store loads
  await replicaOf(d).ready;
  d.getText('t').insert(d.getText('t').length, 'after load');
  await replicaOf(d).flush();
  await replicaOf(d).close();
  const copy = new Doc();
  for (const u of await store.load('stored')) copy.applyUpdate(u);
  assert.equal(copy.getText('t').toString(), 'before load after load');
  // Options are taken on first open; node.doc validates the name.
  assert.throws(() => n1.doc(''), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => n1.doc('x'.repeat(201)), { code: 'INVALID_ARGUMENT' });
  await Promise.all([n0.close(), n1.close()]);
});

test('doc-sync: a local edit reaches a peer only after the store holds it (write-ahead)', async () => {
  const [na, nb] = await cluster(2);
  const order = [];
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  const store = {  // a DocStore whose appends become durable only when the test opens the gate
    async load() { return []; },
    async append() { await gate; order.push('durable'); },
    async compact() { await gate; },
    async close() {},
  };
  const a = na.doc('wal', { store, antiEntropyMs: 300 });
  const b = nb.doc('wal', { antiEntropyMs: 300 });
  await replicaOf(a).ready;
  b.on('update', () => order.push('at peer'));
  a.getText('t').insert(0, 'x');
  // The gate opens on a later macrotask than anything the core could send right away.
  setTimeout(() => release(), 300);
  await waitFor(() => b.getText('t').toString() === 'x', { timeoutMs: kConvergeMs, what: 'the edit at the peer' });
  assert.deepEqual(order, ['durable', 'at peer']);
  await Promise.all([na.close(), nb.close()]);
});

// ---- several processes over WebSocket ----------------------------------------------------------

const script = fileURLToPath(new URL('./support/doc-node.mjs', import.meta.url));
const procs = spawnNodes(script, { replyTimeoutMs: 15000 });
const spawnDoc = (config) => procs.spawn(config.name, [JSON.stringify(config)]);

async function converged(list, what) {
  let states = [];
  await waitFor(async () => {
    states = await Promise.all(list.map((p) => p.request('state')));
    return states.every((s) => s.text === states[0].text && JSON.stringify(s.map) === JSON.stringify(states[0].map));
  }, { timeoutMs: kConvergeMs, intervalMs: 200, what });
  return states[0];
}

test('doc-sync: 3 processes over WebSocket edit one doc concurrently; a late joiner catches up', async () => {
  const a = spawnDoc({ name: 'ws-a', doc: 'shared' });
  const { address } = await a.ready();
  const b = spawnDoc({ name: 'ws-b', doc: 'shared', bootstrap: [address] });
  const c = spawnDoc({ name: 'ws-c', doc: 'shared', bootstrap: [address] });
  await Promise.all([b.ready(), c.ready()]);
  const runs = await Promise.all([a, b, c].map((p, i) => p.request('edits', { count: 40, seed: 100 + i, tag: 'abc'[i] })));
  const tokens = runs.flatMap((r) => r.tokens);
  const state = await converged([a, b, c], '3 processes converged');
  for (const t of tokens) assert.ok(state.text.includes(t), `${t} in the converged text`);
  assert.equal(state.text.length, tokens.join('').length);

  const late = spawnDoc({ name: 'ws-late', doc: 'shared', bootstrap: [address] });
  const hello = await late.ready();
  assert.equal(hello.text, '', 'the late joiner starts empty');
  const caughtUp = await converged([a, late], 'late joiner caught up');
  assert.equal(caughtUp.text, state.text);
  assert.deepEqual(caughtUp.map, state.map);
  await Promise.all([a, b, c, late].map((p) => p.close()));
});

test('doc-sync: SIGKILL mid-editing; restart from fileStore has them and re-syncs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nitro-docsync-'));
  try {
    const peer = spawnDoc({ name: 'fs-peer', doc: 'durable' });
    const { address } = await peer.ready();
    const victim = spawnDoc({ name: 'fs-victim', doc: 'durable', bootstrap: [address], dir });
    await victim.ready();
    const { tokens } = await victim.request('edits', { count: 30, seed: 7, tag: 'v' });
    await victim.request('stream');  // then keeps editing, acknowledging each edit once durable
    await victim.next((e) => e.ev === 'acked' && e.token === '[s20]', 15000, '21 streamed acknowledgements');
    victim.child.kill('SIGKILL');  // mid-editing
    assert.equal((await within(victim.exited, 10000, 'victim killed')).signal, 'SIGKILL');
    tokens.push(...victim.events.filter((e) => e.ev === 'acked').map((e) => e.token));

    const more = await peer.request('edits', { count: 10, seed: 8, tag: 'p' });  // made while it is down
    // First restart alone (no bootstrap: no peer can send anything), so the text can only come
    // from the store; then restart joined to the peer and re-sync.
    const alone = spawnDoc({ name: 'fs-victim', doc: 'durable', dir });
    const hello = await alone.ready();
    assert.equal(hello.applied, 0, 'nothing came from peers');
    for (const t of tokens) assert.ok(hello.text.includes(t), `acknowledged ${t} survived the kill`);
    await alone.close();
    const restarted = spawnDoc({ name: 'fs-victim', doc: 'durable', bootstrap: [address], dir });
    await restarted.ready();
    const state = await converged([peer, restarted], 'restarted process re-synced');
    for (const t of [...tokens, ...more.tokens]) assert.ok(state.text.includes(t), `${t} after re-sync`);
    await Promise.all([peer.close(), restarted.close()]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
