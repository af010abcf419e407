// The pub/sub conformance suite: the same cases over any set of >= 3 node processes
// (support/pubsub-node.mjs), whether messages travel by the gossip mesh or by a broker.
// Cases marked `broker` use what only a broker offers (queue groups, wildcard subscriptions).
import assert from 'node:assert/strict';
import { waitFor } from './wait.mjs';

let subIds = 0;
/** Subscribes `proc` to `topic`; returns the subscription id (messages carry it). */
export async function subscribe(proc, topic, queue) {
  const sub = `s${++subIds}`;
  await proc.request('subscribe', { sub, topic, ...(queue === undefined ? {} : { queue }) });
  return sub;
}

export const got = (proc, sub) => proc.events.filter((e) => e.ev === 'message' && e.sub === sub);

function assertInOrder(proc, sub, publisherId, count) {
  const seqs = got(proc, sub).filter((m) => m.from === publisherId).map((m) => m.seq);
  assert.deepEqual(seqs, Array.from({ length: count }, (_, i) => i + 1), `${proc.name}: messages of ${publisherId.slice(0, 8)} in order`);
}

export const pubsubCases = [
  ['every subscriber gets every message, per publisher in order, values intact', {}, async (procs) => {
    const subs = [];
    for (const p of procs) subs.push(await subscribe(p, 'conf.chat'));
    const [a, b] = procs;
    for (let i = 0; i < 10; i++) {
      await a.request('publish', { topic: 'conf.chat', value: { from: 'a', i, bytes: [1, 2, 3] } });
      await b.request('publish', { topic: 'conf.chat', value: { from: 'b', i } });
    }
    await waitFor(() => procs.every((p, k) => got(p, subs[k]).length === 20), { timeoutMs: 15000, what: '20 messages everywhere' });
    procs.forEach((p, k) => {
      assertInOrder(p, subs[k], a.id, 10);
      assertInOrder(p, subs[k], b.id, 10);
      assert.deepEqual(got(p, subs[k]).filter((m) => m.from === a.id).map((m) => m.msg),
        Array.from({ length: 10 }, (_, i) => ({ from: 'a', i, bytes: [1, 2, 3] })));
      for (const m of got(p, subs[k])) assert.equal(m.hops === 0, m.from === p.id, 'hops 0 exactly for our own messages');
    });
  }],

  ['topics are separate; unsubscribe stops delivery, other subscribers keep receiving', {}, async (procs) => {
    const [a, b, c] = procs;
    const onX = [await subscribe(b, 'conf.x'), await subscribe(c, 'conf.x')];
    const onY = await subscribe(c, 'conf.y');
    await a.request('publish', { topic: 'conf.x', value: 1 });
    await waitFor(() => got(b, onX[0]).length === 1 && got(c, onX[1]).length === 1, { timeoutMs: 15000, what: 'first message on x' });
    await b.request('unsubscribe', { sub: onX[0] });
    await a.request('publish', { topic: 'conf.x', value: 2 });
    await a.request('publish', { topic: 'conf.y', value: 3 });
    await waitFor(() => got(c, onX[1]).length === 2 && got(c, onY).length === 1, { timeoutMs: 15000, what: 'x and y on c' });
    await a.request('publish', { topic: 'conf.y', value: 4 }); // a later message: x's second one had its chance
    await waitFor(() => got(c, onY).length === 2, { timeoutMs: 15000, what: 'the second y on c' });
    assert.deepEqual(got(b, onX[0]).map((m) => m.msg), [1], 'nothing after unsubscribe');
    assert.deepEqual(got(c, onY).map((m) => m.msg), [3, 4], 'y only has y');
  }],

  ['publish rejects a bad topic with INVALID_ARGUMENT', {}, async (procs) => {
    await assert.rejects(procs[0].request('publish', { topic: '', value: 1 }), /INVALID_ARGUMENT/);
  }],

  ['wildcards: * matches one token, > the rest', { broker: true }, async (procs) => {
    const [a, b] = procs;
    const one = await subscribe(b, 'conf.w.*');
    const rest = await subscribe(b, 'conf.w.>');
    for (const topic of ['conf.w.a', 'conf.w.a.b', 'conf.v.a']) await a.request('publish', { topic, value: topic });
    await a.request('publish', { topic: 'conf.w.z', value: 'end' });
    await waitFor(() => got(b, one).some((m) => m.msg === 'end') && got(b, rest).some((m) => m.msg === 'end'), { timeoutMs: 15000, what: 'the end marker' });
    assert.deepEqual(got(b, one).map((m) => m.topic), ['conf.w.a', 'conf.w.z']);
    assert.deepEqual(got(b, rest).map((m) => m.topic), ['conf.w.a', 'conf.w.a.b', 'conf.w.z']);
    await assert.rejects(a.request('publish', { topic: 'conf.w.*', value: 1 }), /INVALID_ARGUMENT/);
  }],

  ['queue groups: one member of a group gets each message; plain subscribers get all', { broker: true }, async (procs) => {
    const members = [];
    for (const p of procs) members.push([p, await subscribe(p, 'conf.jobs', 'workers')]);
    const watcher = await subscribe(procs[0], 'conf.jobs');
    const count = 60;
    for (let i = 0; i < count; i++) await procs[1].request('publish', { topic: 'conf.jobs', value: i });
    await waitFor(() => got(procs[0], watcher).length === count, { timeoutMs: 15000, what: 'the watcher has all' });
    await waitFor(() => members.reduce((n, [p, s]) => n + got(p, s).length, 0) === count, { timeoutMs: 15000, what: 'the group has all' });
    const seen = members.flatMap(([p, s]) => got(p, s).map((m) => m.msg)).sort((x, y) => x - y);
    assert.deepEqual(seen, Array.from({ length: count }, (_, i) => i), 'each job exactly once across the group');
    assert.ok(members.filter(([p, s]) => got(p, s).length > 0).length >= 2, 'the load is spread over members');
  }],
];
