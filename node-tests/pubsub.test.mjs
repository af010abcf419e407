// Pub/sub the NATS way, through the public API over the memory transport: async-iterated
// subscriptions (ending on unsubscribe, break, abort and close), NATS wildcards (`*`, `>`, checked
// against the NATS documentation's examples) and queue groups (one member of a group gets each
// message; the split is checked against the members' own deliveries, counted independently).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNode, init, memory, MemoryNetwork, Identity } from '../js/dist/node.js';
import { waitFor, overlayConnected } from './support/wait.mjs';

await init();
const limit = { timeout: 60000 };

async function cluster(count, prefix) {
  const network = new MemoryNetwork();
  const nodes = [];
  for (let i = 0; i < count; i++) nodes.push(await createNode({ name: `${prefix}${i}`, transport: memory({ network }) }));
  await waitFor(() => nodes.every((n) => n.neighbors().length > 0) && overlayConnected(nodes), { what: 'a connected overlay' });
  return { nodes, close: () => Promise.all(nodes.map((n) => n.close())) };
}

test('pubsub: for await over node.subscribe(topic) yields value and meta; break unsubscribes', limit, async () => {
  const { nodes: [a, b], close } = await cluster(2, 'it');
  try {
    const sub = a.subscribe('orders.created');
    const got = [];
    const loop = (async () => {
      for await (const msg of sub) {
        got.push(msg);
        if (got.length === 3) break;
      }
    })();
    for (let i = 1; i <= 3; i++) await b.publish('orders.created', { id: i });
    await loop;
    assert.deepEqual(got.map((m) => m.value), [{ id: 1 }, { id: 2 }, { id: 3 }]);
    assert.deepEqual(got.map((m) => m.seq), [1, 2, 3]);
    assert.ok(got.every((m) => m.from === b.id && m.topic === 'orders.created' && m.pattern === 'orders.created'));
    // break unsubscribed: a callback subscriber on the same node still hears the next message alone
    const later = [];
    a.subscribe('orders.created', (v) => later.push(v));
    await b.publish('orders.created', { id: 4 });
    await waitFor(() => later.length === 1, { what: 'the callback delivery' });
    assert.equal(sub.pending, 0);
  } finally {
    await close();
  }
});

test('pubsub: an iterated subscription ends on abort, on unsubscribe() and on node close', limit, async () => {
  const { nodes: [a, b], close } = await cluster(2, 'end');
  try {
    const ac = new AbortController();
    const aborted = a.subscribe('t', { signal: ac.signal });
    const first = aborted[Symbol.asyncIterator]().next();
    await b.publish('t', 1);
    assert.deepEqual((await first).value.value, 1);
    ac.abort();
    assert.equal((await aborted[Symbol.asyncIterator]().next()).done, true);

    const manual = a.subscribe('t');
    const pending = manual[Symbol.asyncIterator]().next();
    manual.unsubscribe();
    assert.equal((await pending).done, true);

    const onClose = a.subscribe('t');
    const waiting = onClose[Symbol.asyncIterator]().next();
    await a.close();
    assert.equal((await waiting).done, true);
  } finally {
    await close();
  }
});

test('pubsub: a slow consumer past bufferMax gets RESOURCE_EXHAUSTED instead of unbounded memory', limit, async () => {
  const { nodes: [a, b], close } = await cluster(2, 'slow');
  try {
    const sub = a.subscribe('t', { bufferMax: 2 });
    let arrived = 0;
    a.subscribe('t', () => arrived++);  // called after the iterator's handler, for each message
    const seen = [];
    for (let i = 0; i < 3; i++) await b.publish('t', i);
    await waitFor(() => arrived === 3, { what: 'three messages at the subscriber' });
    assert.equal(sub.pending, 2);
    await assert.rejects((async () => { for await (const m of sub) seen.push(m.value); })(), { code: 'RESOURCE_EXHAUSTED' });
    assert.deepEqual(seen, [0, 1]);
  } finally {
    await close();
  }
});

test('pubsub: NATS wildcards — * matches one token, > one or more; publish refuses wildcards', limit, async () => {
  const { nodes: [a, b], close } = await cluster(2, 'wild');
  try {
    const star = [];
    const tail = [];
    const exact = [];
    a.subscribe('time.*.east', (_v, m) => star.push(m.topic));
    a.subscribe('time.us.>', (_v, m) => tail.push(m.topic));
    a.subscribe('time.us.east', (_v, m) => exact.push(m.topic));
    const topics = ['time.us.east', 'time.eu.east', 'time.us.east.atlanta', 'time.us', 'time.east'];
    const all = [];
    a.subscribe('>', (_v, m) => all.push(m.topic));  // every topic: tells when all five arrived
    for (const t of topics) await b.publish(t, t);
    await waitFor(() => all.length === topics.length, { what: 'the five messages at the subscriber' });
    assert.deepEqual([...all].sort(), [...topics].sort());
    // docs.nats.io/nats-concepts/subjects
    assert.deepEqual(star, ['time.us.east', 'time.eu.east']);
    assert.deepEqual(tail, ['time.us.east', 'time.us.east.atlanta']);
    assert.deepEqual(exact, ['time.us.east']);
    await assert.rejects(b.publish('time.*.east', 1), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => a.subscribe('time..east', () => {}), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => a.subscribe('time.>.east', () => {}), { code: 'INVALID_ARGUMENT' });
  } finally {
    await close();
  }
});

test('pubsub: a queue group gives each message to exactly one member; plain subscribers get all', limit, async () => {
  const { nodes, close } = await cluster(5, 'q');
  const [publisher, watcher, ...workers] = nodes;
  try {
    const taken = new Map(workers.map((w) => [w.id, []]));
    const ends = new Map(workers.map((w) => [w.id, 0]));
    for (const w of workers) {
      w.subscribe('jobs.*', (v, meta) => {
        assert.equal(meta.queue, 'workers');
        if (v !== 'end') taken.get(w.id).push(v);
      }, { queue: 'workers' });
      // A plain subscription to the same topic sees every message after the queue one decided on
      // it (one topic is one ordered stream per publisher): 'end' there means all are decided.
      w.subscribe('jobs.x', (v) => { if (v === 'end') ends.set(w.id, ends.get(w.id) + 1); });
    }
    const all = [];
    watcher.subscribe('jobs.>', (v) => all.push(v));
    const ids = workers.map((w) => w.id).sort();
    await waitFor(() => nodes.every((n) => JSON.stringify(n.queueMembers('jobs.*', 'workers').sort()) === JSON.stringify(ids)),
      { what: 'every node to know the three workers' });
    const count = 60;
    for (let i = 0; i < count; i++) await publisher.publish('jobs.x', i);
    await publisher.publish('jobs.x', 'end');
    // Per publisher delivery is in order: once a worker has 'end', it has decided on every job.
    await waitFor(() => [...ends.values()].every((n) => n === 1) && all.length === count + 1, { what: 'every worker to reach the end marker' });
    const union = [...taken.values()].flat().sort((x, y) => x - y);
    assert.deepEqual(union, Array.from({ length: count }, (_, i) => i), 'each job exactly once across the group');
    for (const [id, jobs] of taken) assert.ok(jobs.length > 0, `worker ${id} took some of the ${count} jobs`);
    assert.deepEqual(all, [...Array.from({ length: count }, (_, i) => i), 'end']);
  } finally {
    await close();
  }
});

test('pubsub: a member that leaves a queue group stops taking messages; the others take them all', limit, async () => {
  const { nodes, close } = await cluster(4, 'ql');
  const [publisher, ...workers] = nodes;
  try {
    const taken = new Map(workers.map((w) => [w.id, []]));
    const offs = workers.map((w) => w.subscribe('jobs', (v) => { if (v !== 'end') taken.get(w.id).push(v); }, { queue: 'w' }));
    const ends = [];
    for (const w of workers) w.subscribe('jobs', (v) => { if (v === 'end') ends.push(w.id); });
    await waitFor(() => nodes.every((n) => n.queueMembers('jobs', 'w').length === 3), { what: 'three members known' });
    offs[0]();  // leaves: its empty announcement removes it at once
    const rest = workers.slice(1).map((w) => w.id).sort();
    await waitFor(() => nodes.every((n) => JSON.stringify(n.queueMembers('jobs', 'w').sort()) === JSON.stringify(rest)),
      { what: 'the others to drop the leaver' });
    for (let i = 0; i < 30; i++) await publisher.publish('jobs', i);
    await publisher.publish('jobs', 'end');
    await waitFor(() => ends.length === 3, { what: 'the end marker everywhere' });
    assert.equal(taken.get(workers[0].id).length, 0);
    const union = [...taken.values()].flat().sort((x, y) => x - y);
    assert.deepEqual(union, Array.from({ length: 30 }, (_, i) => i));
  } finally {
    await close();
  }
});

test('pubsub: with access control, a peer denied the pattern is not counted in the group (its share is not lost)', limit, async () => {
  const ids = [Identity.generate(), Identity.generate(), Identity.generate()];
  const [pub, good, denied] = ids.map((id) => ({ seed: id.exportSeed(), id: id.peerId }));
  for (const id of ids) id.dispose();
  const auth = { rules: [`deny subscribe jobs.> peer:${denied.id}`], default: 'allow' };
  const network = new MemoryNetwork();
  const nodes = [];
  for (const [name, who] of [['acl-pub', pub], ['acl-good', good], ['acl-denied', denied]]) {
    nodes.push(await createNode({ name, identity: who.seed, transport: memory({ network }), auth }));
  }
  const [publisher, worker, intruder] = nodes;
  try {
    await waitFor(() => nodes.every((n) => n.neighbors().length > 0) && overlayConnected(nodes), { what: 'a connected overlay' });
    const taken = [];
    let ended = false;
    worker.subscribe('jobs.*', (v) => { if (v !== 'end') taken.push(v); }, { queue: 'workers' });
    worker.subscribe('jobs.x', (v) => { if (v === 'end') ended = true; });
    intruder.subscribe('jobs.*', () => {}, { queue: 'workers' });
    // The intruder counts itself (it announces), but nobody else counts it.
    await waitFor(() => intruder.queueMembers('jobs.*', 'workers').length === 2, { what: 'the intruder to hear the worker' });
    assert.deepEqual(worker.queueMembers('jobs.*', 'workers'), [worker.id]);
    assert.deepEqual(publisher.queueMembers('jobs.*', 'workers'), [worker.id]);
    for (let i = 0; i < 20; i++) await publisher.publish('jobs.x', i);
    await publisher.publish('jobs.x', 'end');
    await waitFor(() => ended, { what: 'the end marker at the worker' });
    assert.deepEqual(taken, Array.from({ length: 20 }, (_, i) => i));
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
  }
});
